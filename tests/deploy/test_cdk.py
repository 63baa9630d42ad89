"""The CDK app synthesises offline; assertions on its CloudFormation template.

Needs the `deploy` extra (aws-cdk-lib, constructs) and node (jsii runs the CDK's JavaScript).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil

import pytest
from aai_infra import commands
from aai_infra.config import SECRET_VARIABLES

from tests.deploy.conftest import AWS_APP

CERTIFICATE = "arn:aws:acm:ap-southeast-2:123456789012:certificate/abc"
PROD = {
    "env": "prod",
    "image_tag": "abc123",
    "certificate_arn": CERTIFICATE,
    "hosted_zone_id": "Z0123456789",
    "hosted_zone_name": "biocommons.org.au",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> dict:
    """Synthesised once per run: xdist workers share it through a locked file."""
    pytest.importorskip(
        "aws_cdk", reason="aws-cdk-lib is not installed: `uv run --extra deploy` runs these"
    )
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the CDK (jsii) needs it to synthesise")
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    cached = shared / "cdk-template.json"
    with open(shared / "cdk-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            cached.write_text(json.dumps(synthesise(tmp_path_factory.mktemp("cdk.out"))))
    return json.loads(cached.read_text())


def synthesise(outdir) -> dict:  # type: ignore[no-untyped-def]
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from app import build_app

    context = json.loads((AWS_APP / "cdk.json").read_text())["context"]
    app = build_app({**context, **PROD}, outdir=str(outdir))
    (stack,) = app.synth().stacks
    assert stack.stack_name == "Aai-prod"
    return stack.template


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def containers(template: dict) -> dict[str, dict]:
    return {
        c["Name"]: c
        for task in resources(template, "AWS::ECS::TaskDefinition").values()
        for c in task["Properties"]["ContainerDefinitions"]
    }


def service_of(template: dict, container: str) -> dict:
    """The ECS service whose task definition runs `container`."""
    tasks = resources(template, "AWS::ECS::TaskDefinition")
    for service in resources(template, "AWS::ECS::Service").values():
        task = tasks[service["Properties"]["TaskDefinition"]["Ref"]]
        if task["Properties"]["ContainerDefinitions"][0]["Name"] == container:
            return service
    raise AssertionError(f"no service runs {container}")


def test_two_services_three_tasks_one_image(template):
    assert len(resources(template, "AWS::ECS::Service")) == 2
    assert set(containers(template)) == {"api", "scheduler", "migrate"}
    images = {json.dumps(c["Image"], sort_keys=True) for c in containers(template).values()}
    assert len(images) == 1
    assert "/aai-backend:abc123" in images.pop(), "the ECR repository and the image_tag"


def test_the_scheduler_runs_exactly_one_task(template):
    scheduler = service_of(template, "scheduler")["Properties"]
    assert scheduler["DesiredCount"] == 1
    assert scheduler["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert containers(template)["scheduler"]["Command"] == commands.SCHEDULER_COMMAND


def test_the_api_sits_behind_the_load_balancer_with_readyz(template):
    api = service_of(template, "api")["Properties"]
    (binding,) = api["LoadBalancers"]
    assert (binding["ContainerName"], binding["ContainerPort"]) == ("api", commands.API_PORT)
    assert "DesiredCount" not in api, "a deployment must not reset the autoscaled count"
    (group,) = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["Properties"]["HealthCheckPath"] == "/readyz"
    command = containers(template)["api"]["Command"]
    assert command == commands.api_command(2)
    assert "--proxy-headers" in command
    listeners = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert {(x["Properties"]["Port"], x["Properties"]["Protocol"]) for x in listeners} == {
        (443, "HTTPS"),
        (80, "HTTP"),
    }
    (record,) = resources(template, "AWS::Route53::RecordSet").values()
    assert record["Properties"]["Name"] == "aai-api.biocommons.org.au."


def test_the_api_trusts_forwarded_addresses_from_the_vpc_only(template):
    environment = {e["Name"]: e["Value"] for e in containers(template)["api"]["Environment"]}
    (vpc_id,) = resources(template, "AWS::EC2::VPC")
    # the load balancer's hops: never '*', which makes the client-written left end the key
    assert environment["FORWARDED_ALLOW_IPS"] == {"Fn::GetAtt": [vpc_id, "CidrBlock"]}


def test_the_api_autoscales_on_cpu_and_request_count(template):
    (target,) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (2, 8)
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}


def test_secrets_come_from_secrets_manager_never_plain_environment(template):
    secret_ids = set(resources(template, "AWS::SecretsManager::Secret")) | set(
        resources(template, "AWS::SecretsManager::SecretTargetAttachment")
    )
    for name, container in containers(template).items():
        plain = {e["Name"] for e in container.get("Environment", [])}
        assert not plain & SECRET_VARIABLES, name
        assert not any("PASSWORD" in p or "SECRET" in p for p in plain), name
        secrets = {s["Name"]: json.dumps(s["ValueFrom"]) for s in container["Secrets"]}
        assert set(secrets) == SECRET_VARIABLES - {"DB_URL"}, name
        for variable, value_from in secrets.items():
            assert any(f'"Ref": "{sid}"' in value_from for sid in secret_ids), variable
    (db,) = resources(template, "AWS::RDS::DBInstance").values()
    assert db["Properties"]["Engine"] == "postgres"
    assert db["Properties"]["StorageEncrypted"] is True
    assert "{{resolve:secretsmanager:" in json.dumps(db["Properties"]["MasterUserPassword"])


def test_the_migration_task_runs_before_the_services_update(template):
    migrate = containers(template)["migrate"]
    assert migrate["EntryPoint"] == commands.SHELL_ENTRYPOINT
    assert migrate["Command"] == [commands.MIGRATE_SCRIPT]
    (run_id, run), *_ = resources(template, "Custom::AaiMigration").items()
    assert run["Properties"]["Skip"] == "false"
    task_id = run["Properties"]["TaskDefinition"]["Ref"]
    task = template["Resources"][task_id]["Properties"]["ContainerDefinitions"][0]
    assert task["Name"] == "migrate"
    for container in ("api", "scheduler"):
        assert run_id in service_of(template, container)["DependsOn"]


def test_logs_go_to_cloudwatch(template):
    groups = {
        v["Properties"]["LogGroupName"]: v["Properties"]["RetentionInDays"]
        for v in resources(template, "AWS::Logs::LogGroup").values()
        if "LogGroupName" in v["Properties"]
    }
    assert groups == {f"/aai/prod/{name}": 180 for name in ("api", "scheduler", "migrate")}
    for container in containers(template).values():
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
