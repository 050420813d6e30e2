"""The public path of causaldsl.model.estimate (documented); the module lives in its layer."""

from causaldsl.model.estimate import *  # noqa: F403
