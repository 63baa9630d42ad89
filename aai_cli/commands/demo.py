"""`aai demo`: talk to the demo server (`aai serve --demo`) running from this directory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from aai_cli.commands import JsonOpt

if TYPE_CHECKING:
    from aai_cli.demo.state import DemoState

app = typer.Typer(
    help="The demo server of this directory (start it with `aai serve --demo`).",
    no_args_is_help=True,
)


def _state() -> DemoState:
    from pathlib import Path

    from aai_cli.demo.state import require_running

    return require_running(Path.cwd())


@app.command("info")
def info(as_json: JsonOpt = False) -> None:
    """Where the demo's API and local Auth0 listen, its client id, audience and personas.

    Exit codes: 5 no demo server runs from this directory."""
    from aai_cli import console

    data = _state().info()
    if as_json:
        console.print_json(data)
        return
    for key in ("api_url", "auth0_url", "client_id", "audience"):
        typer.echo(f"{key:<10} {data[key]}")
    rows = [(p["name"], p["username"], p["description"]) for p in data["personas"]]
    console.print_table(["persona", "username", "who"], rows, title="personas")


@app.command("token")
def token(
    persona: Annotated[str, typer.Option("--as", help="The persona (`aai demo info` lists them).")],
) -> None:
    """Print a fresh bearer token of PERSONA on stdout (from the demo's local Auth0).

    Exit codes: 2 the persona cannot log in (blocked), 4 no such persona, 5 no demo server
    runs from this directory."""
    from aai_cli.demo.client import persona_token

    typer.echo(persona_token(_state(), persona))


@app.command("env")
def env(as_json: JsonOpt = False) -> None:
    """Print the variables that point other commands at the demo.

    `eval "$(aai demo env)"`, then `aai sync --now` or `aai users list` work on the demo.

    Exit codes: 5 no demo server runs from this directory."""
    import shlex

    from aai_cli import console

    variables = _state().env()
    if as_json:
        console.print_json(variables)
        return
    for name, value in variables.items():
        typer.echo(f"export {name}={shlex.quote(value)}")
