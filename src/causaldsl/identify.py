"""The public path of causaldsl.analysis.identify (documented); the module lives in its layer."""

from causaldsl.analysis.identify import *  # noqa: F403
