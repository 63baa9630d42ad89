"""One Typer sub-app per module. Only typer is imported at module level."""

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
