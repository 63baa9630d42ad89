"""One Typer sub-app per module. Only typer is imported at module level."""

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
ActorOpt = Annotated[
    str | None, typer.Option(help="Who decides (recorded in the history); default cli:<os user>.")
]


def default_actor() -> str:
    """cli:<os user>, what the history records for a command run without --actor."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container
        return "cli:unknown"


def interactive() -> bool:
    """Both stdin and stderr are terminals: a confirmation may be asked."""
    import sys

    from aai_cli.console import is_tty

    return is_tty(sys.stdin) and is_tty(sys.stderr)
