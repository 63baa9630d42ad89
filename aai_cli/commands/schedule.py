"""`aai schedule` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="schedule", no_args_is_help=False)
