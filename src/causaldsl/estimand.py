"""The public path of causaldsl.analysis.estimand (documented); the module lives in its layer."""

from causaldsl.analysis.estimand import *  # noqa: F403
