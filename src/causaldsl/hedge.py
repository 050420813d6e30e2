"""The public path of causaldsl.analysis.hedge (documented); the module lives in its layer."""

from causaldsl.analysis.hedge import *  # noqa: F403
