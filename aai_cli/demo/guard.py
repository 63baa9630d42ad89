"""What the demo refuses: production, a configured Auth0 tenant (exit 6), and any database
but its own file (exit 8). It reads the settings as the environment and `.env` give them,
before the demo changes anything."""

from __future__ import annotations

from aai_cli.errors import ConfigError, SafetyGuard
from aai_cli.settings import DEFAULT_DB_URL, Settings

# settings naming a tenant, its credentials or its tokens (the tuning knobs may stay)
TENANT_SETTINGS = (
    "auth0_domain",
    "auth0_base_url",
    "auth0_management_id",
    "auth0_management_secret",
    "auth0_custom_domain",
    "auth0_issuer",
    "auth0_audience",
    "auth0_jwks_url",
    "auth0_action_secret",
)


def check(settings: Settings) -> None:
    """Raise unless the demo may run with these settings."""
    if settings.environment == "production":
        raise ConfigError(
            "the demo never runs in production (ENVIRONMENT=production)",
            hint="unset ENVIRONMENT or set it to development",
        )
    present = [name.upper() for name in TENANT_SETTINGS if getattr(settings, name)]
    if present:
        raise ConfigError(
            f"the demo runs its own local Auth0 and refuses a configured tenant: "
            f"{', '.join(present)} set",
            hint="unset them (environment or .env) to run the demo",
        )
    if settings.db_host or settings.db_url != DEFAULT_DB_URL:
        name = "DB_HOST" if settings.db_host else "DB_URL"
        raise SafetyGuard(
            f"the demo runs on its own SQLite file and never on a configured database: "
            f"{name} is set",
            hint=f"unset {name} to run the demo",
        )
