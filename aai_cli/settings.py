"""Configuration from environment variables (and `.env`), validated when a command needs it.

Names follow the deployed service so existing secrets keep working. `get_settings()` is
cached and never called at import time; a bad value becomes a `ConfigError` naming the
variable, never a pydantic dump and never the secret.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from aai_cli.errors import ConfigError

DEFAULT_DB_URL = "sqlite:///database.db"
GOOGLE_RECAPTCHA_VERIFY_URL = "https://www.google.com/recaptcha/api/siteverify"
Environment = Literal["development", "staging", "production"]
# Defaults that follow ENVIRONMENT; production has no portal default (it must be named).
PORTAL_URL_DEFAULTS: dict[str, str | None] = {
    "development": "http://localhost:4200",
    "staging": "https://aaiportal.test.biocommons.org.au",
    "production": None,
}
SENDER_DEFAULTS = {
    "development": "no-reply@localhost",
    "staging": "no-reply@biocommons.org.au",
    "production": "no-reply@biocommons.org.au",
}
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Environment = "development"

    # database
    db_url: str = DEFAULT_DB_URL
    db_host: str | None = None
    db_port: int = Field(5432, ge=1, le=65535)
    db_name: str = "aai"
    db_user: str = "postgres"
    db_password: SecretStr | None = None

    # Auth0
    auth0_domain: str | None = None
    auth0_management_id: str | None = None
    auth0_management_secret: SecretStr | None = None
    auth0_base_url: str | None = None
    auth0_audience: str | None = None
    auth0_issuer: str | None = None
    # the login domain the portal and the Actions use (scheme included; bare host: https)
    auth0_custom_domain: str | None = None
    # the HS256 secret of the Actions' session tokens (falls back to the management secret)
    auth0_action_secret: SecretStr | None = None
    auth0_jwks_url: str | None = None
    auth0_roles_claim: str = "https://biocommons.org.au/roles"
    auth0_db_connection: str = "Username-Password-Authentication"
    auth0_max_rps: float = Field(20.0, gt=0, le=10_000)
    auth0_timeout_s: float = Field(30.0, gt=0, le=600)
    auth0_jwks_timeout_s: float = Field(3.0, gt=0, le=600)
    admin_roles: list[str] = Field(default_factory=list)

    # API
    cors_allowed_origins: str = ""
    jwt_secret_key: SecretStr | None = None
    enable_prometheus_metrics: bool = False
    forwarded_allow_ips: str = "127.0.0.1,::1"
    max_body_bytes: int = Field(256 * 1024, ge=1024, le=64 * 1024 * 1024)

    # email (the portal URL and the sender default per ENVIRONMENT: see below)
    aai_portal_url: str | None = None
    no_reply_email_sender: str = ""
    email_backend: Literal["console", "smtp"] = "console"
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    sbp_allowed_email_domains: list[str] = Field(default_factory=list)

    # registration
    institution_check_url: str = "https://usegalaxy.org.au/institution/validate"
    institution_check_timeout_s: float = Field(5.0, gt=0, le=60)
    sbp_registration_enabled: bool | None = None

    # bot protection (reCAPTCHA v2 checkbox)
    recaptcha_secret: SecretStr | None = None
    recaptcha_verify_url: str = GOOGLE_RECAPTCHA_VERIFY_URL
    recaptcha_hostname: str | None = None
    recaptcha_timeout_s: float = Field(5.0, gt=0, le=60)
    recaptcha_disabled: bool = False

    # sync and scheduler
    sync_interval_minutes: int = Field(15, ge=1, le=24 * 60)
    sync_full_at: str = "02:00"
    sync_max_deletes: int = Field(50, ge=0)
    sync_memberships_every_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    job_retention_days: int = Field(30, ge=1)

    # logging
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("sync_full_at")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError("expected HH:MM (24-hour, UTC)")
        return value

    @field_validator("db_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        check_db_url(normalise_db_url(value))
        return value

    @field_validator(
        "auth0_base_url",
        "auth0_jwks_url",
        "aai_portal_url",
        "institution_check_url",
        "recaptcha_verify_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("auth0_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().removeprefix("https://").rstrip("/")
        if not value or "/" in value or " " in value:
            raise ValueError("expected a bare domain such as tenant.au.auth0.com")
        return value

    @field_validator("auth0_custom_domain")
    @classmethod
    def _custom_domain(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if "://" not in value:
            value = f"https://{value}"
        if not re.match(r"^https?://[^/\s]+$", value):
            raise ValueError("expected a domain such as https://login.example.org (no path)")
        return value

    @model_validator(mode="after")
    def _environment_defaults(self) -> Settings:
        if self.aai_portal_url is None:
            self.aai_portal_url = PORTAL_URL_DEFAULTS[self.environment]
        if not self.no_reply_email_sender:
            self.no_reply_email_sender = SENDER_DEFAULTS[self.environment]
        return self

    @field_validator("sbp_allowed_email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [item.strip().lower().lstrip("@") for item in value if item.strip()]

    @field_validator("admin_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return [item.strip() for item in value if item.strip()]

    # --- derived values -------------------------------------------------------------

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL to connect with. Contains the password: never print it."""
        if self.db_host:
            password = self.db_password.get_secret_value() if self.db_password else ""
            auth = quote(self.db_user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            return f"postgresql+psycopg://{auth}@{self.db_host}:{self.db_port}/{self.db_name}"
        return normalise_db_url(self.db_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_default_sqlite(self) -> bool:
        return not self.db_host and self.db_url == DEFAULT_DB_URL

    @property
    def auth0_root(self) -> str:
        """Scheme and host of the Management API, the token endpoint and the JWKS."""
        if self.auth0_base_url:
            return self.auth0_base_url
        if not self.auth0_domain:
            raise ConfigError("AUTH0_DOMAIN is not set (or set AUTH0_BASE_URL)")
        return f"https://{self.auth0_domain}"

    @property
    def accepted_issuers(self) -> list[str]:
        issuers = [i.strip() for i in (self.auth0_issuer or "").split(",") if i.strip()]
        if self.auth0_domain:
            issuers.append(f"https://{self.auth0_domain}/")
        if self.auth0_custom_domain:
            issuers.append(f"{self.auth0_custom_domain}/")
        return list(dict.fromkeys(issuers))

    @property
    def portal_url(self) -> str:
        """The portal's base URL for links (production refuses to start without one)."""
        if not self.aai_portal_url:
            raise ConfigError("AAI_PORTAL_URL is not set (required when ENVIRONMENT=production)")
        return self.aai_portal_url

    @property
    def action_token_secret(self) -> str | None:
        """The secret the Auth0 Actions sign their session tokens with: AUTH0_ACTION_SECRET,
        else the management client secret (what a tenant's Actions use today)."""
        secret = self.auth0_action_secret or self.auth0_management_secret
        return secret.get_secret_value() if secret else None

    @property
    def sbp_registration_on(self) -> bool:
        """SBP registration is on unless disabled; in production only when enabled explicitly."""
        if self.sbp_registration_enabled is None:
            return self.environment != "production"
        return self.sbp_registration_enabled

    @property
    def jwks_url(self) -> str:
        return self.auth0_jwks_url or f"{self.auth0_root}/.well-known/jwks.json"

    def cors_origins(self) -> list[str]:
        origins = [o.strip() for o in self.cors_allowed_origins.split(",") if o.strip()]
        if "*" in origins:
            raise ConfigError(
                "CORS_ALLOWED_ORIGINS must list origins; '*' is refused "
                "(it would let any site call the API with a user's token)"
            )
        return origins

    def production_problems(self) -> list[str]:
        """The settings production refuses to start with (empty outside production)."""
        if self.environment != "production":
            return []
        problems = []
        if self.email_backend == "console":
            problems.append("EMAIL_BACKEND=console only logs mail: set EMAIL_BACKEND=smtp")
        if self.recaptcha_secret is None:
            problems.append("RECAPTCHA_SECRET is unset: registration would have no bot check")
        if self.recaptcha_disabled:
            problems.append("RECAPTCHA_DISABLED is on: it is for development and staging only")
        local = [o for o in self.cors_origins() if _is_local_origin(o)]
        if local:
            problems.append(f"CORS_ALLOWED_ORIGINS allows local origins: {', '.join(local)}")
        if not self.aai_portal_url:
            problems.append("AAI_PORTAL_URL is unset: emails would link nowhere")
        return problems

    def check_start_up(self) -> None:
        """What a server refuses to start with (ConfigError, exit 6): `CORS_ALLOWED_ORIGINS=*`
        anywhere, and in production every problem of `production_problems`."""
        self.cors_origins()
        problems = self.production_problems()
        if problems:
            raise ConfigError(
                "ENVIRONMENT=production refuses these settings: " + "; ".join(problems)
            )

    def trusted_proxies(self) -> list[str]:
        """FORWARDED_ALLOW_IPS as IP addresses and networks: the proxy hops whose
        X-Forwarded-For entries are believed. `*` is refused: trusting every hop makes the
        left end of the chain, which the client writes, its address."""
        entries = [e.strip() for e in self.forwarded_allow_ips.split(",") if e.strip()]
        if "*" in entries:
            raise ConfigError(
                "FORWARDED_ALLOW_IPS must list the proxies' addresses or ranges (e.g. the "
                "VPC range); '*' is refused (any client could choose its own address)"
            )
        try:
            return [str(ipaddress.ip_network(e, strict=False)) for e in entries]
        except ValueError:
            raise ConfigError(
                "FORWARDED_ALLOW_IPS: expected comma-separated IP addresses or CIDR ranges"
            ) from None

    def require(self, *names: str) -> None:
        """Raise ConfigError naming every variable in `names` that is unset."""
        missing = [n.upper() for n in names if getattr(self, n.lower()) in (None, "")]
        if missing:
            raise ConfigError(f"missing configuration: {', '.join(missing)}")

    def require_auth0_management(self) -> None:
        missing = [
            n
            for n in ("AUTH0_MANAGEMENT_ID", "AUTH0_MANAGEMENT_SECRET")
            if getattr(self, n.lower()) in (None, "")
        ]
        if not self.auth0_domain and not self.auth0_base_url:
            missing.insert(0, "AUTH0_DOMAIN")
        if missing:
            raise ConfigError(f"missing Auth0 configuration: {', '.join(missing)}")

    def require_smtp(self) -> None:
        if self.email_backend == "smtp":
            self.require("smtp_host")


def normalise_db_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3; other URLs pass unchanged."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def check_db_url(url: str) -> None:
    """ValueError unless `url` is a database URL this project can use (the message never
    repeats the URL: it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError):
        raise ValueError(
            "not a database URL (expected sqlite:///path or postgresql://user@host/db)"
        ) from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ValueError("unsupported database: use sqlite:/// or postgresql://")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("the port must be between 1 and 65535")


def _config_error(exc: Exception) -> ConfigError:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper() or "settings"
            parts.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        return ConfigError("invalid configuration: " + "; ".join(parts))
    match = re.search(r'field "(\w+)"', str(exc))
    name = match.group(1).upper() if match else "a setting"
    return ConfigError(f"invalid configuration: {name} could not be parsed (expected JSON)")


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except (ValidationError, SettingsError) as exc:
        raise _config_error(exc) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def _is_local_origin(origin: str) -> bool:
    try:
        host = urlsplit(origin if "://" in origin else f"//{origin}").hostname or ""
    except ValueError:
        return False
    return (
        host in {"localhost", "::1", "0.0.0.0"}
        or host.endswith(".localhost")
        or (host.startswith("127."))
    )
