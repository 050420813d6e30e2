"""The public path of causaldsl.model.graph (documented); the module lives in its layer."""

from causaldsl.model.graph import *  # noqa: F403
