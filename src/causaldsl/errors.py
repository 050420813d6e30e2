"""The public path of causaldsl.core.errors (documented); the module lives in its layer."""

from causaldsl.core.errors import *  # noqa: F403
