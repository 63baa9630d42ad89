"""Batched writes for the sync, straight to the driver's executemany.

SQLAlchemy's per-row parameter processing costs more than the database itself at
100,000 rows, so the sync's bulk statements are plain SQL (`INSERT ... ON CONFLICT (..)
DO UPDATE SET c = excluded.c`, which both databases accept), with values converted once,
here, exactly as the `UTCDateTime` column type stores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

from aai_cli.models import UTCDateTime


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def db_timestamp(value: datetime | None, *, sqlite: bool) -> Any:
    """A timestamp as `UTCDateTime` binds it: naive UTC text on SQLite, aware on Postgres."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if sqlite:
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def bulk_write(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str] = (),
    update: Iterable[str] = (),
) -> None:
    """INSERT `rows` (dicts with the same keys): one executemany on SQLite, one
    `INSERT ... SELECT * FROM unnest(column arrays)` on Postgres; with `conflict`, an
    upsert that sets the `update` columns from the new row."""
    if not rows:
        return
    sqlite = is_sqlite(session)
    columns = list(rows[0])
    if sqlite:
        marker = ", ".join(["?"] * len(columns))
        source = f"VALUES ({marker})"
    else:  # one statement per batch: a column array each, unnested server-side
        source = (
            "SELECT * FROM unnest("
            + ", ".join(f"%s::{_pg_type(table, c)}[]" for c in columns)
            + ")"
        )
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) {source}"
    if conflict:
        updates = ", ".join(f"{c} = excluded.{c}" for c in update)
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"
    params = _params(table, columns, rows, sqlite=sqlite)
    if sqlite:
        session.connection().exec_driver_sql(sql, params)
    else:
        session.connection().exec_driver_sql(sql, tuple(map(list, zip(*params, strict=True))))


def _params(table: Table, columns: list[str], rows: Sequence[dict], *, sqlite: bool) -> list:
    stamps = [i for i, c in enumerate(columns) if _is_timestamp(table, c)]
    memo: dict[datetime, Any] = {}  # `now` repeats across a batch: convert it once
    params = []
    for row in rows:
        values = [row[c] for c in columns]
        for i in stamps:
            value = values[i]
            if value is not None:
                converted = memo.get(value)
                if converted is None:
                    converted = memo[value] = db_timestamp(value, sqlite=sqlite)
                values[i] = converted
        params.append(tuple(values))
    return params


def _pg_type(table: Table, column: str) -> str:
    from sqlalchemy.dialects import postgresql

    return table.c[column].type.compile(dialect=postgresql.dialect())


def _is_timestamp(table: Table, column: str) -> bool:

    return isinstance(table.c[column].type, UTCDateTime)


def select_in(session: Session, select_sql: str, column: str, values: Sequence[Any]) -> list:
    """Rows of `select_sql WHERE column IN (values)` (or `... AND column IN`, when
    `select_sql` ends with WHERE/AND), through the driver (no ORM cost)."""
    if not values:
        return []
    marker = "?" if is_sqlite(session) else "%s"
    glue = " " if select_sql.rstrip().upper().endswith(("WHERE", "AND")) else " WHERE "
    sql = f"{select_sql.rstrip()}{glue}{column} IN ({', '.join([marker] * len(values))})"
    return list(session.connection().exec_driver_sql(sql, tuple(values)))
