"""deploy/compose.yaml and deploy/.env.example at the YAML level."""

from __future__ import annotations

import re

from aai_infra import commands

from aai_cli.settings import Settings
from tests.deploy.conftest import DEPLOY
from tests.deploy.parsing import compose, image_services

SPEC = compose(DEPLOY / "compose.yaml")
SERVICES = SPEC["services"]
ENV_EXAMPLE = (DEPLOY / ".env.example").read_text()
# read by compose itself (interpolation), not by Settings
COMPOSE_ONLY = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "AAI_IMAGE", "AAI_API_PORT"}
NOT_SETTINGS = COMPOSE_ONLY | {"AAI_DEBUG"}


def documented() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, flags=re.MULTILINE))


def test_the_four_services():
    assert set(SERVICES) == {"postgres", "migrate", "api", "scheduler"}
    assert set(image_services(SPEC)) == {"migrate", "api", "scheduler"}
    images = {service["image"] for service in image_services(SPEC).values()}
    assert len(images) == 1, "one image for every aai service"


def test_postgres_has_a_health_check_and_a_volume():
    postgres = SERVICES["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert "pgdata" in SPEC["volumes"]


def test_migrate_is_one_shot_and_runs_wait_upgrade_seed():
    migrate = SERVICES["migrate"]
    assert migrate["entrypoint"] == commands.SHELL_ENTRYPOINT
    assert migrate["command"] == [commands.MIGRATE_SCRIPT]
    assert commands.MIGRATE_SCRIPT == "aai db wait && aai db upgrade && aai db seed"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_api_and_scheduler_start_after_a_successful_migration():
    for name in ("api", "scheduler"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    api = SERVICES["api"]
    assert api["command"][0] == "serve"
    assert api["command"][api["command"].index("--port") + 1] == str(commands.API_PORT)
    assert any(port.endswith(f":{commands.API_PORT}") for port in api["ports"])
    assert "healthcheck" not in api, "the image's /healthz check applies"
    assert SERVICES["scheduler"]["command"] == commands.SCHEDULER_COMMAND
    for name in ("scheduler", "migrate"):
        assert SERVICES[name]["healthcheck"] == {"disable": True}, "they serve no HTTP"


def test_the_api_trusts_forwarded_addresses_from_the_compose_network_only():
    assert "--proxy-headers" in SERVICES["api"]["command"]
    (network,) = SPEC["networks"]["default"]["ipam"]["config"]
    assert network["subnet"] == "172.31.242.0/24"
    assert SERVICES["api"]["environment"]["FORWARDED_ALLOW_IPS"] == "172.31.242.0/24"


def test_settings_come_from_the_env_file_and_point_at_postgres():
    for service in image_services(SPEC).values():
        assert service["env_file"] == [".env"]
        env = service["environment"]
        assert env["DB_HOST"] == "postgres"
        assert env["DB_PASSWORD"].startswith("${POSTGRES_PASSWORD")
        assert env["LOG_FORMAT"] == "json"
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}


def test_env_example_documents_every_setting():
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented() == set(), "undocumented in deploy/.env.example"
    assert documented() - settings - NOT_SETTINGS == set(), "not a setting (typo?)"


def test_env_example_defines_every_variable_compose_interpolates():
    text = (DEPLOY / "compose.yaml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated == COMPOSE_ONLY
    assert interpolated <= documented()
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", text))
    assigned = set(re.findall(r"^([A-Z][A-Z0-9_]*)=\S", ENV_EXAMPLE, flags=re.MULTILINE))
    assert required <= assigned, "a copied .env.example starts compose"
