"""Shared fixtures: a fresh database per test on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aai_cli import db
from aai_cli.settings import get_settings

pytest_plugins = [
    "tests.fakes.fixtures",
    "tests.fakes.institution_server",
    "tests.fakes.recaptcha_server",
    "tests.smtp_fixtures",
]

POSTGRES_URL_ENV = "AAI_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        return None
    from aai_cli.settings import normalise_db_url

    return normalise_db_url(url)


def create_postgres_database() -> str:
    """Create an empty database on the test server; returns its URL."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set: PostgreSQL tests skipped")
    name = f"aai_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin_url = postgres_admin_url()
    assert admin_url is not None
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> Iterator[None]:
    """No test reads the developer's .env or environment by accident."""
    for name in list(os.environ):
        prefixes = (
            "DB_",
            "AUTH0_",
            "SMTP_",
            "SYNC_",
            "EMAIL_",
            "CORS_",
            "INSTITUTION_",
            "RECAPTCHA_",
            "SBP_",
        )
        if name.startswith(prefixes) or name in {
            "ADMIN_ROLES",
            "JWT_SECRET_KEY",
            "AAI_PORTAL_URL",
            "ENVIRONMENT",
            "NO_REPLY_EMAIL_SENDER",
            "LOG_FORMAT",
            "AAI_DEBUG",
            "FORWARDED_ALLOW_IPS",
            "MAX_BODY_BYTES",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    db.dispose_engines()


SettingsEnv = Callable[..., None]


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> SettingsEnv:
    """Set environment variables for the code under test (`None` unsets one); the next
    `get_settings()` reads them. Undone after the test like any monkeypatch."""

    def apply(**variables: str | None) -> None:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    return apply


def empty_database_url(backend: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        db.dispose_engines()
        drop_postgres_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def empty_db_url(backend: str, tmp_path, settings_env: SettingsEnv) -> Iterator[str]:
    """A URL to an empty database (no tables), set as DB_URL for the code under test."""
    for url in empty_database_url(backend, tmp_path):
        settings_env(DB_URL=url)
        yield url


def _build_schema(url: str) -> None:
    from aai_cli.models import metadata
    from aai_cli.services.access.catalog import seed_catalog

    metadata.create_all(db.get_engine(url))
    with db.session_scope(url) as session:
        seed_catalog(session)
    db.dispose_engines()


@pytest.fixture(scope="session")
def _schema_templates(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Databases with every table and the default catalog, built once and copied per test."""
    templates: dict[str, str] = {}
    sqlite_template = tmp_path_factory.mktemp("template") / "template.db"
    _build_schema(f"sqlite:///{sqlite_template}")
    templates["sqlite"] = str(sqlite_template)
    yield templates
    if "postgres" in templates:
        drop_postgres_database(templates["postgres"])


def _postgres_template(templates: dict[str, str]) -> str:
    """One database per test process, emptied and re-seeded after each test (creating a
    database per test costs more than half a second on PostgreSQL)."""
    if "postgres" not in templates:
        url = create_postgres_database()
        _build_schema(url)
        templates["postgres"] = url
    return templates["postgres"]


def _reset_postgres_database(url: str) -> None:
    from aai_cli.models import metadata
    from aai_cli.services.access.catalog import seed_catalog

    # DELETE beats TRUNCATE by far on tables this small.
    with db.session_scope(url) as session:
        for table in reversed(metadata.sorted_tables):
            session.exec(table.delete())
        seed_catalog(session)
    db.dispose_engines()


@pytest.fixture
def db_url(backend: str, tmp_path, settings_env: SettingsEnv, _schema_templates) -> Iterator[str]:
    """A database with every table (created from the models) and the default catalog,
    set as DB_URL for the code under test."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(_schema_templates["sqlite"], path)
        url = f"sqlite:///{path}"
    else:
        if postgres_admin_url() is None:
            pytest.skip(f"{POSTGRES_URL_ENV} is not set: PostgreSQL tests skipped")
        url = _postgres_template(_schema_templates)
    settings_env(DB_URL=url)
    try:
        yield url
    finally:
        db.dispose_engines()
        if backend == "postgres":
            _reset_postgres_database(url)


@pytest.fixture
def session(db_url: str):  # type: ignore[no-untyped-def]
    """A session on the test database; the test commits or rolls back as a caller would."""
    from sqlmodel import Session

    with Session(db.get_engine(db_url), expire_on_commit=False) as s:
        yield s
