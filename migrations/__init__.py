"""Alembic migrations: one tree for SQLite and PostgreSQL, shipped inside the wheel.

`aai_cli.services.schema.migrations` finds this directory from `Path(migrations.__file__).parent`,
so no `alembic.ini` is needed in the working directory.
"""
