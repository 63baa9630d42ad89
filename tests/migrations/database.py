"""Raw reads and writes for the migration tests, which run against a database at an
older revision, where the current models do not describe the tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from aai_cli import db


def execute(url: str, *statements: Any) -> None:
    with db.get_engine(url).begin() as connection:
        for statement in statements:
            connection.execute(statement)


def scalars(url: str, sql: str) -> list:
    with db.get_engine(url).connect() as connection:
        return list(connection.exec_driver_sql(sql).scalars())


def tables(url: str) -> set[str]:
    with db.get_engine(url).connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def columns(url: str, table: str) -> set[str]:
    with db.get_engine(url).connect() as connection:
        return {c["name"] for c in sa.inspect(connection).get_columns(table)}
