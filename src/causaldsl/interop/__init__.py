"""Conversions to and from peer libraries (imported lazily; the peers are optional)."""
