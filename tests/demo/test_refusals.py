"""What `aai serve --demo` refuses before it starts anything: production and a configured
Auth0 tenant (exit 6), a configured database (exit 8); from the environment or `.env`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli import aai


def nothing_started() -> None:
    here = Path.cwd()
    assert not (here / "demo.db").exists() and not (here / ".aai-demo.json").exists()
    assert not (here / "database.db").exists()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"ENVIRONMENT": "production"}, "ENVIRONMENT=production"),
        ({"AUTH0_DOMAIN": "biocommons.au.auth0.com"}, "AUTH0_DOMAIN"),
        ({"AUTH0_MANAGEMENT_ID": "id", "AUTH0_MANAGEMENT_SECRET": "s3cret"}, "AUTH0_MANAGEMENT_ID"),
        ({"AUTH0_BASE_URL": "https://biocommons.au.auth0.com"}, "AUTH0_BASE_URL"),
    ],
    ids=["production", "domain", "management-client", "base-url"],
)
def test_production_and_a_tenant_are_refused_with_exit_6(settings_env, variables, named):
    settings_env(**variables)
    result = aai("serve", "--demo", "--port", "1")
    assert result.exit_code == 6, result.output
    assert named in result.stderr
    assert "s3cret" not in result.stderr
    nothing_started()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DB_URL": "sqlite:///mine.db"}, "DB_URL"),
        ({"DB_URL": "postgresql://aai@db.example.org/aai"}, "DB_URL"),
        ({"DB_HOST": "db.example.org"}, "DB_HOST"),
    ],
    ids=["sqlite-file", "postgres-url", "db-host"],
)
def test_a_configured_database_is_refused_with_exit_8(settings_env, variables, named):
    settings_env(**variables)
    result = aai("serve", "--demo", "--port", "1")
    assert result.exit_code == 8, result.output
    assert f"unset {named}" in result.stderr
    assert not Path("mine.db").exists()
    nothing_started()


def test_the_dotenv_file_counts_too():
    Path(".env").write_text("AUTH0_MANAGEMENT_SECRET=from-dotenv\n", encoding="utf-8")
    assert "AUTH0_MANAGEMENT_SECRET" not in os.environ
    result = aai("serve", "--demo", "--port", "1")
    assert result.exit_code == 6
    assert "AUTH0_MANAGEMENT_SECRET" in result.stderr and "from-dotenv" not in result.stderr
    nothing_started()


def test_a_state_file_of_a_dead_demo_is_not_a_running_demo():
    Path(".aai-demo.json").write_text(
        '{"api_url": "http://127.0.0.1:1", "auth0_url": "http://127.0.0.1:2", "domain": "d",'
        ' "client_id": "c", "audience": "a", "management_id": "m", "management_secret": "s",'
        ' "database_url": "sqlite:///demo.db", "pid": 999999999, "personas": []}',
        encoding="utf-8",
    )
    result = aai("demo", "info", "--json")
    assert result.exit_code == 5
    assert "aai serve --demo" in result.stderr
