"""Shared fixtures: a fresh database per test on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aai_cli import db
from aai_cli.settings import get_settings

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
        if name.startswith(("DB_", "AUTH0_", "SMTP_", "SYNC_", "EMAIL_", "CORS_")) or name in {
            "ADMIN_ROLES",
            "JWT_SECRET_KEY",
            "AAI_PORTAL_URL",
            "SBP_ALLOWED_EMAIL_DOMAINS",
            "LOG_FORMAT",
            "AAI_DEBUG",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    db.dispose_engines()


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
def empty_db_url(backend: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A URL to an empty database (no tables), set as DB_URL for the code under test."""
    for url in empty_database_url(backend, tmp_path):
        monkeypatch.setenv("DB_URL", url)
        get_settings.cache_clear()
        yield url


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database with every table (created from the models) and the default catalog."""
    from aai_cli.models import metadata

    engine = db.get_engine(empty_db_url)
    metadata.create_all(engine)
    from aai_cli.services.catalog import seed_catalog

    with db.session_scope(empty_db_url) as session:
        seed_catalog(session)
    return empty_db_url


@pytest.fixture
def session(db_url: str):  # type: ignore[no-untyped-def]
    """A session on the test database; the test commits or rolls back as a caller would."""
    from sqlmodel import Session

    with Session(db.get_engine(db_url), expire_on_commit=False) as s:
        yield s
