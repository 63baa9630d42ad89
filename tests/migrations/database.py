"""Raw reads and writes for the migration tests, which run against a database at an
older revision, where the current models do not describe the tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from aai_cli import db
from aai_cli.services.schema import migrations


def execute(url: str, *statements: Any) -> None:
    with db.get_engine(url).begin() as connection:
        for statement in statements:
            connection.execute(statement)


def upgrade_with_old_rows(
    url: str, old_rows: Sequence[Any], *, written_at: str, to: str = "head"
) -> None:
    """Bring an empty database to revision `written_at`, write `old_rows` as that schema
    allows, then upgrade to `to`: the start of every test of one revision's upgrade."""
    migrations.upgrade(url, written_at)
    execute(url, *old_rows)
    migrations.upgrade(url, to)


def scalars(url: str, sql: str) -> list:
    with db.get_engine(url).connect() as connection:
        return list(connection.exec_driver_sql(sql).scalars())


def tables(url: str) -> set[str]:
    with db.get_engine(url).connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def columns(url: str, table: str) -> set[str]:
    with db.get_engine(url).connect() as connection:
        return {c["name"] for c in sa.inspect(connection).get_columns(table)}
