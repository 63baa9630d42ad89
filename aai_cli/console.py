"""Output helpers: data to stdout, messages and progress to stderr.

Rich is imported lazily so that `aai --help` stays fast.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from aai_cli.serialize import csv_cells, to_json

if TYPE_CHECKING:
    from rich.console import Console


def print_json(data: Any) -> None:
    """Write one JSON document to stdout (`aai_cli.serialize.to_data` of `data`)."""
    sys.stdout.write(to_json(data) + "\n")


def print_csv(rows: Iterable[Any], columns: Sequence[str]) -> None:
    """Rows (mappings or results) as CSV with a header of `columns`."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_cells(row, columns))


def stdout_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def info(message: str) -> None:
    """A message for the operator (stderr, so stdout stays data)."""
    stderr_console().print(message, markup=False, highlight=False)


def success(message: str) -> None:
    stderr_console().print(f"[green]{_escape(message)}[/green]", highlight=False)


def warn(message: str) -> None:
    stderr_console().print(f"[yellow]warning:[/yellow] {_escape(message)}", highlight=False)


def error(message: str) -> None:
    stderr_console().print(f"[red]error:[/red] {_escape(message)}", highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout_console().print(table)


def is_tty(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def reject_json_and_csv(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        from aai_cli.errors import UsageError

        raise UsageError("--json and --csv cannot be used together")
