"""`aai diagram`: the ER diagram of the models."""

from __future__ import annotations

import typer


def diagram(
    check: bool = typer.Option(False, "--check", help="Exit 3 if the committed diagram is stale."),
) -> None:
    """Regenerate diagrams/db_diagram.svg and its sorted text source."""
    raise NotImplementedError
