"""`aai serve` (being built)."""

from __future__ import annotations


def serve() -> None:
    """Serve the portal API."""
    raise NotImplementedError
