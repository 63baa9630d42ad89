"""Schema migrations (Alembic) located from the code, and the schema check.

The migrations tree ships inside the package (`migrations/`), so every function here works
from any working directory, in an editable install and in an installed wheel. Upgrades
and downgrades run in one transaction on the migration engine (`PRAGMA foreign_keys=OFF`
on SQLite) under the "migrations" advisory lock: a failure leaves the database as it was,
and two processes upgrading at once apply the revisions once.
"""

from __future__ import annotations

import io
import tempfile
from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, inspect
from sqlalchemy.exc import DBAPIError

import migrations
from aai_cli import db
from aai_cli.errors import CheckFailed, Conflict, NotFound, UsageError
from aai_cli.models import derived
from aai_cli.models import metadata as models_metadata
from aai_cli.services.schema.connectivity import classify_error, error_detail, translate_db_errors
from migrations.options import context_options

MIGRATIONS_LOCK = "migrations"
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


def migrations_dir() -> Path:
    """The Alembic script directory shipped with the package."""
    return Path(migrations.__file__).parent


# --- configuration -------------------------------------------------------------------------


def alembic_config(
    url: str | None = None, *, directory: Path | None = None, connection: Any = None
) -> Config:
    """An Alembic Config built in code (no alembic.ini); the URL never enters it as text."""
    config = Config(stdout=io.StringIO(), cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(directory or migrations_dir()))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory(directory: Path | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(directory=directory))


def heads(directory: Path | None = None) -> list[str]:
    return sorted(script_directory(directory).get_heads())


@dataclass(frozen=True)
class RevisionInfo:
    revision: str
    down_revision: str | None
    message: str
    is_head: bool
    file: str = field(init=False)  # the file's name (what `aai db history --json` shows)
    path: InitVar[str]  # the file's full path: kept as an attribute, not a field

    def __post_init__(self, path: str) -> None:
        object.__setattr__(self, "file", Path(path).name)
        object.__setattr__(self, "path", path)


def history(directory: Path | None = None) -> list[RevisionInfo]:
    """Every revision, newest first."""
    scripts = script_directory(directory)
    head_set = set(scripts.get_heads())
    return [
        RevisionInfo(
            revision=s.revision,
            down_revision=_one_or_joined(s.down_revision),
            message=(s.doc or "").strip(),
            is_head=s.revision in head_set,
            path=s.path,
        )
        for s in scripts.walk_revisions()
    ]


def _one_or_joined(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return ",".join(value)


@contextmanager
def alembic_errors() -> Iterator[None]:
    """Alembic's CommandError as our errors: unknown revision -> 4, other misuse -> 2."""
    try:
        yield
    except CommandError as exc:
        message = str(exc).strip().splitlines()[0]
        if "Can't locate revision" in message or "No such revision" in message:
            raise NotFound(f"{message} (see `aai db history`)") from None
        raise UsageError(message) from None


# --- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaStatus:
    current: list[str]
    heads: list[str]
    at_head: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at_head", sorted(self.current) == sorted(self.heads))

    def describe_current(self) -> str:
        return ", ".join(self.current) or "base (no migrations applied)"


def _current_revisions(connection: Any) -> list[str]:
    return sorted(MigrationContext.configure(connection).get_current_heads())


def current(url: str, *, directory: Path | None = None) -> SchemaStatus:
    with translate_db_errors(url), db.get_engine(url).connect() as connection:
        revisions = _current_revisions(connection)
    return SchemaStatus(current=revisions, heads=heads(directory))


def require_tables(url: str, *names: str) -> None:
    """CheckFailed (exit 3) unless the tables exist: the schema was never migrated."""
    with translate_db_errors(url), db.get_engine(url).connect() as connection:
        missing = [name for name in names if not inspect(connection).has_table(name)]
    if missing:
        raise CheckFailed(
            f"the database has no {', '.join(missing)} table", hint="run `aai db upgrade` first"
        )


# --- upgrade / downgrade -------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationResult:
    before: list[str]
    after: list[str]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _migrate(url: str, action: str, revision: str, directory: Path | None) -> MigrationResult:
    with (
        translate_db_errors(url),
        db.advisory_lock(MIGRATIONS_LOCK, wait=True, url=url),
        db.get_engine(url, migrations=True).begin() as connection,
    ):
        before = _current_revisions(connection)
        config = alembic_config(url, directory=directory, connection=connection)
        with alembic_errors(), _migration_errors(url, f"{action} to {revision}"):
            getattr(command, action)(config, revision)
        after = _current_revisions(connection)
    return MigrationResult(before=before, after=after)


@contextmanager
def _migration_errors(url: str, what: str) -> Iterator[None]:
    """A statement the database refused mid-migration: the transaction rolls back."""
    try:
        yield
    except DBAPIError as exc:
        known = classify_error(exc, url)
        if known is not None:
            raise known from None
        raise Conflict(
            f"{what} failed and was rolled back: {error_detail(exc, url)}",
            hint="the database was left as it was; see `aai db current`",
        ) from None


def upgrade(url: str, revision: str = "head", *, directory: Path | None = None) -> MigrationResult:
    """Bring the database to `revision`; a concurrent upgrade waits, then finds nothing to do."""
    return _migrate(url, "upgrade", revision, directory)


def downgrade(url: str, revision: str, *, directory: Path | None = None) -> MigrationResult:
    return _migrate(url, "downgrade", revision, directory)


def upgrade_sql(url: str, revision: str = "head", *, directory: Path | None = None) -> str:
    """The SQL an upgrade would run (offline mode: the database is not touched)."""
    config = alembic_config(url, directory=directory)
    buffer = io.StringIO()
    config.output_buffer = buffer
    with alembic_errors():
        command.upgrade(config, revision, sql=True)
    return buffer.getvalue()


# --- drift ---------------------------------------------------------------------------------


def find_drift(connection: Any, metadata: MetaData | None = None) -> list[str]:
    """Differences between the models and the database schema, one line each."""

    context = MigrationContext.configure(connection, opts=context_options(connection.dialect.name))
    diffs = compare_metadata(context, metadata if metadata is not None else models_metadata)
    drift = [describe_diff(diff) for diff in _flatten(diffs)]
    if metadata is None:
        drift += [f"missing trigger {name}" for name in derived.missing_triggers(connection)]
    return sorted(drift)


def _flatten(diffs: list[Any]) -> Iterator[Any]:
    for diff in diffs:
        if isinstance(diff, list):  # modify_* operations come grouped per column
            yield from diff
        else:
            yield diff


def describe_diff(diff: tuple[Any, ...]) -> str:
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        return f"{kind.replace('_', ' ')} {diff[1].name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind.replace('_', ' ')} {diff[2]}.{diff[3].name}"
    if kind in ("add_index", "remove_index"):
        index = diff[1]
        return f"{kind.replace('_', ' ')} {index.name} on {index.table.name}"
    if kind in ("add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        constraint = diff[1]
        return f"{kind.replace('_', ' ')} {constraint.name} on {constraint.table.name}"
    if kind.startswith("modify_"):
        _, _, table, column, _, old, new = diff
        return f"{kind.replace('_', ' ')} {table}.{column}: {old!r} -> {new!r}"
    return " ".join(str(part) for part in diff)


def check(url: str, *, metadata: MetaData | None = None, directory: Path | None = None) -> None:
    """Raise CheckFailed unless the database is at head and matches the models."""
    status = current(url, directory=directory)
    if not status.at_head:
        raise CheckFailed(
            f"the database is at {status.describe_current()}, head is {', '.join(status.heads)}",
            hint="run `aai db upgrade`",
        )
    with translate_db_errors(url), db.get_engine(url).connect() as connection:
        drift = find_drift(connection, metadata)
    if drift:
        raise CheckFailed(
            "the models differ from the migrations: " + "; ".join(drift),
            hint='run `aai db revision --autogenerate -m "..."`',
        )


# --- new revisions -------------------------------------------------------------------------


def create_revision(
    message: str,
    *,
    autogenerate: bool = False,
    url: str | None = None,
    directory: Path | None = None,
) -> Path | None:
    """Write a new revision file and return its path.

    With `autogenerate`, the models are compared with a throwaway database brought to
    head (a temporary SQLite file unless `url` names another, e.g. a scratch Postgres);
    None is returned and nothing written when there is nothing to change.
    """
    if not autogenerate:
        with alembic_errors():
            script = command.revision(alembic_config(directory=directory), message)
        return Path(script.path)  # type: ignore[union-attr]  # one head: alembic returns one Script
    if url is not None:
        return _autogenerate(message, url, directory)
    with tempfile.TemporaryDirectory(prefix="aai-revision-") as tmp:
        scratch = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        try:
            return _autogenerate(message, scratch, directory)
        finally:
            db.dispose_engines()


def _autogenerate(message: str, url: str, directory: Path | None) -> Path | None:
    upgrade(url, directory=directory)
    with translate_db_errors(url), db.get_engine(url, migrations=True).connect() as connection:
        if not find_drift(connection):
            return None
        config = alembic_config(url, directory=directory, connection=connection)
        with alembic_errors():
            script = command.revision(config, message, autogenerate=True)
    return Path(script.path)  # type: ignore[union-attr]  # one head: alembic returns one Script
