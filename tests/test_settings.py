"""Settings: the database URL rules, .env, and configuration errors (exit 6, no secret)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from aai_cli.errors import ConfigError
from aai_cli.settings import DEFAULT_DB_URL, load_settings, normalise_db_url
from tests.cli import aai

SECRET = "hunter2-s3cret"


def test_default_is_the_embedded_sqlite() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DB_URL == "sqlite:///database.db"
    assert settings.is_sqlite and settings.is_default_sqlite


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5433/d", "postgresql+psycopg://u:p@h:5433/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////data/aai.db", "sqlite:////data/aai.db"),
        ("  sqlite:///x.db  ", "sqlite:///x.db"),
    ],
)
def test_db_url_normalised_to_psycopg3(given: str, expected: str) -> None:
    assert normalise_db_url(given) == expected
    assert load_settings(db_url=given).database_url == expected


def test_db_url_other_than_default_is_not_the_embedded_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_URL", "sqlite:///other.db")
    assert not load_settings().is_default_sqlite


def test_db_parts_win_over_db_url_and_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "p@ss:w/rd%?#&"
    monkeypatch.setenv("DB_URL", "sqlite:///ignored.db")
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "6543")
    monkeypatch.setenv("DB_NAME", "aai_prod")
    monkeypatch.setenv("DB_USER", "aai@svc")
    monkeypatch.setenv("DB_PASSWORD", password)
    settings = load_settings()
    url = make_url(settings.database_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database) == ("db.internal", 6543, "aai_prod")
    assert url.username == "aai@svc" and url.password == password
    assert not settings.is_sqlite and not settings.is_default_sqlite
    assert password not in repr(settings) and password not in str(settings.model_dump())


def test_db_parts_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "localhost")
    assert load_settings().database_url == "postgresql+psycopg://postgres@localhost:5432/aai"


def test_dotenv_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("DB_URL=sqlite:///from-dotenv.db\nSYNC_MAX_DELETES=7\n")
    assert load_settings().database_url == "sqlite:///from-dotenv.db"
    monkeypatch.setenv("SYNC_MAX_DELETES", "9")
    assert load_settings().sync_max_deletes == 9


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DB_PORT", "not-a-port"),
        ("DB_PORT", "70000"),
        ("ADMIN_ROLES", "[not json"),
        ("SBP_ALLOWED_EMAIL_DOMAINS", "{"),
        ("SYNC_FULL_AT", "25:00"),
        ("AUTH0_DOMAIN", "https://tenant.example/with/path"),
        ("AUTH0_BASE_URL", "ftp://nope"),
        ("EMAIL_BACKEND", "pigeon"),
        ("SYNC_INTERVAL_MINUTES", "0"),
    ],
)
def test_malformed_variable_is_exit_6_naming_it_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    monkeypatch.setenv("SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("AUTH0_MANAGEMENT_SECRET", SECRET)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert variable in str(caught.value)
    result = aai("db", "ping")
    assert result.exit_code == 6
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert SECRET not in result.stderr + result.stdout
    assert "validation error" not in result.stderr.lower()  # no pydantic dump


def test_missing_auth0_variables_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings().require_auth0_management()
    message = str(caught.value)
    for name in ("AUTH0_DOMAIN", "AUTH0_MANAGEMENT_ID", "AUTH0_MANAGEMENT_SECRET"):
        assert name in message


def test_database_commands_never_need_auth0() -> None:
    # no AUTH0_* at all: the database commands still work
    result = aai("db", "ping", "--json")
    assert result.exit_code == 0, result.stderr


def test_cors_wildcard_refused() -> None:
    with pytest.raises(ConfigError, match="CORS_ALLOWED_ORIGINS"):
        load_settings(cors_allowed_origins="https://a.example, *").cors_origins()
    settings = load_settings(cors_allowed_origins="https://a.example, https://b.example")
    assert settings.cors_origins() == ["https://a.example", "https://b.example"]


NOT_A_URL = "not a database URL (expected sqlite:///path or postgresql://user@host/db)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not a url", NOT_A_URL),
        ("postgresql://:bad", NOT_A_URL),
        ("postgresql://db.internal:70000/aai", "the port must be between 1 and 65535"),
        ("mysql://db.internal/aai", "unsupported database: use sqlite:/// or postgresql://"),
    ],
)
def test_malformed_db_url_is_exit_6_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("DB_URL", value.replace("db.internal", f"aai:{SECRET}@db.internal"))
    result = aai("db", "current")
    assert result.exit_code == 6, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: invalid configuration: DB_URL: {expected}"
    ]
    assert SECRET not in result.stderr + result.stdout


def test_trusted_proxies_are_addresses_and_ranges() -> None:
    assert load_settings().trusted_proxies() == ["127.0.0.1/32", "::1/128"]
    settings = load_settings(forwarded_allow_ips=" 10.0.0.0/16, 172.30.0.5 ,fd00::/8")
    assert settings.trusted_proxies() == ["10.0.0.0/16", "172.30.0.5/32", "fd00::/8"]
    assert load_settings(forwarded_allow_ips="10.1.2.3/16").trusted_proxies() == ["10.1.0.0/16"]
    assert load_settings(forwarded_allow_ips="").trusted_proxies() == []


@pytest.mark.parametrize("value", ["*", "10.0.0.0/16,*", "proxy.internal", "10.0.0.0/33"])
def test_trusted_proxies_refuse_a_wildcard_and_names(value: str) -> None:
    with pytest.raises(ConfigError, match="FORWARDED_ALLOW_IPS"):
        load_settings(forwarded_allow_ips=value).trusted_proxies()


@pytest.mark.parametrize(
    ("environment", "portal", "sender"),
    [
        ("development", "http://localhost:4200", "no-reply@localhost"),
        ("staging", "https://aaiportal.test.biocommons.org.au", "no-reply@biocommons.org.au"),
        ("production", None, "no-reply@biocommons.org.au"),
    ],
)
def test_portal_url_and_sender_follow_the_environment(
    environment: str, portal: str | None, sender: str
) -> None:
    settings = load_settings(environment=environment)
    assert (settings.aai_portal_url, settings.no_reply_email_sender) == (portal, sender)
    named = load_settings(
        environment=environment,
        aai_portal_url="https://portal.example.org/",
        no_reply_email_sender="aai@example.org",
    )
    assert (named.portal_url, named.no_reply_email_sender) == (
        "https://portal.example.org",
        "aai@example.org",
    )


def test_production_without_a_portal_url_has_no_links() -> None:
    with pytest.raises(ConfigError, match="AAI_PORTAL_URL"):
        _ = load_settings(environment="production").portal_url


def test_unknown_environment_is_exit_6_naming_it(settings_env) -> None:  # type: ignore[no-untyped-def]
    settings_env(ENVIRONMENT="prod")
    result = aai("db", "check")
    assert result.exit_code == 6
    assert "ENVIRONMENT" in result.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("login.biocommons.org.au", "https://login.biocommons.org.au"),
        ("https://login.biocommons.org.au/", "https://login.biocommons.org.au"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ],
)
def test_custom_domain_keeps_its_scheme_and_is_an_issuer(given: str, expected: str) -> None:
    settings = load_settings(auth0_domain="tenant.au.auth0.com", auth0_custom_domain=given)
    assert settings.auth0_custom_domain == expected
    assert settings.accepted_issuers == ["https://tenant.au.auth0.com/", f"{expected}/"]


def test_custom_domain_with_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="AUTH0_CUSTOM_DOMAIN"):
        load_settings(auth0_custom_domain="https://login.example.org/continue")


def test_action_secret_falls_back_to_the_management_secret() -> None:
    assert load_settings().action_token_secret is None
    assert load_settings(auth0_management_secret="m-secret").action_token_secret == "m-secret"
    both = load_settings(auth0_management_secret="m-secret", auth0_action_secret="a-secret")
    assert both.action_token_secret == "a-secret"


@pytest.mark.parametrize(
    ("environment", "enabled", "on"),
    [
        ("development", None, True),
        ("staging", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
def test_sbp_registration_is_off_in_production_unless_enabled(
    environment: str, enabled: bool | None, on: bool
) -> None:
    settings = load_settings(environment=environment, sbp_registration_enabled=enabled)
    assert settings.sbp_registration_on is on
