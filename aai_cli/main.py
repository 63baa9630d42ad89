"""The root `aai` command: global options, sub-commands and the one error boundary.

Only typer is imported at module level; every command imports its heavy libraries
inside its body so that `aai --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer
from typer.core import TyperGroup

import aai_cli
from aai_cli.commands import db, demo, diagram, schedule, serve, sync, users
from aai_cli.errors import AaiError


def _debug_enabled() -> bool:
    return os.environ.get("AAI_DEBUG", "").lower() in {"1", "true", "yes", "on"}


def _database_error(exc: BaseException) -> AaiError | None:
    """Map a driver-level connection failure that escaped a service to its exit code, in
    the words (password masked) of `aai db ping`."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc and isinstance(
        exc, sqlalchemy_exc.OperationalError | sqlalchemy_exc.InterfaceError
    ):
        from aai_cli.services.schema.connectivity import database_error
        from aai_cli.settings import get_settings

        return database_error(exc, get_settings().database_url)
    return None


class AaiGroup(TyperGroup):
    """Turns AaiError (and anything unexpected) into one line on stderr and an exit code."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]  # click.Context: we never import click
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            _report("interrupted")
            raise typer.Exit(130) from None
        except AaiError as exc:
            _report(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            mapped = _database_error(exc)
            if mapped:
                _report(str(mapped))
                raise typer.Exit(mapped.exit_code) from None
            _report(f"unexpected error: {type(exc).__name__}: {exc}", unexpected=True)
            raise typer.Exit(1) from None


def _report(message: str, *, unexpected: bool = False) -> None:
    if _debug_enabled():
        traceback.print_exc(file=sys.stderr)
    from aai_cli import console

    console.error(message)
    if unexpected and not _debug_enabled():
        console.info("run again with --debug (or AAI_DEBUG=1) for the traceback")


app = typer.Typer(
    cls=AaiGroup,
    name="aai",
    help="AAI backend: database, Auth0 sync, user access, the portal API and its jobs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(db.app, name="db")
app.add_typer(sync.app, name="sync")
app.add_typer(users.app, name="users")
app.command("diagram")(diagram.diagram)
app.command("serve")(serve.serve)
app.add_typer(schedule.app, name="schedule")
app.add_typer(demo.app, name="demo")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aai {aai_cli.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="AAI_DEBUG", help="Show tracebacks and debug logs."),
    ] = False,
) -> None:
    """AAI backend operations toolkit."""
    if debug:
        os.environ["AAI_DEBUG"] = "1"
    from aai_cli.logs import configure_logging

    configure_logging(debug=_debug_enabled())


def run() -> None:
    app(prog_name="aai")
