"""One image, two services: the API behind a load balancer and one scheduler, on RDS.

VPC (public, private-with-egress, isolated subnets) -> RDS PostgreSQL in the isolated
subnets with generated credentials in Secrets Manager -> an ECS cluster running
  - the migration task (run by `MigrationRun` before the services update),
  - the API: Fargate service behind an ALB (health check /readyz), autoscaled,
  - the scheduler: exactly one task.
All three use the same image and the same settings; secrets come from Secrets Manager.
"""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as sm
from constructs import Construct

from aai_infra import commands
from aai_infra.config import DeployConfig
from aai_infra.migration import MigrationRun

# container variable -> key of the RDS-generated secret (attached to the instance)
DB_SECRET_KEYS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}
# The application's own secrets share the auth0 secret: RECAPTCHA_SECRET is required in
# production (the API refuses to start without it).
AUTH0_SECRET_KEYS = (
    "AUTH0_MANAGEMENT_ID",
    "AUTH0_MANAGEMENT_SECRET",
    "JWT_SECRET_KEY",
    "RECAPTCHA_SECRET",
)
SMTP_SECRET_KEYS = ("SMTP_USER", "SMTP_PASSWORD")


class AaiStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetConfiguration(name="db", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )
        self.database = self._database()
        self.secrets = self._container_secrets()
        self.image = ecs.ContainerImage.from_ecr_repository(
            ecr.Repository.from_repository_name(self, "Repository", config.ecr_repository),
            tag=config.image_tag,
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        app_subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        migrate_task = self._task("Migrate", cpu=256, memory_mib=512)
        self._container(
            migrate_task,
            "migrate",
            command=[commands.MIGRATE_SCRIPT],
            entry_point=commands.SHELL_ENTRYPOINT,
        )
        migrate_sg = ec2.SecurityGroup(self, "MigrateSecurityGroup", vpc=self.vpc)
        self.migration = MigrationRun(
            self,
            "Migration",
            cluster=self.cluster,
            task_definition=migrate_task,
            subnets=app_subnets.subnets,
            security_group=migrate_sg,
            enabled=config.migrate,
        )

        self.api = self._api_service(app_subnets)
        self.scheduler = self._scheduler_service(app_subnets)
        for connectable in (migrate_sg, self.api.service, self.scheduler):
            self.database.connections.allow_default_port_from(connectable)
        self.api.service.node.add_dependency(self.migration.resource)
        self.scheduler.node.add_dependency(self.migration.resource)

        CfnOutput(self, "MigrationTaskDefinitionArn", value=migrate_task.task_definition_arn)
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "DatabaseSecretArn", value=self.database.secret.secret_arn)

    # --- state ------------------------------------------------------------------------

    def _database(self) -> rds.DatabaseInstance:
        config = self.config
        return rds.DatabaseInstance(
            self,
            "Database",
            engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_16),
            instance_type=ec2.InstanceType(config.db_instance_type),
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            credentials=rds.Credentials.from_generated_secret(
                "aai", secret_name=f"aai/{config.env_name}/db"
            ),
            database_name="aai",
            multi_az=config.db_multi_az,
            allocated_storage=config.db_allocated_storage_gib,
            max_allocated_storage=config.db_max_allocated_storage_gib,
            storage_encrypted=True,
            backup_retention=Duration.days(config.db_backup_days),
            deletion_protection=config.deletion_protection,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )

    def _container_secrets(self) -> dict[str, ecs.Secret]:
        db_secret = self.database.secret
        assert db_secret is not None
        secrets = {
            name: ecs.Secret.from_secrets_manager(db_secret, key)
            for name, key in DB_SECRET_KEYS.items()
        }
        auth0 = self._secret("Auth0Secret", "auth0", AUTH0_SECRET_KEYS, generate="JWT_SECRET_KEY")
        smtp = self._secret("SmtpSecret", "smtp", SMTP_SECRET_KEYS)
        secrets.update({k: ecs.Secret.from_secrets_manager(auth0, k) for k in AUTH0_SECRET_KEYS})
        secrets.update({k: ecs.Secret.from_secrets_manager(smtp, k) for k in SMTP_SECRET_KEYS})
        return secrets

    def _secret(
        self, construct_id: str, name: str, keys: tuple[str, ...], generate: str | None = None
    ) -> sm.ISecret:
        """An existing secret (complete ARN from context) or a new one to fill in after deploy."""
        arn = getattr(self.config, f"{name}_secret_arn")
        if arn:
            return sm.Secret.from_secret_complete_arn(self, construct_id, arn)
        placeholders = {key: "set-me" for key in keys if key != generate}
        secret = sm.Secret(
            self,
            construct_id,
            secret_name=f"aai/{self.config.env_name}/{name}",
            description=f"AAI {name} settings: JSON with keys {', '.join(keys)}",
            generate_secret_string=sm.SecretStringGenerator(
                secret_string_template=json.dumps(placeholders),
                generate_string_key=generate or "_generated",
                exclude_punctuation=True,
                password_length=48,
            ),
        )
        secret.apply_removal_policy(RemovalPolicy.RETAIN)
        return secret

    # --- compute ----------------------------------------------------------------------

    def _task(self, construct_id: str, *, cpu: int, memory_mib: int) -> ecs.FargateTaskDefinition:
        return ecs.FargateTaskDefinition(
            self,
            f"{construct_id}Task",
            cpu=cpu,
            memory_limit_mib=memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )

    def _container(
        self,
        task: ecs.FargateTaskDefinition,
        name: str,
        *,
        command: list[str],
        entry_point: list[str] | None = None,
        port: int | None = None,
        extra_environment: dict[str, str] | None = None,
    ) -> ecs.ContainerDefinition:
        log_group = logs.LogGroup(
            self,
            f"{name.capitalize()}Logs",
            log_group_name=f"/aai/{self.config.env_name}/{name}",
            retention=getattr(logs.RetentionDays, self.config.log_retention),
            removal_policy=RemovalPolicy.DESTROY,
        )
        environment = {**self.config.settings, "LOG_FORMAT": "json", **(extra_environment or {})}
        if self.config.settings.get("EMAIL_BACKEND") is None:
            environment["EMAIL_BACKEND"] = "smtp"
        return task.add_container(
            name,
            container_name=name,
            image=self.image,
            command=command,
            entry_point=entry_point,
            environment=environment,
            secrets=self.secrets,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=name, log_group=log_group),
            port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
            stop_timeout=Duration.seconds(30),
        )

    def _api_service(
        self, subnets: ec2.SelectedSubnets
    ) -> ecs_patterns.ApplicationLoadBalancedFargateService:
        config = self.config
        task = self._task("Api", cpu=config.api_cpu, memory_mib=config.api_memory_mib)
        self._container(
            task,
            "api",
            command=commands.api_command(config.api_workers),
            port=commands.API_PORT,
            # --proxy-headers: X-Forwarded-For entries added inside the VPC (the load
            # balancer's) are trusted; the client is the right-most address outside it
            extra_environment={"FORWARDED_ALLOW_IPS": self.vpc.vpc_cidr_block},
        )
        zone = None
        if config.hosted_zone_id and config.domain:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self,
                "Zone",
                hosted_zone_id=config.hosted_zone_id,
                zone_name=config.hosted_zone_name or config.domain,
            )
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Api",
            cluster=self.cluster,
            task_definition=task,
            # no desired count: a deployment keeps the count autoscaling chose
            task_subnets=ec2.SubnetSelection(subnets=subnets.subnets),
            public_load_balancer=True,
            certificate=(
                acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
                if config.https
                else None
            ),
            protocol=(
                elbv2.ApplicationProtocol.HTTPS if config.https else elbv2.ApplicationProtocol.HTTP
            ),
            redirect_http=config.https,
            domain_name=config.domain if zone else None,
            domain_zone=zone,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(60),
        )
        service.target_group.configure_health_check(
            path="/readyz",
            healthy_http_codes="200",
            interval=Duration.seconds(15),
            timeout=Duration.seconds(5),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        )
        service.target_group.set_attribute("deregistration_delay.timeout_seconds", "30")
        scaling = service.service.auto_scale_task_count(
            min_capacity=config.api_min_tasks, max_capacity=config.api_max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "CpuScaling", target_utilization_percent=config.api_cpu_target_percent
        )
        scaling.scale_on_request_count(
            "RequestScaling",
            requests_per_target=config.api_requests_per_target,
            target_group=service.target_group,
        )
        return service

    def _scheduler_service(self, subnets: ec2.SelectedSubnets) -> ecs.FargateService:
        config = self.config
        task = self._task(
            "Scheduler", cpu=config.scheduler_cpu, memory_mib=config.scheduler_memory_mib
        )
        self._container(task, "scheduler", command=commands.SCHEDULER_COMMAND)
        # Exactly one: stop the old task before starting the new one on every deployment
        # (the advisory locks would keep jobs single-run anyway).
        return ecs.FargateService(
            self,
            "Scheduler",
            cluster=self.cluster,
            task_definition=task,
            desired_count=1,
            min_healthy_percent=0,
            max_healthy_percent=100,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets.subnets),
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        )
