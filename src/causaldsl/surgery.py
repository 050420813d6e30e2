"""The public path of causaldsl.model.surgery (documented); the module lives in its layer."""

from causaldsl.model.surgery import *  # noqa: F403
