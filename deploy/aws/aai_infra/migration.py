"""Run the migration task during `cdk deploy`, before the services take the new image."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

HANDLER_SOURCE = Path(__file__).with_name("run_task_handler.py")


class MigrationRun(Construct):
    """A custom resource that runs `task_definition` once per new revision and waits.

    Make the services depend on it: they update only after the migration task exits 0.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        task_definition: ecs.FargateTaskDefinition,
        subnets: list[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        enabled: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_inline(HANDLER_SOURCE.read_text())
        on_event = self._function("OnEvent", code, "index.on_event")
        is_complete = self._function("IsComplete", code, "index.is_complete")
        task_definition.grant_run(on_event)
        is_complete.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeTasks"],
                resources=["*"],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            )
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=Duration.seconds(15),
            total_timeout=Duration.minutes(30),
        )
        self.resource = CustomResource(
            self,
            "Run",
            service_token=provider.service_token,
            resource_type="Custom::AaiMigration",
            properties={
                "Cluster": cluster.cluster_arn,
                "TaskDefinition": task_definition.task_definition_arn,
                "Subnets": [subnet.subnet_id for subnet in subnets],
                "SecurityGroups": [security_group.security_group_id],
                "Skip": "false" if enabled else "true",
            },
        )

    def _function(self, construct_id: str, code: lambda_.Code, handler: str) -> lambda_.Function:
        return lambda_.Function(
            self,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=code,
            handler=handler,
            timeout=Duration.minutes(1),
        )
