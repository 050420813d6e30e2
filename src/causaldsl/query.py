"""The public path of causaldsl.syntax.query (documented); the module lives in its layer."""

from causaldsl.syntax.query import *  # noqa: F403
