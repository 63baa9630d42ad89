"""`aai db`: migrations, connectivity and the catalog seed."""

from __future__ import annotations

import typer

app = typer.Typer(help="Database: migrate, check, ping, wait, seed.", no_args_is_help=True)
