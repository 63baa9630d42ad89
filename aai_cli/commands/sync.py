"""`aai sync` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="sync", no_args_is_help=False)
