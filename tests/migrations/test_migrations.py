"""The migration tree: one head, a round trip with rows, drift detection, the revision text."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from aai_cli import db
from aai_cli.errors import Busy, CheckFailed, Conflict, DatabaseUnavailable, NotFound
from aai_cli.models import MembershipEvent, Target, User, metadata
from aai_cli.services.access.catalog import seed_catalog
from aai_cli.services.access.memberships import transition
from aai_cli.services.schema import migrations
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_admin_url
from tests.migrations.database import tables, upgrade_with_old_rows

MODEL_TABLES = set(metadata.tables)


def count_rows(url: str, table: str) -> int:
    with db.get_engine(url).connect() as connection:
        query = sa.select(sa.func.count()).select_from(metadata.tables[table])
        return connection.execute(query).scalar_one()


def add_rows(url: str) -> None:
    """A user with a platform membership and its event, plus the seeded catalog."""
    with db.session_scope(url) as session:
        seed_catalog(session)
        session.add(User(id="auth0|rows", email="rows@example.org", username="rows"))
        session.flush()
        transition(
            session,
            user_id="auth0|rows",
            target=Target("platform", "sbp"),
            action="request",
            actor="auth0|rows",
        )


def test_exactly_one_head_and_a_linear_history() -> None:
    assert len(migrations.heads()) == 1
    revisions = migrations.history()
    assert revisions[0].is_head
    assert revisions[-1].down_revision is None
    assert sum(r.is_head for r in revisions) == 1


def test_migrations_are_located_from_the_code_not_the_working_directory(tmp_path: Path) -> None:
    # the autouse fixture chdirs into an empty temp dir: no alembic.ini there
    assert not Path("alembic.ini").exists()
    assert (migrations.migrations_dir() / "env.py").is_file()
    assert (migrations.migrations_dir() / "__init__.py").is_file()


def test_round_trip_with_rows(empty_db_url: str) -> None:
    with pytest.raises(CheckFailed, match=r"at base .*aai db upgrade"):
        migrations.check(empty_db_url)
    result = migrations.upgrade(empty_db_url)
    assert result.before == [] and result.after == migrations.heads()
    assert tables(empty_db_url) >= MODEL_TABLES
    assert not migrations.upgrade(empty_db_url).changed  # a second upgrade finds nothing to do
    add_rows(empty_db_url)
    assert count_rows(empty_db_url, "membership_events") == 1
    migrations.check(empty_db_url)

    down = migrations.downgrade(empty_db_url, "base")
    assert down.after == []
    assert tables(empty_db_url) & MODEL_TABLES == set()

    again = migrations.upgrade(empty_db_url)
    assert again.changed and again.after == migrations.heads()
    assert count_rows(empty_db_url, "users") == 0
    add_rows(empty_db_url)  # the schema works again, constraints included
    assert count_rows(empty_db_url, "platforms") == 3
    migrations.check(empty_db_url)
    with Session(db.get_engine(empty_db_url)) as session:
        event = session.exec(sa.select(MembershipEvent)).scalars().one()  # type: ignore[call-overload]
        assert event.created_at.tzinfo is not None


def drifted_metadata() -> sa.MetaData:
    """A copy of the models with one extra column and one extra table."""
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy)
    copy.tables["users"].append_column(sa.Column("shoe_size", sa.Integer, nullable=True))
    sa.Table("audit_notes", copy, sa.Column("id", sa.Integer, primary_key=True))
    return copy


def test_check_names_model_drift(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url)
    with pytest.raises(CheckFailed) as caught:
        migrations.check(empty_db_url, metadata=drifted_metadata())
    message = str(caught.value)
    assert "add column users.shoe_size" in message
    assert "add table audit_notes" in message


def test_check_names_tables_the_models_do_not_have(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url)
    with db.get_engine(empty_db_url).begin() as connection:
        connection.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    with pytest.raises(CheckFailed, match="remove table stray"):
        migrations.check(empty_db_url)


def test_unknown_revision_is_not_found(empty_db_url: str) -> None:
    with pytest.raises(NotFound, match="nope"):
        migrations.upgrade(empty_db_url, "nope")
    assert tables(empty_db_url) & MODEL_TABLES == set()


def test_a_failed_migration_leaves_the_database_as_it_was(empty_db_url: str) -> None:
    # a table in the way makes the initial revision fail half-way through
    with db.get_engine(empty_db_url).begin() as connection:
        connection.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, note TEXT)")
        connection.exec_driver_sql("INSERT INTO users (id, note) VALUES (1, 'keep me')")
    with pytest.raises(Conflict, match="rolled back"):
        migrations.upgrade(empty_db_url)
    assert tables(empty_db_url) == {"users"}
    with db.get_engine(empty_db_url).connect() as connection:
        assert connection.exec_driver_sql("SELECT note FROM users").scalar_one() == "keep me"


def test_initial_revision_text() -> None:
    initial = Path(migrations.history()[-1].path).read_text()
    # partial unique indexes for live rows, on both databases
    for index in ("uq_users_username_live", "uq_roles_name_live"):
        line = next(line for line in initial.splitlines() if f"'{index}'" in line)
        assert "sqlite_where=sa.text('deleted_at IS NULL')" in line
        assert "postgresql_where=sa.text('deleted_at IS NULL')" in line
    # types rendered as plain SQLAlchemy: a revision never imports the application
    assert "sa.DateTime(timezone=True)" in initial
    assert not re.search(r"sqlmodel|aai_cli|UTCDateTime|AutoString", initial)
    # named constraints from the naming convention
    assert "name=op.f('fk_membership_events_user_id_users')" in initial
    assert "name=op.f('ck_membership_events_to_status')" in initial
    # and in the twin membership tables, which one local function creates
    assert "name=op.f(f'fk_{table}_user_id_users')" in initial
    assert "name=op.f(f'ck_{table}_status')" in initial


def test_upgrade_sql_prints_without_touching_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}"
    sql = migrations.upgrade_sql(url)
    assert "CREATE TABLE users" in sql
    assert (
        "CREATE UNIQUE INDEX uq_users_username_live ON users (username) WHERE deleted_at IS NULL"
    ) in sql
    assert not (tmp_path / "never.db").exists()


def test_upgrade_sql_names_the_twin_membership_tables_constraints() -> None:
    sql = migrations.upgrade_sql("postgresql+psycopg://u@127.0.0.1:1/x")
    for constraint in (
        "CONSTRAINT pk_group_memberships PRIMARY KEY (id)",
        "CONSTRAINT ck_group_memberships_status CHECK",
        "CONSTRAINT fk_group_memberships_user_id_users FOREIGN KEY(user_id) REFERENCES users",
        "CONSTRAINT pk_platform_memberships PRIMARY KEY (id)",
        "CONSTRAINT ck_platform_memberships_status CHECK",
        "CONSTRAINT fk_platform_memberships_user_id_users FOREIGN KEY(user_id) REFERENCES users",
    ):
        assert constraint in sql


def test_upgrade_sql_for_postgres_renders_timestamptz() -> None:
    sql = migrations.upgrade_sql("postgresql+psycopg://u@127.0.0.1:1/x")
    assert "deleted_at TIMESTAMP WITH TIME ZONE" in sql


def test_sqlite_foreign_keys_are_off_while_migrating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    with db.get_engine(url, migrations=True).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    with db.get_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_locked_sqlite_gives_busy_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE holder (id INTEGER)")
    try:
        with pytest.raises(Busy, match="locked by another process"):
            migrations.upgrade(f"sqlite:///{path}")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert tables(f"sqlite:///{path}") == set()


def test_database_down_is_exit_5_without_the_password() -> None:
    url = "postgresql+psycopg://aai:hunter2-secret@127.0.0.1:1/aai"
    with pytest.raises(DatabaseUnavailable) as caught:
        migrations.upgrade(url)
    assert caught.value.exit_code == 5
    assert "connection refused" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_autogenerate_writes_nothing_when_models_match(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.migrations_dir(), directory)
    before = sorted(p.name for p in (directory / "versions").glob("*.py"))
    assert migrations.create_revision("nothing", autogenerate=True, directory=directory) is None
    assert sorted(p.name for p in (directory / "versions").glob("*.py")) == before


@pytest.fixture
def extra_model_table():
    """A table added to the models for one test (as a developer adding a model would)."""
    from aai_cli.models.types import UTCDateTime

    table = sa.Table(
        "widgets",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=True),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("users.id"), nullable=False),
    )
    yield table
    metadata.remove(table)


def test_autogenerate_writes_a_batch_revision_for_a_new_model(
    tmp_path: Path, extra_model_table: sa.Table
) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(migrations.migrations_dir(), directory)
    path = migrations.create_revision("add widgets", autogenerate=True, directory=directory)
    assert path is not None and path.parent == directory / "versions"
    text = path.read_text()
    assert "op.create_table('widgets'" in text
    assert "sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True)" in text
    assert "fk_widgets_user_id_users" in text
    assert f"down_revision = '{migrations.heads()[0]}'" in text
    # the new tree has one head and migrates a fresh database
    url = f"sqlite:///{tmp_path / 'new.db'}"
    migrations.upgrade(url, directory=directory)
    assert "widgets" in tables(url)
    migrations.check(url, directory=directory)


def test_the_wheel_ships_the_migrations() -> None:
    """The installed package finds its migrations without the source tree (no alembic.ini)."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert "migrations" in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    shipped = migrations.migrations_dir()
    assert (shipped / "script.py.mako").is_file()
    assert {Path(r.path).parent for r in migrations.history()} == {shipped / "versions"}


def test_a_postgres_table_lock_held_elsewhere_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    url = create_postgres_database()
    try:
        migrations.upgrade(url)
        db.dispose_engines()
        monkeypatch.setattr(db, "PG_LOCK_TIMEOUT_MS", 200)
        holder = sa.create_engine(url)
        with holder.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(Busy, match="lock was not granted"):
                migrations.downgrade(url, "base")
            connection.rollback()
        holder.dispose()
        assert tables(url) >= MODEL_TABLES
        assert migrations.current(url).at_head
    finally:
        db.dispose_engines()
        drop_postgres_database(url)


def test_the_directory_revision_derives_columns_for_existing_rows(empty_db_url: str) -> None:
    """Rows written before the directory columns existed get their masks, search text
    and catalog slots on upgrade, and the downgrade keeps the rows."""
    now = "'2025-01-01 00:00:00+00:00'"  # an SQL literal, read by each database as its timestamp
    old_rows = [
        sa.text(
            "INSERT INTO platforms (id, name, access_role_name, auto_approve, created_at) "
            f"VALUES ('zeta', 'Zeta', 'r/zeta', false, {now}), "
            f"('alpha', 'Alpha', 'r/alpha', false, {now})"
        ),
        sa.text(
            "INSERT INTO users (id, email, username, email_verified, blocked) "
            "VALUES ('auth0|old', 'Old@Example.org', 'Oldie', false, false)"
        ),
        sa.text(
            "INSERT INTO platform_memberships (user_id, platform_id, status, created_at, "
            f"updated_at) VALUES ('auth0|old', 'zeta', 'approved', {now}, {now})"
        ),
    ]
    upgrade_with_old_rows(empty_db_url, old_rows, written_at="409671bd0d2e")
    migrations.check(empty_db_url)
    with db.get_engine(empty_db_url).connect() as connection:
        slots = dict(connection.execute(sa.text("SELECT id, facet_slot FROM platforms")).all())
        user = connection.execute(
            sa.text("SELECT platform_mask, search_text FROM users WHERE id = 'auth0|old'")
        ).one()
    assert slots == {"alpha": 0, "zeta": 1}  # given out in id order
    assert user.platform_mask == 1 << (4 * 1 + 1)  # zeta's slot, "approved"
    assert user.search_text == "old@example.org\noldie"

    migrations.downgrade(empty_db_url, "409671bd0d2e")
    assert count_rows(empty_db_url, "platform_memberships") == 1
    migrations.upgrade(empty_db_url)  # and back again, triggers included
    with db.get_engine(empty_db_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM platform_memberships"))
        mask = connection.execute(sa.text("SELECT platform_mask FROM users")).scalar_one()
    assert mask == 0


def test_the_frozen_directory_ddl_matches_the_models() -> None:
    """The revision carries its own copy of models/derived/ DDL; a change there needs
    a new revision (and this test pointed at it)."""
    import importlib

    from aai_cli.models import derived

    revision = importlib.import_module(
        "migrations.versions.20261126_d8779ba899b1_directory_masks_and_search_text"
    )
    for dialect, prefix in (("sqlite", "SQLITE"), ("postgresql", "POSTGRES")):
        assert list(getattr(revision, f"{prefix}_CREATE")) == derived.statements(dialect)
        assert list(getattr(revision, f"{prefix}_REFRESH")) == derived.refresh_statements(dialect)
        assert list(getattr(revision, f"{prefix}_DROP")) == derived.drop_statements(dialect)


@pytest.mark.postgres
def test_search_index_where_pg_trgm_can_be_had_and_none_where_it_cannot() -> None:
    """The trigram index is an accelerator: a role that may not create extensions still
    migrates, checks clean and searches (by scanning)."""
    from sqlalchemy.engine import make_url

    from aai_cli.services import directory

    urls = [create_postgres_database(), create_postgres_database()]
    name = make_url(urls[1]).database
    role = f"aai_limited_{name[-12:]}"
    server = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        migrations.upgrade(urls[0])
        assert _has_index(urls[0], "ix_users_search_trgm")

        with server.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
        with db.get_engine(urls[1]).begin() as conn:
            conn.exec_driver_sql(f"GRANT ALL ON SCHEMA public TO {role}")
        limited = make_url(urls[1]).set(username=role).render_as_string(hide_password=False)
        migrations.upgrade(limited)
        migrations.check(limited)
        assert not _has_index(limited, "ix_users_search_trgm")
        with db.session_scope(limited) as session:
            session.add(User(id="auth0|s", email="Someone@Example.org", username="some"))
        with db.session_scope(limited) as session:
            found = directory.list_users(session, directory.UserQuery(search="ONE@exa"))
        assert [r.id for r in found] == ["auth0|s"]
    finally:
        db.dispose_engines()
        for url in urls:
            drop_postgres_database(url)
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        server.dispose()


def _has_index(url: str, name: str) -> bool:
    with db.get_engine(url).connect() as connection:
        return name in {ix["name"] for ix in sa.inspect(connection).get_indexes("users")}


def test_check_names_a_missing_derived_column_trigger(empty_db_url: str) -> None:
    migrations.upgrade(empty_db_url)
    on_table = " ON users" if empty_db_url.startswith("postgresql") else ""
    name = "trg_users_search_text" if on_table else "trg_users_search_text_insert"
    with db.get_engine(empty_db_url).begin() as connection:
        connection.exec_driver_sql(f"DROP TRIGGER {name}{on_table}")
    with pytest.raises(CheckFailed, match=f"missing trigger {name}"):
        migrations.check(empty_db_url)
