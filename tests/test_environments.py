"""ENVIRONMENT=production refuses unsafe settings at start-up (exit 6, every problem named);
development and staging start with them."""

from __future__ import annotations

import pytest

from aai_cli.errors import ConfigError
from aai_cli.settings import load_settings
from tests.cli import aai

SAFE_PRODUCTION = {
    "environment": "production",
    "email_backend": "smtp",
    "smtp_host": "smtp.example.org",
    "recaptcha_secret": "site-secret",
    "cors_allowed_origins": "https://aaiportal.biocommons.org.au",
    "aai_portal_url": "https://aaiportal.biocommons.org.au",
}


def test_safe_production_settings_have_no_problem() -> None:
    settings = load_settings(**SAFE_PRODUCTION)
    assert settings.production_problems() == []
    settings.check_start_up()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"email_backend": "console"}, "EMAIL_BACKEND=console"),
        ({"recaptcha_secret": None}, "RECAPTCHA_SECRET is unset"),
        ({"recaptcha_disabled": True}, "RECAPTCHA_DISABLED is on"),
        ({"cors_allowed_origins": "https://a.org,http://localhost:4200"}, "localhost:4200"),
        ({"cors_allowed_origins": "http://127.0.0.1:8080"}, "127.0.0.1:8080"),
        ({"cors_allowed_origins": "http://[::1]:4200"}, "[::1]:4200"),
        ({"cors_allowed_origins": "http://portal.localhost"}, "portal.localhost"),
        ({"aai_portal_url": None}, "AAI_PORTAL_URL is unset"),
    ],
)
def test_each_unsafe_production_setting_is_refused(change: dict, named: str) -> None:
    settings = load_settings(**{**SAFE_PRODUCTION, **change})
    [problem] = settings.production_problems()
    assert named in problem
    with pytest.raises(ConfigError, match="ENVIRONMENT=production refuses"):
        settings.check_start_up()


def test_a_public_origin_that_mentions_localhost_is_fine() -> None:
    settings = load_settings(
        **{**SAFE_PRODUCTION, "cors_allowed_origins": "https://localhost.example.org"}
    )
    assert settings.production_problems() == []


@pytest.mark.parametrize("environment", ["development", "staging"])
def test_other_environments_start_with_the_same_settings(environment: str) -> None:
    settings = load_settings(
        environment=environment,
        email_backend="console",
        recaptcha_disabled=True,
        cors_allowed_origins="http://localhost:4200",
    )
    assert settings.production_problems() == []
    settings.check_start_up()


def test_aai_serve_refuses_production_naming_every_problem(settings_env) -> None:  # type: ignore[no-untyped-def]
    settings_env(ENVIRONMENT="production", CORS_ALLOWED_ORIGINS="http://localhost:4200")
    result = aai("serve", "--port", "1")
    assert result.exit_code == 6, result.output
    for named in ("EMAIL_BACKEND=console", "RECAPTCHA_SECRET", "localhost:4200", "AAI_PORTAL_URL"):
        assert named in result.stderr
    assert result.stdout == ""


def test_the_app_refuses_production_too(settings_env) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    settings_env(ENVIRONMENT="production")
    with pytest.raises(ConfigError, match="RECAPTCHA_SECRET"):
        create_app()


def test_a_disabled_recaptcha_is_said_at_start_up(settings_env, caplog) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app

    settings_env(ENVIRONMENT="staging", RECAPTCHA_DISABLED="true")
    create_app()
    assert "RECAPTCHA_DISABLED" in caplog.text
