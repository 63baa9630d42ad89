"""`aai diagram`: the ER diagram of the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CheckOpt = Annotated[
    bool,
    typer.Option("--check", help="Exit 3 naming what is stale if the committed diagram differs."),
]
OutputDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--output-dir", help="Where to write (default: diagrams/ of the source checkout)."
    ),
]


def diagram(check: CheckOpt = False, output_dir: OutputDirOpt = None) -> None:
    """Regenerate diagrams/db_diagram.svg and its sorted text source db_diagram.dot."""
    from aai_cli import console
    from aai_cli.services.schema import diagram as service

    directory = output_dir or service.default_output_dir()
    if check:
        service.check_diagram(directory)
        console.success(f"{directory / service.DOT_NAME} is up to date")
        return
    files = service.write_diagram(directory)
    console.success(f"wrote {files.dot} and {files.svg}")
