"""Output helpers: data to stdout, messages and progress to stderr.

Rich is imported lazily so that `aai --help` stays fast.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def to_json(data: Any) -> str:
    return json.dumps(data, default=_json_default, indent=2, sort_keys=False)


def print_json(data: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(to_json(data) + "\n")


def print_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None:
        return ""
    return value


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
