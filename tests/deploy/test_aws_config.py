"""The CDK app's plain-Python parts: context parsing and the migration handler's decisions."""

from __future__ import annotations

import json

import pytest
from aai_infra import run_task_handler
from aai_infra.config import DeployConfig

from tests.deploy.conftest import AWS_APP

CONTEXT = json.loads((AWS_APP / "cdk.json").read_text())["context"]


def config(**flat) -> DeployConfig:
    values = {**CONTEXT, **flat}
    return DeployConfig.from_context(values.get)


def test_environment_picks_its_sizes_and_flat_values_win():
    dev, prod = config(), config(env="prod")
    assert (dev.env_name, dev.api_min_tasks, dev.db_multi_az) == ("dev", 1, False)
    assert (prod.api_max_tasks, prod.db_multi_az, prod.deletion_protection) == (8, True, True)
    assert prod.settings["EMAIL_BACKEND"] == "smtp"
    # `cdk deploy -c api_max_tasks=12 -c db_multi_az=false` arrives as strings
    override = config(env="prod", api_max_tasks="12", db_multi_az="false", migrate="false")
    assert (override.api_max_tasks, override.db_multi_az, override.migrate) == (12, False, False)
    assert dev.migrate is True


def test_settings_json_from_the_command_line():
    parsed = config(settings='{"AUTH0_DOMAIN": "t.au.auth0.com", "SMTP_PORT": 465}')
    assert parsed.settings == {"AUTH0_DOMAIN": "t.au.auth0.com", "SMTP_PORT": "465"}


@pytest.mark.parametrize("name", ["DB_PASSWORD", "AUTH0_MANAGEMENT_SECRET", "SOME_API_KEY"])
def test_secrets_are_refused_as_plain_settings(name):
    with pytest.raises(ValueError, match=name):
        config(settings={name: "x"})


def test_bad_sizes_and_names_are_refused():
    with pytest.raises(ValueError, match="api_min_tasks"):
        config(api_min_tasks="5", api_max_tasks="2")
    with pytest.raises(ValueError, match="env_name"):
        config(env="Prod_1")


def _event(kind: str, new: int, old: int | None = None) -> dict:
    arn = "arn:aws:ecs:ap-southeast-2:1:task-definition/AaiMigrate:{}"
    event = {"RequestType": kind, "ResourceProperties": {"TaskDefinition": arn.format(new)}}
    if old is not None:
        event["OldResourceProperties"] = {"TaskDefinition": arn.format(old)}
    return event


def test_migration_runs_on_create_and_each_new_revision_but_not_on_rollback():
    assert run_task_handler.should_run(_event("Create", 1))
    assert run_task_handler.should_run(_event("Update", 8, old=7))
    assert not run_task_handler.should_run(_event("Update", 7, old=8)), "a rollback"
    assert not run_task_handler.should_run(_event("Delete", 8))
    redeploy_old_image = _event("Update", 9, old=8)
    redeploy_old_image["ResourceProperties"]["Skip"] = "true"  # -c migrate=false
    assert not run_task_handler.should_run(redeploy_old_image)


def test_skipped_runs_complete_without_calling_aws():
    skipped = run_task_handler.on_event(
        {**_event("Update", 3, old=4), "PhysicalResourceId": "t"}, None
    )
    assert skipped == {"PhysicalResourceId": "t", "Data": {"Skipped": "true"}}
    assert run_task_handler.is_complete({**_event("Update", 3, old=4), **skipped}, None) == {
        "IsComplete": True
    }
