"""Columns the database derives for the admin directory, kept by triggers.

The directory filters users by their memberships ("approved on sbp", "any membership in
my platforms") combined with user columns, and counts the matches. Probing the
membership tables for each candidate costs a B-tree search per user (20-620 ms for
100,000 users, docs/benchmarks.md), so the memberships are also summarised on the
user's own row, and every filter is a test on the users table alone:

- `users.platform_mask` / `users.group_mask`: bit `4 * slot + status` is set when the
  user has a membership with that status in the platform (group) holding `slot`.
  `platforms.facet_slot` and `groups.facet_slot` are given out on insert, the lowest
  free one of `SLOTS`; a target inserted when all are taken has none, and filters on it
  fall back to probing its membership table (correct, only slower). A slot is never
  changed once given: the masks hold it.
- `users.search_text`: lowered email and username, what `search` matches, lowered by
  the database's own lower() like the search term.

The package:

- `spec.py`: the description (the two facets, the slots, the searched columns, the
  trigram index); the only place that names them.
- `sql.py`: the SQL both dialects share (a user's masks, the free slot, the refresh).
- `sqlite.py`, `postgres.py`: one generator each, the triggers (and Postgres functions)
  in creation order; the functions below build create, drop and names from them.
- `masks.py`: what the directory's queries use (bits, tests, decoding, slots).

Changing them changes the schema, and Alembic's autogenerate does not see triggers:

1. Change the description or a generator; `statements`, `drop_statements`,
   `refresh_statements` and `trigger_names` follow.
2. Write a revision that runs the old `drop_statements`, then the new `statements` and
   `refresh_statements`, copied into it as literal strings (a revision never imports
   the application; `d8779ba899b1` is the example, frozen forever).
3. Point `tests/migrations/test_migrations.py::test_the_frozen_directory_ddl_matches_the_models`
   at the new revision's copy.
4. A SQLite rebuild of a table (batch mode) drops its triggers: drop them first, create
   them again after. `aai db check` names any that is missing (exit 3).
"""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.schema import MetaData

from aai_cli.models.derived import postgres, sql, sqlite
from aai_cli.models.derived.spec import (
    FACETS,
    SEARCH_INDEX,
    SLOTS,
    STATUS_BIT,
    UNMODELLED_INDEXES,
    Function,
    Trigger,
)

__all__ = [
    "FACETS",
    "SEARCH_INDEX",
    "SLOTS",
    "STATUS_BIT",
    "UNMODELLED_INDEXES",
    "drop_statements",
    "missing_triggers",
    "refresh_statements",
    "register",
    "statements",
    "trigger_names",
]


def _generator(dialect: str) -> ModuleType:
    """The dialect's generator module (`objects`, `drop_trigger`, `INDEXES`)."""
    return postgres if dialect == "postgresql" else sqlite


def _triggers(dialect: str) -> list[Trigger]:
    """The triggers in drop order: those on `users` first, then in creation order."""
    made = [t for t in _generator(dialect).objects() if isinstance(t, Trigger)]
    return sorted(made, key=lambda t: t.table != "users")


def statements(dialect: str) -> list[str]:
    """Create the triggers (and on Postgres their functions and the search index)."""
    generator = _generator(dialect)
    return [made.create for made in generator.objects()] + list(generator.INDEXES)


def drop_statements(dialect: str) -> list[str]:
    generator = _generator(dialect)
    drops = [generator.drop_trigger(t) for t in _triggers(dialect)]
    functions = [f for f in generator.objects() if isinstance(f, Function)]
    drops += [f"DROP FUNCTION IF EXISTS {f.name}()" for f in functions]
    if generator.INDEXES:
        drops.append(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    return drops


def refresh_statements(dialect: str) -> list[str]:
    """Give existing catalog rows slots (in id order) and recompute every user."""
    return sql.refresh(postgres=dialect == "postgresql")


def trigger_names(dialect: str) -> set[str]:
    """The triggers `statements` creates (what `aai db check` expects to find)."""
    return {t.name for t in _triggers(dialect)}


def missing_triggers(connection: Connection) -> list[str]:
    """The triggers that are gone from the connected database (a SQLite table rebuild
    drops those on the rebuilt table: a revision that rebuilds one must create them)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        query = (
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = to_regnamespace(current_schema())"
        )
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    present = set(connection.exec_driver_sql(query).scalars())
    return sorted(trigger_names(dialect) - present)


def register(metadata: MetaData) -> None:
    """`metadata.create_all` installs the triggers too."""

    def after_create(target: MetaData, connection: Connection, **kw: object) -> None:
        dialect = connection.dialect.name
        for statement in [*drop_statements(dialect), *statements(dialect)]:
            connection.exec_driver_sql(statement)

    event.listen(metadata, "after_create", after_create)
