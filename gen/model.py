"""The model: every value of the generated module decided, as plain data for the templates.

`build(team)` turns a validated `TeamConfig` into a `Module`. Each block the templates write
(resource, data source, variable, output, `locals`, `terraform`) is a `Decl`: its address and
the values Python decided for it (names, counts, environment, policy statements, ...). The
templates in `templates/` hold the Terraform's shape and place these values through the `hcl`
filter; `gen.verify` parses the output back and finds every value of every `Decl` where `at`
says it belongs. Names come from `gen.names`, so the validator has already checked each against
its AWS limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from gen import __version__
from gen.hcl import Expr, Heredoc, identifier, interpolate
from gen.load import spec_label
from gen.names import RDZV_PORT, JobNames, job_names, team_names
from gen.validate import (
    LOG_RETENTION_DAYS,
    MAX_NODES,
    MODULE_TAGS,
    TAG_LIMIT,
    TAG_RULE,
    Ec2Compute,
    FargateCompute,
    JobConfig,
    S3Location,
    TeamConfig,
)

if TYPE_CHECKING:
    from gen.completion import JobCompletion, TeamNotifications

__all__ = ["PRESENT", "Decl", "JobView", "Module", "build"]

TERRAFORM_VERSION = ">= 1.5.7"
AWS_PROVIDER_VERSION = ">= 5.100, < 7.0"  # validated here with 5.100; 6.x by schema review
GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
INSTANCE_ROLE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"
CONTAINER = "trainer"
RDZV_JOIN_TIMEOUT = 1800  # GPU capacity starts from zero: instances boot and pull large images
# Workers retry the leader's store this long. While a replaced leader's name is unregistered,
# the VPC resolver caches NXDOMAIN for minutes (not the record's 10 s TTL).
WORKER_READ_TIMEOUT = 900
# The trainer is restarted inside its task (same IP, same Cloud Map record) when it exits
# non-zero after running at least this long; an earlier exit stops the task. Exit 0 is not
# restarted: it ends the job (or, with keep_running, the service starts a new task).
RESTART_ATTEMPT_PERIOD = 300
# Set for every job, overridable through `env`.
DEFAULT_ENV = {"PYTHONUNBUFFERED": "1"}
GPU_ENV = {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
EFA_ENV = {"FI_PROVIDER": "efa", "FI_EFA_FORK_SAFE": "1", "NCCL_DEBUG": "WARN"}
ULIMITS = (("memlock", -1, -1), ("nofile", 1048576, 1048576), ("stack", 67108864, 67108864))
ECS_EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
CHECKPOINT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)

ACCOUNT = Expr("data.aws_caller_identity.current.account_id")
PARTITION = Expr("data.aws_partition.current.partition")


class _Present:
    """A value the model requires to exist without deciding it (a `locals` entry whose
    expression is the template's)."""

    def __repr__(self) -> str:
        return "PRESENT"


PRESENT = _Present()


@dataclass(frozen=True, slots=True)
class Decl:
    """One block the templates write, and the values the model decided for it.

    `kind` is the block type (`resource`, `data`, `variable`, `output`, `locals`, `terraform`),
    `rtype` and `label` its labels. Templates read a value as an attribute (`role.name`);
    `at` says where in the parsed block a value must be found when that differs from its key
    (dotted; digits index nested blocks: `lifecycle.0.postcondition.0.condition`).
    """

    kind: str
    rtype: str = ""
    label: str = ""
    args: Mapping[str, object] = field(default_factory=dict)
    at: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label in (self.rtype, self.label):
            if label:
                identifier(label)  # templates place labels as they are: they must be safe

    def __getattr__(self, key: str) -> object:
        if key in ("args", "at") or key.startswith("__"):
            raise AttributeError(key)
        try:
            return self.args[key]
        except KeyError:
            raise AttributeError(f"{self.address} has no value {key!r}") from None

    @property
    def address(self) -> str:
        """The block's Terraform address (`locals` and `terraform` blocks have none)."""
        if self.kind == "resource":
            return f"{self.rtype}.{self.label}"
        if self.kind == "data":
            return f"data.{self.rtype}.{self.label}"
        if self.kind == "variable":
            return f"var.{self.label}"
        if self.kind == "output":
            return f"output.{self.label}"
        return self.kind


def resource(rtype: str, label: str, at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("resource", rtype, label, args, at or {})


def data(rtype: str, label: str, at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("data", rtype, label, args, at or {})


def local_values(at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("locals", args=args, at=at or {})


@dataclass(frozen=True, slots=True)
class JobView:
    """One job's file (`job_<name>.tf`): the facts about the job and its blocks by concern."""

    config: JobConfig
    names: JobNames
    file: str
    tags: Decl
    execution_policy: Decl
    execution_role: Decl
    execution_role_policy: Decl
    task_policy: Decl
    task_role: Decl
    task_role_policy: Decl
    log_group: Decl
    security_group: Decl
    nodes_rules: tuple[Decl, ...]
    https_rule: Decl
    capacity: CapacityView | None
    discovery: Decl
    containers: Decl
    task_definitions: tuple[Decl, ...]
    services: tuple[Decl, ...]
    variables: tuple[Decl, ...]
    outputs: tuple[Decl, ...]
    completion: JobCompletion  # placed by templates/job/completion.tf.j2

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ident(self) -> str:
        return self.names.ident

    @property
    def decls(self) -> tuple[Decl, ...]:
        """Every block of the job's file, in file order."""
        capacity = self.capacity.decls if self.capacity else ()
        return (
            self.tags,
            self.execution_policy,
            self.execution_role,
            self.execution_role_policy,
            self.task_policy,
            self.task_role,
            self.task_role_policy,
            self.log_group,
            self.security_group,
            *self.nodes_rules,
            self.https_rule,
            *capacity,
            self.discovery,
            self.containers,
            *self.task_definitions,
            *self.services,
            *self.completion.decls,
        )


@dataclass(frozen=True, slots=True)
class CapacityView:
    """An EC2 job's GPU capacity: launch template, Auto Scaling group, capacity provider."""

    instance_type: str
    user_data: Decl
    placement_group: Decl | None
    launch_template: Decl
    autoscaling_group: Decl
    capacity_provider: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        group = (self.placement_group,) if self.placement_group else ()
        return (
            self.user_data,
            *group,
            self.launch_template,
            self.autoscaling_group,
            self.capacity_provider,
        )


@dataclass(frozen=True, slots=True)
class InstanceView:
    """The team's shared EC2 pieces: instance role and profile, GPU AMI, capacity providers."""

    assume_policy: Decl
    role: Decl
    role_attachment: Decl
    profile: Decl
    gpu_ami: Decl
    ami: Decl
    capacity_providers: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        return (
            self.assume_policy,
            self.role,
            self.role_attachment,
            self.profile,
            self.gpu_ami,
            self.ami,
            self.capacity_providers,
        )


@dataclass(frozen=True, slots=True)
class Module:
    """Everything the templates place for one team."""

    team: TeamConfig
    generator: str
    spec: str
    versions: Decl
    network_variables: tuple[Decl, ...]
    operations_variables: tuple[Decl, ...]
    capacity_variables: tuple[Decl, ...]
    shared: Decl
    identity: tuple[Decl, ...]
    ecs_tasks_assume: Decl
    cluster: Decl
    vpc: Decl
    namespace: Decl
    instance: InstanceView | None
    cluster_outputs: tuple[Decl, ...]
    jobs: tuple[JobView, ...]
    notifications: TeamNotifications  # placed by templates/notifications.tf.j2
    templates: str | None = None  # the override folder, as the header names it
    overrides: tuple[str, ...] = ()  # the templates in it (`job/iam.tf.j2`), sorted

    @property
    def files(self) -> tuple[str, ...]:
        """The files this module consists of, in the order they are rendered."""
        fixed = ("versions.tf", "variables.tf", "main.tf")
        return (*fixed, *(j.file for j in self.jobs), "outputs.tf", "README.md")

    @property
    def variables(self) -> tuple[Decl, ...]:
        team = (*self.network_variables, *self.operations_variables, *self.capacity_variables)
        return (*team, *(v for j in self.jobs for v in j.variables))

    @property
    def outputs(self) -> tuple[Decl, ...]:
        return (*self.cluster_outputs, *(o for j in self.jobs for o in j.outputs))

    def decls(self) -> dict[str, tuple[Decl, ...]]:
        """Every block of every `.tf` file, by file name: what parse-back must find."""
        instance = self.instance.decls if self.instance else ()
        files = {
            "versions.tf": (self.versions,),
            "variables.tf": self.variables,
            "main.tf": (
                self.shared,
                *self.identity,
                self.ecs_tasks_assume,
                self.cluster,
                self.vpc,
                self.namespace,
                *instance,
                *self.notifications.decls,
            ),
        }
        files.update({job.file: job.decls for job in self.jobs})
        files["outputs.tf"] = self.outputs
        return files


# -- small builders ---------------------------------------------------------------------------


def ref(*parts: str) -> Expr:
    return Expr(".".join(parts))


_NO_DEFAULT = object()


def variable(
    name: str,
    type_: str,
    description: str,
    default: object = _NO_DEFAULT,
    validations: Sequence[tuple[str, str]] = (),
    nullable: bool | None = None,
) -> Decl:
    args: dict[str, object] = {"description": description, "type": Expr(type_)}
    if default is not _NO_DEFAULT:
        args["default"] = default
    if nullable is not None:
        args["nullable"] = nullable
    args["validation"] = [
        {"condition": Expr(cond), "error_message": message} for cond, message in validations
    ]
    return Decl("variable", label=name, args=args)


def output(name: str, description: str, value: object) -> Decl:
    return Decl("output", label=name, args={"description": description, "value": value})


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[object],
    conditions: Sequence[tuple[str, str, Sequence[object]]] = (),
    principals: Sequence[tuple[str, Sequence[str]]] = (),
) -> dict[str, object]:
    """One IAM policy statement (always `Allow`), keyed as the `statement` block's arguments."""
    body: dict[str, object] = {"sid": sid, "actions": sorted(actions)}
    if resources:
        body["resources"] = list(resources)
    body["principals"] = [{"type": kind, "identifiers": list(ids)} for kind, ids in principals]
    body["condition"] = [
        {"test": test, "variable": var, "values": list(values)} for test, var, values in conditions
    ]
    return body


def _arn(service: str, resource_: str, region: str = "", account: bool = True) -> Expr:
    """An ARN with the partition (and account) taken from the provider's identity."""
    parts: list[str | Expr] = ["arn:", PARTITION, f":{service}:{region}:"]
    if account:
        parts.append(ACCOUNT)
    parts.append(f":{resource_}")
    return interpolate(*parts)


# -- the team ---------------------------------------------------------------------------------


def _versions() -> Decl:
    return Decl(
        "terraform",
        args={
            "required_version": TERRAFORM_VERSION,
            "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION},
        },
        at={"aws": "required_providers.0.aws"},
    )


def _network_variables(team: TeamConfig) -> tuple[Decl, ...]:
    subnets_default = list(team.subnet_ids) if team.subnet_ids else _NO_DEFAULT
    vpc_default = team.vpc_id if team.vpc_id else _NO_DEFAULT
    return (
        variable(
            "vpc_id",
            "string",
            "VPC the training tasks run in. It needs DNS support "
            "and DNS hostnames enabled (Cloud Map private DNS).",
            vpc_default,
        ),
        variable(
            "subnet_ids",
            "list(string)",
            "Private subnets for the training tasks (Fargate jobs and EC2 jobs without EFA).",
            subnets_default,
            [("length(var.subnet_ids) > 0", "Give at least one subnet.")],
            nullable=False,
        ),
        variable(
            "assign_public_ip",
            "bool",
            "Give Fargate tasks a public IP. Only for "
            "subnets without a NAT gateway; private subnets are the better choice.",
            False,
            nullable=False,
        ),
        variable(
            "egress_cidr_blocks",
            "list(string)",
            "Where tasks may open HTTPS "
            "connections (ECR, S3, CloudWatch Logs, Secrets Manager, experiment "
            "trackers). Traffic between a job's nodes is always allowed.",
            ["0.0.0.0/0"],
            nullable=False,
        ),
    )


def _operations_variables(team: TeamConfig) -> tuple[Decl, ...]:
    retention = ", ".join(map(str, LOG_RETENTION_DAYS))
    return (
        variable(
            "log_retention_days",
            "number",
            "Days CloudWatch keeps the training logs.",
            team.log_retention_days,
            [
                (
                    f"contains([{retention}], var.log_retention_days)",
                    f"CloudWatch Logs accepts one of: {retention}.",
                )
            ],
            nullable=False,
        ),
        variable(
            "enable_execute_command",
            "bool",
            "Allow `aws ecs execute-command` into "
            "the training containers (ECS Exec). Off unless you are debugging.",
            False,
            nullable=False,
        ),
        variable(
            "tags",
            "map(string)",
            "Tags added to every resource, on top of the spec's tags.",
            {},
            [
                (
                    f"length(var.tags) <= {TAG_LIMIT - MODULE_TAGS - len(team.tags)}",
                    f"AWS allows {TAG_LIMIT} tags per resource; the spec and ecsgen use "
                    f"{MODULE_TAGS + len(team.tags)}.",
                ),
                (
                    "alltrue([for k, v in var.tags : "
                    'can(regex("^[\\\\p{L}\\\\p{Z}\\\\p{N}_.:/=+@-]*$", "${k}${v}"))])',
                    f"Tags may only hold {TAG_RULE}.",
                ),
                (
                    'alltrue([for k in keys(var.tags) : k != "AmazonECSManaged" && '
                    '!startswith(k, "ecsgen:")])',
                    "AmazonECSManaged and ecsgen:* tags are set by the module.",
                ),
            ],
            nullable=False,
        ),
    )


def _capacity_variables() -> tuple[Decl, ...]:
    return (
        variable(
            "ami_id",
            "string",
            "AMI for the GPU instances. null takes the latest "
            "Amazon ECS GPU-optimized Amazon Linux 2023 AMI from the public SSM "
            f"parameter {GPU_AMI_PARAMETER}.",
            None,
        ),
    )


def _cluster(team: TeamConfig) -> Decl:
    return resource(
        "aws_ecs_cluster",
        "this",
        name=team_names(team.name).cluster,
        region_check=Expr(f'split(":", self.arn)[3] == "{team.region}"'),
        region_message=f"This module is for {team.region}: configure the aws provider "
        "for that region (container logs and the roles' trust conditions name it).",
        at={
            "region_check": "lifecycle.0.postcondition.0.condition",
            "region_message": "lifecycle.0.postcondition.0.error_message",
        },
    )


def _instance(team: TeamConfig, ec2_jobs: Sequence[JobConfig]) -> InstanceView:
    names = team_names(team.name)
    idents = [job_names(team.name, j.name).ident for j in ec2_jobs]
    return InstanceView(
        assume_policy=data(
            "aws_iam_policy_document",
            "ec2_assume",
            statements=[
                statement(
                    "Ec2Assume",
                    ["sts:AssumeRole"],
                    [],
                    principals=[("Service", ["ec2.amazonaws.com"])],
                )
            ],
            at={"statements": "statement"},
        ),
        role=resource(
            "aws_iam_role",
            "instance",
            name=names.instance_role,
            description=f"ECS container instances of team {team.name}",
        ),
        role_attachment=resource(
            "aws_iam_role_policy_attachment",
            "instance",
            policy_arn=interpolate("arn:", PARTITION, f":iam::aws:policy/{INSTANCE_ROLE_POLICY}"),
        ),
        profile=resource("aws_iam_instance_profile", "instance", name=names.instance_profile),
        gpu_ami=data("aws_ssm_parameter", "gpu_ami", name=GPU_AMI_PARAMETER),
        ami=local_values(ami_id=PRESENT),
        capacity_providers=resource(
            "aws_ecs_cluster_capacity_providers",
            "this",
            capacity_providers=[ref("aws_ecs_capacity_provider", i, "name") for i in idents],
        ),
    )


# -- a job ------------------------------------------------------------------------------------


def _nodes_expr(job: JobConfig, names: JobNames) -> Expr:
    var = ref("var", f"{names.ident}_nodes")
    if job.elastic:
        return interpolate(f"{job.min_nodes}:", var)
    return Expr(f"tostring({var.text})")


def _environment(
    job: JobConfig,
    team: TeamConfig,
    names: JobNames,
    leader: bool,
) -> list[dict[str, object]]:
    env: dict[str, object] = dict(DEFAULT_ENV)
    # ECS on EC2 does not set them and tasks cannot reach instance metadata: without them boto3
    # raises NoRegionError (SSM, Secrets Manager) or S3 silently uses us-east-1.
    env.update({"AWS_REGION": team.region, "AWS_DEFAULT_REGION": team.region})
    if isinstance(job.compute, Ec2Compute):
        env.update(GPU_ENV)
        if job.compute.efa:
            env.update(EFA_ENV)
    env.update(job.env)  # the team's own values win over the defaults above
    endpoint_host = "localhost" if leader else names.rendezvous_host
    conf = (
        f"is_host=1,join_timeout={RDZV_JOIN_TIMEOUT}"
        if leader
        else f"is_host=0,join_timeout={RDZV_JOIN_TIMEOUT},read_timeout={WORKER_READ_TIMEOUT}"
    )
    env.update(
        {
            "PET_NNODES": _nodes_expr(job, names),
            "PET_NPROC_PER_NODE": str(job.processes_per_node),
            "PET_RDZV_BACKEND": "c10d",
            "PET_RDZV_ENDPOINT": f"{endpoint_host}:{RDZV_PORT}",
            "PET_RDZV_ID": names.rendezvous_id,
            "PET_RDZV_CONF": conf,
            "PET_MAX_RESTARTS": str(job.max_restarts),
            "ECSGEN_TEAM": team.name,
            "ECSGEN_JOB": job.name,
            "ECSGEN_ROLE": "leader" if leader else "worker",
        }
    )
    if job.checkpoints:
        env["ECSGEN_CHECKPOINT_URI"] = job.checkpoints.uri
    if job.datasets:
        env["ECSGEN_DATASET_URIS"] = ",".join(d.uri for d in job.datasets)
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _container(job: JobConfig, team: TeamConfig, names: JobNames, role: str) -> dict[str, object]:
    """The container definition, keyed as in the ECS API (the template writes it as an HCL
    object passed through `jsonencode`)."""
    separator = "@" if job.image_is_digest else ":"
    image = interpolate(
        f"{job.image_repository}{separator}", ref("var", f"{names.ident}_image_tag")
    )
    linux: dict[str, object] = {"initProcessEnabled": True}
    container: dict[str, object] = {
        "name": CONTAINER,
        "image": image,
        "command": ["torchrun", *job.command],
        "environment": _environment(job, team, names, leader=role == "leader"),
        "secrets": [{"name": k, "valueFrom": v} for k, v in job.secrets],
    }
    compute = job.compute
    if isinstance(compute, Ec2Compute):
        linux["sharedMemorySize"] = compute.shm_mib
        if compute.efa:
            linux["devices"] = [
                {
                    "hostPath": f"/dev/infiniband/uverbs{i}",
                    "containerPath": f"/dev/infiniband/uverbs{i}",
                    "permissions": ["read", "write", "mknod"],  # ECS's enum spelling
                }
                for i in range(compute.instance.efa_interfaces)
            ]
        container["resourceRequirements"] = [{"type": "GPU", "value": str(compute.instance.gpus)}]
        container["ulimits"] = [
            {"name": n, "softLimit": soft, "hardLimit": hard} for n, soft, hard in ULIMITS
        ]
    container["linuxParameters"] = linux
    container["restartPolicy"] = {
        "enabled": True,
        "ignoredExitCodes": [0],
        "restartAttemptPeriod": RESTART_ATTEMPT_PERIOD,
    }
    container["stopTimeout"] = job.stop_timeout
    container["logConfiguration"] = {
        "options": {"awslogs-region": team.region, "awslogs-stream-prefix": role},
    }
    return container


ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\."
    r"(?:amazonaws\.com(?:\.cn)?|on\.aws)"
)


def _ecr_repository_arn(job: JobConfig) -> tuple[str, str, str] | None:
    """(region, account, repository) when the image lives in a private ECR registry
    (standard, FIPS or dual-stack endpoint)."""
    host, _, repository = job.image_repository.partition("/")
    match = ECR_HOST.fullmatch(host)
    if match and repository:
        return match["region"], match["account"], repository
    return None


def _execution_statements(job: JobConfig, names: JobNames) -> list[dict[str, object]]:
    # The log group ARN with `:*`, the form CloudWatch Logs documents for IAM policies: it covers
    # CreateLogStream (on the group) and PutLogEvents (on its streams).
    log_arn = interpolate(ref("aws_cloudwatch_log_group", names.ident, "arn"), ":*")
    statements = [statement("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_arn])]
    ecr = _ecr_repository_arn(job)
    if ecr:
        region, account, repository = ecr
        statements.append(statement("EcrAuth", ["ecr:GetAuthorizationToken"], ["*"]))
        statements.append(
            statement(
                "PullImage",
                [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                [
                    interpolate(
                        "arn:", PARTITION, f":ecr:{region}:{account}:repository/{repository}"
                    )
                ],
            )
        )
    manager = [arn for _, arn in job.secrets if ":secretsmanager:" in arn]
    parameters = [arn for _, arn in job.secrets if ":ssm:" in arn]
    if manager:
        statements.append(
            statement("ReadSecrets", ["secretsmanager:GetSecretValue"], sorted(set(manager)))
        )
    if parameters:
        statements.append(
            statement("ReadParameters", ["ssm:GetParameters"], sorted(set(parameters)))
        )
    return statements


def _bucket_statements(
    sid: str,
    locations: Sequence[S3Location],
    object_actions: Sequence[str],
) -> list[dict[str, object]]:
    statements: list[dict[str, object]] = []
    ordered = sorted(set(locations), key=lambda s: (s.bucket, s.prefix))
    for index, (bucket, group) in enumerate(groupby(ordered, key=lambda s: s.bucket)):
        prefixes = [s.prefix for s in group]
        bucket_arn = interpolate("arn:", PARTITION, f":s3:::{bucket}")
        whole = "" in prefixes
        conditions = [] if whole else [("StringLike", "s3:prefix", [f"{p}*" for p in prefixes])]
        objects = [
            interpolate("arn:", PARTITION, f":s3:::{bucket}/{p}*")
            for p in ([""] if whole else prefixes)
        ]
        suffix = str(index) if index else ""
        statements.append(
            statement(f"List{sid}{suffix}", ["s3:ListBucket"], [bucket_arn], conditions=conditions)
        )
        statements.append(statement(f"Objects{sid}{suffix}", object_actions, objects))
    return statements


def _task_statements(job: JobConfig) -> list[dict[str, object]]:
    statements = _bucket_statements("Datasets", job.datasets, ["s3:GetObject"])
    if job.checkpoints:
        statements += _bucket_statements("Checkpoints", [job.checkpoints], CHECKPOINT_ACTIONS)
    return statements


def _iam(job: JobConfig, team: TeamConfig, names: JobNames) -> dict[str, Decl]:
    ident = names.ident
    task_statements = _task_statements(job)
    task_policy_args: dict[str, object] = {"name": "task"}
    if not task_statements:  # only ECS Exec could need a policy
        task_policy_args["count"] = Expr("var.enable_execute_command ? 1 : 0")
    return {
        "execution_policy": data(
            "aws_iam_policy_document",
            f"{ident}_execution",
            statements=_execution_statements(job, names),
            at={"statements": "statement"},
        ),
        "execution_role": resource(
            "aws_iam_role",
            f"{ident}_execution",
            name=names.execution_role,
            description=f"ECS pulls the image, writes logs and reads secrets of "
            f"{team.name}/{job.name} with this role",
        ),
        "execution_role_policy": resource(
            "aws_iam_role_policy", f"{ident}_execution", name="execution"
        ),
        "task_policy": data(
            "aws_iam_policy_document",
            f"{ident}_task",
            statements=task_statements,
            exec_statement=statement("EcsExec", ECS_EXEC_ACTIONS, ["*"]),
            at={"statements": "statement", "exec_statement": "dynamic.0.statement.content.0"},
        ),
        "task_role": resource(
            "aws_iam_role",
            f"{ident}_task",
            name=names.task_role,
            description=f"The training code of {team.name}/{job.name} runs with this role",
        ),
        "task_role_policy": Decl(
            "resource", "aws_iam_role_policy", f"{ident}_task", task_policy_args
        ),
    }


def _task_definition(job: JobConfig, names: JobNames, role: str, family: str) -> Decl:
    compute = job.compute
    constraints = []
    if isinstance(compute, Ec2Compute):
        constraints = [{"expression": f"attribute:ecs.instance-type == {compute.instance.name}"}]
    return resource(
        "aws_ecs_task_definition",
        f"{names.ident}_{role}",
        family=family,
        requires_compatibilities=["FARGATE" if isinstance(compute, FargateCompute) else "EC2"],
        cpu=str(compute.cpu),
        memory=str(compute.memory),
        container=f"{names.ident}_{role}",
        placement_constraints=constraints,
        at={"container": ""},
    )


def _service(job: JobConfig, names: JobNames, role: str) -> Decl:
    leader = role == "leader"
    compute = job.compute
    args: dict[str, object] = {
        "name": names.leader_service if leader else names.workers_service,
        "desired_count": _desired(job, names, leader),
        "task_definition": ref("aws_ecs_task_definition", f"{names.ident}_{role}", "arn"),
        "fargate": isinstance(compute, FargateCompute),
        "subnets": _subnets(job, names),
        "leader": leader,
    }
    return Decl(
        "resource",
        "aws_ecs_service",
        f"{names.ident}_leader" if leader else f"{names.ident}_workers",
        args,
        at={"subnets": "network_configuration.0.subnets", "fargate": "", "leader": ""},
    )


def _desired(job: JobConfig, names: JobNames, leader: bool) -> Expr:
    nodes = f"var.{names.ident}_nodes"
    desired = f"min({nodes}, 1)" if leader else f"max({nodes} - 1, 0)"
    if job.keep_running:
        return Expr(desired)
    # A finished or failed run stays at 0 until the run id changes.
    return Expr(f"local.{names.ident}_ended ? 0 : {desired}")


def _subnets(job: JobConfig, names: JobNames) -> Expr:
    compute = job.compute
    efa = isinstance(compute, Ec2Compute) and compute.efa
    return ref("var", f"{names.ident}_subnet_ids") if efa else ref("var", "subnet_ids")


def _capacity(
    job: JobConfig, team: TeamConfig, names: JobNames, compute: Ec2Compute
) -> CapacityView:
    ident = names.ident
    user_data_lines = [
        "#!/bin/bash",
        "cat <<'EOF' >> /etc/ecs/ecs.config",
        "ECS_CLUSTER=%s",  # the cluster resource's name, placed by format() in the template
        "ECS_AWSVPC_BLOCK_IMDS=true",
        f"ECS_CONTAINER_STOP_TIMEOUT={job.stop_timeout}s",
        *(["ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"] if compute.spot else []),
        "EOF",
    ]
    interfaces = (
        [
            {"device_index": 0 if index == 0 else 1, "network_card_index": index}
            for index in range(compute.instance.efa_interfaces)
        ]
        if compute.efa
        else []
    )
    return CapacityView(
        instance_type=compute.instance.name,
        user_data=local_values(
            user_data=Heredoc("\n".join(user_data_lines) + "\n"),
            at={"user_data": f"{ident}_user_data"},
        ),
        placement_group=(
            resource("aws_placement_group", ident, name=names.placement_group)
            if compute.efa
            else None
        ),
        launch_template=resource(
            "aws_launch_template",
            ident,
            name=names.launch_template,
            description=f"GPU instances ({compute.instance.name}) of {team.name}/{job.name}",
            instance_type=compute.instance.name,
            efa_interfaces=interfaces,
            at={"efa_interfaces": "network_interfaces"},
        ),
        autoscaling_group=resource(
            "aws_autoscaling_group",
            ident,
            name=names.autoscaling_group,
            max_size=Expr(f"max(var.{ident}_nodes, 1)"),
            vpc_zone_identifier=_subnets(job, names),
            spot=compute.spot,
            efa=compute.efa,
            name_tag=names.prefix,
            at={"spot": "", "efa": "", "name_tag": ""},
        ),
        capacity_provider=resource(
            "aws_ecs_capacity_provider",
            ident,
            name=names.capacity_provider,
            # EFA: launch all nodes at once into the placement group.
            min_step=Expr(f"max(var.{ident}_nodes, 1)") if compute.efa else 1,
            max_step=Expr(f"max(var.{ident}_nodes, 1)"),
            at={
                "min_step": "auto_scaling_group_provider.0.managed_scaling.0."
                "minimum_scaling_step_size",
                "max_step": "auto_scaling_group_provider.0.managed_scaling.0."
                "maximum_scaling_step_size",
            },
        ),
    )


def _job_variables(job: JobConfig, team: TeamConfig, names: JobNames) -> tuple[Decl, ...]:
    ident = names.ident
    version_kind = "digest (sha256:...)" if job.image_is_digest else "tag"
    nodes = f"var.{ident}_nodes"
    whole = f"floor({nodes}) == {nodes}"
    if job.elastic:
        nodes_checks = [
            (
                f"{whole} && ({nodes} == 0 || {nodes} >= {job.min_nodes}) && "
                f"{nodes} <= {MAX_NODES}",
                f"Run 0 (stopped) or a whole number of nodes from {job.min_nodes} to {MAX_NODES}.",
            )
        ]
        nodes_text = (
            f"Nodes (tasks) to run, 0 to stop the job. The job is elastic: training "
            f"goes on while at least {job.min_nodes} are up."
        )
    else:
        nodes_checks = [
            (
                f"{whole} && {nodes} >= 0 && {nodes} <= {MAX_NODES}",
                f"Run 0 (stopped) or a whole number of nodes, at most {MAX_NODES}.",
            )
        ]
        nodes_text = "Nodes (tasks) of the job: one leader and nodes - 1 workers; 0 stops the job."
    variables = [
        variable(
            f"{ident}_image_tag",
            "string",
            f"Image {version_kind} of {job.image_repository} for job {job.name}.",
            job.image_version,
            nullable=False,
        ),
        variable(
            f"{ident}_nodes", "number", nodes_text, job.max_nodes, nodes_checks, nullable=False
        ),
    ]
    if not job.keep_running:
        variables.append(
            variable(
                f"{ident}_run",
                "string",
                f"Run id of job {job.name}. The job ends by itself when its leader exits 0 (or "
                "keeps failing) and stays ended for this id; set a new id and apply to run it "
                "again.",
                "1",
                [
                    (
                        f'can(regex("^[A-Za-z0-9._-]{{1,64}}$", var.{ident}_run))',
                        "Use 1-64 letters, digits, '.', '_' or '-'.",
                    )
                ],
                nullable=False,
            )
        )
    compute = job.compute
    if isinstance(compute, Ec2Compute):
        variables.append(
            variable(
                f"{ident}_root_volume_gib",
                "number",
                "Size of each instance's encrypted root volume (images, scratch).",
                compute.root_volume_gib,
                [(f"var.{ident}_root_volume_gib >= 30", "The GPU AMI needs at least 30 GiB.")],
                nullable=False,
            )
        )
        if compute.efa:
            chosen = compute.subnet_ids or team.subnet_ids
            variables.append(
                variable(
                    f"{ident}_subnet_ids",
                    "list(string)",
                    "The one subnet (one Availability "
                    "Zone) of the EFA job: EFA traffic cannot cross AZs and the cluster placement "
                    "group lives in one.",
                    list(chosen) if chosen else _NO_DEFAULT,
                    [
                        (
                            f"length(var.{ident}_subnet_ids) == 1",
                            "EFA needs exactly one subnet (one Availability Zone).",
                        )
                    ],
                    nullable=False,
                )
            )
    return tuple(variables)


def _job_outputs(job: JobConfig, names: JobNames) -> tuple[Decl, ...]:
    ident = names.ident
    outputs = [
        output(
            f"{ident}_services",
            f"ECS services of job {job.name} (leader, workers).",
            {
                "leader": ref("aws_ecs_service", f"{ident}_leader", "name"),
                "workers": ref("aws_ecs_service", f"{ident}_workers", "name"),
            },
        ),
        output(
            f"{ident}_rendezvous_endpoint",
            "Where the workers find the leader's c10d store.",
            f"{names.rendezvous_host}:{RDZV_PORT}",
        ),
        output(
            f"{ident}_log_group",
            "CloudWatch log group of the job.",
            ref("aws_cloudwatch_log_group", ident, "name"),
        ),
        output(
            f"{ident}_task_role_arn",
            "IAM role the training code runs with.",
            ref("aws_iam_role", f"{ident}_task", "arn"),
        ),
        output(
            f"{ident}_security_group_id",
            "Security group of the job's nodes.",
            ref("aws_security_group", ident, "id"),
        ),
    ]
    if not job.keep_running:
        outputs.append(
            output(
                f"{ident}_run_record",
                "SSM parameter holding the job's last run: id, RUNNING/FINISHED/FAILED, failures.",
                ref("aws_ssm_parameter", f"{ident}_run", "name"),
            )
        )
    if isinstance(job.compute, Ec2Compute):
        outputs.append(
            output(
                f"{ident}_autoscaling_group",
                "Auto Scaling group of the job's GPU instances.",
                ref("aws_autoscaling_group", ident, "name"),
            )
        )
    return tuple(outputs)


def _job(job: JobConfig, team: TeamConfig) -> JobView:
    from gen.completion import job_completion  # noqa: PLC0415 - it builds on this module's Decl

    names = job_names(team.name, job.name)
    ident = names.ident
    compute = job.compute
    return JobView(
        config=job,
        names=names,
        file=f"job_{ident}.tf",
        tags=local_values(tags=PRESENT, at={"tags": f"{ident}_tags"}),
        **_iam(job, team, names),
        log_group=resource("aws_cloudwatch_log_group", ident, name=names.log_group),
        security_group=resource(
            "aws_security_group",
            ident,
            name=names.security_group,
            description=f"Nodes of training job {names.prefix}",
        ),
        nodes_rules=(
            resource("aws_vpc_security_group_ingress_rule", f"{ident}_nodes"),
            resource("aws_vpc_security_group_egress_rule", f"{ident}_nodes"),
        ),
        https_rule=resource("aws_vpc_security_group_egress_rule", f"{ident}_https"),
        capacity=(
            _capacity(job, team, names, compute) if isinstance(compute, Ec2Compute) else None
        ),
        discovery=resource(
            "aws_service_discovery_service",
            ident,
            name=names.discovery,
            description=f"The leader of job {names.prefix}: workers reach its c10d store here",
        ),
        containers=local_values(
            leader=_container(job, team, names, "leader"),
            worker=_container(job, team, names, "worker"),
            at={"leader": f"{ident}_leader", "worker": f"{ident}_worker"},
        ),
        task_definitions=(
            _task_definition(job, names, "leader", names.leader_family),
            _task_definition(job, names, "worker", names.worker_family),
        ),
        services=(_service(job, names, "leader"), _service(job, names, "worker")),
        variables=_job_variables(job, team, names),
        outputs=_job_outputs(job, names),
        completion=job_completion(job, team, names),
    )


def _folder_label(folder: Path, anchor: Path) -> str:
    """How headers name the override folder: relative to `anchor`, as the spec is (with `..`
    when it lies elsewhere, so that the header still says which folder it was)."""
    return Path(os.path.relpath(folder.resolve(), anchor.resolve())).as_posix()


def build(team: TeamConfig, anchor: Path | None = None, templates: Path | None = None) -> Module:
    """The render-ready module for one validated team; `anchor` is where header paths start,
    `templates` the folder of template overrides, if any (named in every file's header)."""
    from gen.completion import team_notifications  # noqa: PLC0415 - it builds on Decl

    jobs = tuple(_job(job, team) for job in sorted(team.jobs, key=lambda j: j.name))
    ec2_jobs = [j.config for j in jobs if isinstance(j.config.compute, Ec2Compute)]
    spec_tags = {**dict(team.tags), "ecsgen:team": team.name}
    names = team_names(team.name)
    return Module(
        team=team,
        generator=f"ecsgen {__version__}",
        spec=spec_label(team.path, anchor or Path.cwd()),
        versions=_versions(),
        network_variables=_network_variables(team),
        operations_variables=_operations_variables(team),
        capacity_variables=_capacity_variables() if ec2_jobs else (),
        shared=local_values(tags_from_spec=dict(sorted(spec_tags.items())), tags=PRESENT),
        identity=(data("aws_caller_identity", "current"), data("aws_partition", "current")),
        ecs_tasks_assume=data(
            "aws_iam_policy_document",
            "ecs_tasks_assume",
            statements=[
                statement(
                    "EcsTasksAssume",
                    ["sts:AssumeRole"],
                    [],
                    conditions=[
                        ("StringEquals", "aws:SourceAccount", [ACCOUNT]),
                        ("ArnLike", "aws:SourceArn", [_arn("ecs", "*", team.region)]),
                    ],
                    principals=[("Service", ["ecs-tasks.amazonaws.com"])],
                )
            ],
            at={"statements": "statement"},
        ),
        cluster=_cluster(team),
        vpc=data("aws_vpc", "this"),
        namespace=resource(
            "aws_service_discovery_private_dns_namespace",
            "this",
            name=names.namespace,
            description=f"Rendezvous names of the training jobs of team {team.name}",
            dns_check=Expr(
                "data.aws_vpc.this.enable_dns_support && data.aws_vpc.this.enable_dns_hostnames"
            ),
            dns_message="The VPC needs DNS support and DNS hostnames enabled: the rendezvous "
            "names live in a private DNS namespace, and torch publishes each node's host name "
            "(socket.getfqdn()) as the process group's master address, which every other node "
            "must resolve.",
            at={
                "dns_check": "lifecycle.0.precondition.0.condition",
                "dns_message": "lifecycle.0.precondition.0.error_message",
            },
        ),
        instance=_instance(team, ec2_jobs) if ec2_jobs else None,
        cluster_outputs=(
            output(
                "cluster_name",
                "Name of the team's ECS cluster.",
                ref("aws_ecs_cluster", "this", "name"),
            ),
            output(
                "cluster_arn",
                "ARN of the team's ECS cluster.",
                ref("aws_ecs_cluster", "this", "arn"),
            ),
            output(
                "namespace_name",
                "Private DNS namespace of the rendezvous names.",
                ref("aws_service_discovery_private_dns_namespace", "this", "name"),
            ),
            output(
                "notifications_topic_arn",
                "SNS topic that reports how each job ended and failed deployments.",
                ref("aws_sns_topic", "notifications", "arn"),
            ),
        ),
        jobs=jobs,
        notifications=team_notifications(team),
        templates=_folder_label(templates, anchor or Path.cwd()) if templates else None,
        overrides=tuple(
            sorted(p.relative_to(templates).as_posix() for p in templates.rglob("*.j2"))
        )
        if templates
        else (),
    )
