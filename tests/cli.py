"""The one way tests run the CLI: in process through Typer's runner, stdout and stderr
kept apart, on a terminal wide enough that tables never wrap."""

from __future__ import annotations

import typer
from typer.testing import CliRunner, Result

from aai_cli.main import app as aai_app

WIDE_TERMINAL = {"COLUMNS": "200"}


def invoke(app: typer.Typer, *args: str, input: str | None = None) -> Result:
    """Run `app` with `args` as `aai` would be run from a shell."""
    return CliRunner().invoke(app, list(args), input=input, env=WIDE_TERMINAL, prog_name="aai")


def aai(*args: str, input: str | None = None) -> Result:
    """Run `aai <args>`."""
    return invoke(aai_app, *args, input=input)
