"""Alembic environment: run by `aai db ...` (aai_cli/services/schema/migrations.py).

The caller passes an open connection (inside its transaction) in
`config.attributes["connection"]`, or a URL in `config.attributes["url"]` for `--sql`.
Options shared with `aai db check` (batch mode on SQLite, type rendering) come from
`migrations/options.py`.
"""

from __future__ import annotations

from alembic import context

from aai_cli.models import metadata
from migrations.options import context_options

config = context.config


def run_migrations_offline() -> None:
    url = config.attributes["url"]
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **context_options(dialect),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from aai_cli import db

        with db.get_engine(config.attributes.get("url"), migrations=True).begin() as conn:
            _run_online(conn)
        return
    _run_online(connection)


def _run_online(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        **context_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
