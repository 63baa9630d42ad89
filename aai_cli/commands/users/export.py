"""`aai users export`: every matching user streamed to CSV or JSON lines in constant memory,
and the filter-to-query translation `list` shares."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sqlmodel import Session

    from aai_cli.services.directory.query import UserQuery, UserRecord

PROGRESS_EVERY = 10_000


def build_query(
    session: Session,
    *,
    platform: str | None,
    group: str | None,
    status: str | None,
    search: str | None,
    email_verified: bool | None,
    blocked: bool,
    deleted: bool,
) -> UserQuery:
    """A UserQuery with --platform/--group resolved against the catalog (exit 4 if unknown).

    With --platform or --group, --status applies to that membership; without, to any.
    """
    from aai_cli.services import directory

    platform_id = directory.resolve_platform(session, platform) if platform else None
    group_id = directory.resolve_group(session, group) if group else None
    targeted = platform_id is not None or group_id is not None
    return directory.UserQuery(
        platform=platform_id,
        platform_status=status if platform_id else None,
        group=group_id,
        group_status=status if group_id else None,
        status=None if targeted else status,
        search=search,
        email_verified=email_verified,
        blocked=True if blocked else None,
        deleted=deleted,
    )


def export_users(*, output: Path | None, fmt: str, filters: dict[str, Any]) -> int:
    """Write the users to `output` (None: stdout); returns how many were written."""
    from aai_cli import console
    from aai_cli.db import session_scope
    from aai_cli.errors import InvalidInput
    from aai_cli.services import directory

    with session_scope(readonly=True) as session:
        query = build_query(session, **filters)
        show_bar = output is not None and console.is_tty()
        total = directory.count_users(session, query) if show_bar else None
        records = directory.iter_users(session, query)
        try:
            stream = (
                sys.stdout if output is None else output.open("w", encoding="utf-8", newline="")
            )
        except OSError as exc:
            raise InvalidInput(f"cannot write {output}: {exc.strerror}") from None
        try:
            written = _write(
                stream, records, fmt, total=total, show_bar=show_bar, quiet=output is None
            )
        finally:
            if output is not None:
                stream.close()
    console.info(f"exported {written} users to {output or 'stdout'}")
    return written


def _write(
    stream: TextIO,
    records: Iterable[UserRecord],
    fmt: str,
    *,
    total: int | None,
    show_bar: bool,
    quiet: bool,
) -> int:
    import csv

    from aai_cli import console
    from aai_cli.commands.users import output as out
    from aai_cli.serialize import csv_cells, json_line

    writer = None
    if fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=list(out.CSV_COLUMNS))
        writer.writeheader()
    progress = _Progress(total) if show_bar else None
    written = 0
    for record in records:
        if writer is not None:
            writer.writerow(csv_cells(out.csv_row(record), out.CSV_COLUMNS))
        else:
            stream.write(json_line(record) + "\n")
        written += 1
        if progress is not None:
            progress.advance()
        elif not quiet and written % PROGRESS_EVERY == 0:
            console.info(f"exported {written} users...")
    if progress is not None:
        progress.stop()
    return written


class _Progress:
    """A Rich progress bar on stderr (TTY only)."""

    def __init__(self, total: int | None) -> None:
        from rich.progress import Progress

        from aai_cli.console import stderr_console

        self._progress = Progress(console=stderr_console(), transient=True)
        self._task = self._progress.add_task("exporting users", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
