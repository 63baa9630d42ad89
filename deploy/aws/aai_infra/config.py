"""Deployment settings from CDK context (plain Python: no aws_cdk import).

`cdk.json` holds one object per environment under `environments`; `-c env=prod` picks
one, and any single value can be overridden on the command line (`-c image_tag=abc123`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

# Set by the stack from Secrets Manager; never allowed as plain environment values.
SECRET_VARIABLES = frozenset(
    {
        "DB_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "AUTH0_MANAGEMENT_ID",
        "AUTH0_MANAGEMENT_SECRET",
        "JWT_SECRET_KEY",
        "RECAPTCHA_SECRET",
        "SMTP_USER",
        "SMTP_PASSWORD",
    }
)
_SECRET_LOOKING = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN")


@dataclasses.dataclass(frozen=True)
class DeployConfig:
    env_name: str = "dev"
    # the image: built by CI, pushed to this ECR repository with an immutable tag
    ecr_repository: str = "aai-backend"
    image_tag: str = "latest"
    # false to redeploy an older image without running its migrations (a rollback)
    migrate: bool = True
    # the API's public name; HTTPS when certificate_arn is set, an alias record when the
    # hosted zone is given (otherwise point a CNAME at the LoadBalancerDNS output)
    domain: str = ""
    certificate_arn: str = ""
    hosted_zone_id: str = ""
    hosted_zone_name: str = ""
    # existing secrets to use instead of creating aai/<env>/auth0 and aai/<env>/smtp
    auth0_secret_arn: str = ""
    smtp_secret_arn: str = ""
    # non-secret settings passed as plain environment (AUTH0_DOMAIN, AAI_PORTAL_URL, ...)
    settings: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # sizes
    nat_gateways: int = 1
    api_cpu: int = 512
    api_memory_mib: int = 1024
    api_workers: int = 2
    api_min_tasks: int = 2
    api_max_tasks: int = 6
    api_cpu_target_percent: int = 60
    api_requests_per_target: int = 600
    scheduler_cpu: int = 256
    scheduler_memory_mib: int = 512
    db_instance_type: str = "t4g.micro"
    db_allocated_storage_gib: int = 20
    db_max_allocated_storage_gib: int = 100
    db_multi_az: bool = False
    db_backup_days: int = 7
    deletion_protection: bool = False
    log_retention: str = "ONE_MONTH"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", self.env_name):
            raise ValueError(f"env_name {self.env_name!r}: lowercase letters, digits, '-'")
        if not 1 <= self.api_min_tasks <= self.api_max_tasks:
            raise ValueError("need 1 <= api_min_tasks <= api_max_tasks")
        leaked = sorted(
            name
            for name in self.settings
            if name.upper() in SECRET_VARIABLES or _SECRET_LOOKING.search(name.upper())
        )
        if leaked:
            raise ValueError(
                f"settings must not carry secrets ({', '.join(leaked)}): "
                "they come from Secrets Manager"
            )

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn)

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeployConfig:
        """`get` is `node.try_get_context`; flat `-c key=value` wins over the environment."""
        env_name = get("env") or "dev"
        environments = _as_mapping(get("environments") or {}, "environments")
        base = _as_mapping(environments.get(env_name, {}), f"environments.{env_name}")
        values: dict[str, Any] = {"env_name": env_name}
        for field in dataclasses.fields(cls):
            if field.name == "env_name":
                continue
            raw = get(field.name)
            if raw is None:
                raw = base.get(field.name)
            if raw is not None:
                values[field.name] = _coerce(field, raw)
        return cls(**values)


def _as_mapping(value: Any, name: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"context {name} must be an object")
    return value


def _coerce(field: dataclasses.Field, raw: Any) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "bool":
        return raw if isinstance(raw, bool) else str(raw).lower() in {"1", "true", "yes"}
    if kind == "int":
        return int(raw)
    if kind.startswith("Mapping"):
        return {str(k): str(v) for k, v in _as_mapping(raw, field.name).items()}
    return str(raw)
