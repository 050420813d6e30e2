"""The public path of causaldsl.analysis.comb (documented); the module lives in its layer."""

from causaldsl.analysis.comb import *  # noqa: F403
