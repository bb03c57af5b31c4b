"""The model: every value of the generated module decided, ready for the templates to place.

`build(team)` turns a validated `TeamConfig` into a `Module`: HCL blocks (`gen.hcl.Block`) grouped
the way the templates lay them out, plus the facts the README and the checks need. Names come
from `gen.names`, so the validator has already checked each against its AWS limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from gen import __version__
from gen.completion import JobCompletion, TeamNotifications, job_completion, team_notifications
from gen.hcl import Block, Expr, HclValue, Heredoc, interpolate
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

__all__ = ["JobView", "Module", "build"]

GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
INSTANCE_ROLE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"
CONTAINER = "trainer"
RDZV_JOIN_TIMEOUT = 1800  # GPU capacity starts from zero: instances boot and pull large images
# Workers retry the leader's store this long. While a replaced leader's name is unregistered,
# the VPC resolver caches NXDOMAIN for minutes (not the record's 10 s TTL).
WORKER_READ_TIMEOUT = 900
# Set for every job, overridable through `env`.
DEFAULT_ENV = {"PYTHONUNBUFFERED": "1"}
GPU_ENV = {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
EFA_ENV = {"FI_PROVIDER": "efa", "FI_EFA_FORK_SAFE": "1", "NCCL_DEBUG": "WARN"}
# The trainer is restarted inside its task (same IP, same Cloud Map record) when it exits
# non-zero after running at least this long; an earlier exit stops the task. Exit 0 is not
# restarted: it ends the job (or, with keep_running, the service starts a new task).
RESTART_ATTEMPT_PERIOD = 300
ULIMITS = (("memlock", -1, -1), ("nofile", 1048576, 1048576), ("stack", 67108864, 67108864))

TAGS = Expr("local.tags")
ACCOUNT = Expr("data.aws_caller_identity.current.account_id")
PARTITION = Expr("data.aws_partition.current.partition")


@dataclass(frozen=True, slots=True)
class Section:
    """A banner and the blocks under it."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class JobView:
    """One job's file (`job_<name>.tf`) and the facts about it."""

    config: JobConfig
    names: JobNames
    file: str
    sections: tuple[Section, ...]
    variables: tuple[Block, ...]
    outputs: tuple[Block, ...]
    leader_env: tuple[tuple[str, HclValue], ...]
    worker_env: tuple[tuple[str, HclValue], ...]
    completion: JobCompletion  # placed by templates/job_completion.tf.j2


@dataclass(frozen=True, slots=True)
class Module:
    """Everything the templates place for one team."""

    team: TeamConfig
    generator: str
    spec: str
    versions: Block
    main: tuple[Section, ...]
    variables: tuple[Section, ...]
    outputs: tuple[Section, ...]
    jobs: tuple[JobView, ...]
    notifications: TeamNotifications  # placed by templates/team_notifications.tf.j2

    @property
    def files(self) -> tuple[str, ...]:
        """The files this module consists of, in the order they are rendered."""
        fixed = ("versions.tf", "variables.tf", "main.tf")
        return (*fixed, *(j.file for j in self.jobs), "outputs.tf", "README.md")


# -- small builders ---------------------------------------------------------------------------


def ref(*parts: str) -> Expr:
    return Expr(".".join(parts))


def _variable(
    name: str,
    type_: str,
    description: str,
    default: HclValue | type = type,
    validations: Iterable[tuple[str, str]] = (),
    nullable: bool | None = None,
) -> Block:
    attrs: list[tuple[str, HclValue]] = [("description", description), ("type", Expr(type_))]
    if default is not type:
        attrs.append(("default", default))  # type: ignore[arg-type]
    if nullable is not None:
        attrs.append(("nullable", nullable))
    checks = tuple(
        Block("validation", attrs=(("condition", Expr(cond)), ("error_message", message)))
        for cond, message in validations
    )
    return Block("variable", (name,), attrs=tuple(attrs), blocks=checks)


def _output(name: str, description: str, value: HclValue) -> Block:
    return Block("output", (name,), attrs=(("description", description), ("value", value)))


def _statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[HclValue],
    conditions: Sequence[tuple[str, str, Sequence[HclValue]]] = (),
    principals: Sequence[tuple[str, Sequence[str]]] = (),
) -> Block:
    nested = [
        Block("principals", attrs=(("type", kind), ("identifiers", list(ids))))
        for kind, ids in principals
    ]
    nested += [
        Block("condition", attrs=(("test", test), ("variable", var), ("values", list(values))))
        for test, var, values in conditions
    ]
    attrs: list[tuple[str, HclValue]] = [
        ("sid", sid),
        ("effect", "Allow"),
        ("actions", sorted(actions)),
    ]
    if resources:
        attrs.append(("resources", list(resources)))
    return Block("statement", attrs=tuple(attrs), blocks=tuple(nested))


def _arn(service: str, resource: str, region: str = "", account: bool = True) -> Expr:
    """An ARN with the partition (and account) taken from the provider's identity."""
    parts: list[str | Expr] = ["arn:", PARTITION, f":{service}:{region}:"]
    if account:
        parts.append(ACCOUNT)
    parts.append(f":{resource}")
    return interpolate(*parts)


# -- the team ---------------------------------------------------------------------------------


TERRAFORM_VERSION = ">= 1.5.7"
AWS_PROVIDER_VERSION = ">= 5.100, < 7.0"  # validated here with 5.100; 6.x by schema review


def _versions() -> Block:
    provider = {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}
    return Block(
        "terraform",
        attrs=(("required_version", TERRAFORM_VERSION),),
        blocks=(Block("required_providers", attrs=(("aws", provider),)),),
    )


def _team_variables(team: TeamConfig, ec2: bool) -> list[Section]:
    subnets_default: HclValue | type = list(team.subnet_ids) if team.subnet_ids else type
    vpc_default: HclValue | type = team.vpc_id if team.vpc_id else type
    network = [
        _variable(
            "vpc_id",
            "string",
            "VPC the training tasks run in. It needs DNS support "
            "and DNS hostnames enabled (Cloud Map private DNS).",
            vpc_default,
        ),
        _variable(
            "subnet_ids",
            "list(string)",
            "Private subnets for the training tasks (Fargate jobs and EC2 jobs without EFA).",
            subnets_default,
            [("length(var.subnet_ids) > 0", "Give at least one subnet.")],
            nullable=False,
        ),
        _variable(
            "assign_public_ip",
            "bool",
            "Give Fargate tasks a public IP. Only for "
            "subnets without a NAT gateway; private subnets are the better choice.",
            False,
            nullable=False,
        ),
        _variable(
            "egress_cidr_blocks",
            "list(string)",
            "Where tasks may open HTTPS "
            "connections (ECR, S3, CloudWatch Logs, Secrets Manager, experiment "
            "trackers). Traffic between a job's nodes is always allowed.",
            ["0.0.0.0/0"],
            nullable=False,
        ),
    ]
    retention = ", ".join(map(str, LOG_RETENTION_DAYS))
    operations = [
        _variable(
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
        _variable(
            "enable_execute_command",
            "bool",
            "Allow `aws ecs execute-command` into "
            "the training containers (ECS Exec). Off unless you are debugging.",
            False,
            nullable=False,
        ),
        _variable(
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
    ]
    sections = [Section("Network", tuple(network)), Section("Operations", tuple(operations))]
    if ec2:
        sections.append(
            Section(
                "GPU capacity",
                (
                    _variable(
                        "ami_id",
                        "string",
                        "AMI for the GPU instances. null takes the latest "
                        "Amazon ECS GPU-optimized Amazon Linux 2023 AMI from the public SSM "
                        f"parameter {GPU_AMI_PARAMETER}.",
                        None,
                    ),
                ),
            )
        )
    return sections


def _team_main(team: TeamConfig, ec2_jobs: Sequence[JobView]) -> list[Section]:
    names = team_names(team.name)
    spec_tags = dict(team.tags)
    spec_tags["ecsgen:team"] = team.name
    locals_ = Block(
        "locals",
        attrs=(
            ("tags_from_spec", dict(sorted(spec_tags.items()))),
            ("tags", Expr("merge(local.tags_from_spec, var.tags)")),
        ),
    )
    identity = (
        Block("data", ("aws_caller_identity", "current")),
        Block("data", ("aws_partition", "current")),
    )
    assume = Block(
        "data",
        ("aws_iam_policy_document", "ecs_tasks_assume"),
        blocks=(
            _statement(
                "EcsTasksAssume",
                ["sts:AssumeRole"],
                [],
                conditions=[
                    ("StringEquals", "aws:SourceAccount", [ACCOUNT]),
                    ("ArnLike", "aws:SourceArn", [_arn("ecs", "*", team.region)]),
                ],
                principals=[("Service", ["ecs-tasks.amazonaws.com"])],
            ),
        ),
    )
    cluster = Block(
        "resource",
        ("aws_ecs_cluster", "this"),
        attrs=(("name", names.cluster),),
        blocks=(Block("setting", attrs=(("name", "containerInsights"), ("value", "enabled"))),),
        tags=TAGS,
        lifecycle=Block(
            "lifecycle",
            blocks=(
                Block(
                    "postcondition",
                    attrs=(
                        ("condition", Expr(f'split(":", self.arn)[3] == "{team.region}"')),
                        (
                            "error_message",
                            f"This module is for {team.region}: configure the aws provider "
                            "for that region (container logs and the roles' trust conditions "
                            "name it).",
                        ),
                    ),
                ),
            ),
        ),
    )
    vpc = Block("data", ("aws_vpc", "this"), attrs=(("id", ref("var", "vpc_id")),))
    namespace = Block(
        "resource",
        ("aws_service_discovery_private_dns_namespace", "this"),
        attrs=(
            ("name", names.namespace),
            ("description", f"Rendezvous names of the training jobs of team {team.name}"),
            ("vpc", ref("var", "vpc_id")),
        ),
        tags=TAGS,
        lifecycle=Block(
            "lifecycle",
            blocks=(
                Block(
                    "precondition",
                    attrs=(
                        (
                            "condition",
                            Expr(
                                "data.aws_vpc.this.enable_dns_support && "
                                "data.aws_vpc.this.enable_dns_hostnames"
                            ),
                        ),
                        (
                            "error_message",
                            "The VPC needs DNS support and DNS hostnames enabled: the rendezvous "
                            "names live in a private DNS namespace, and torch publishes each "
                            "node's host name (socket.getfqdn()) as the process group's master "
                            "address, which every other node must resolve.",
                        ),
                    ),
                ),
            ),
        ),
    )
    sections = [
        Section("Shared", (locals_, *identity, assume)),
        Section("Cluster", (cluster,)),
        Section("Service discovery (rendezvous)", (vpc, namespace)),
    ]
    if ec2_jobs:
        sections.append(Section("GPU capacity: instance role and AMI", _instance_blocks(team)))
        providers = Block(
            "resource",
            ("aws_ecs_cluster_capacity_providers", "this"),
            attrs=(
                ("cluster_name", ref("aws_ecs_cluster", "this", "name")),
                (
                    "capacity_providers",
                    [ref("aws_ecs_capacity_provider", j.names.ident, "name") for j in ec2_jobs],
                ),
            ),
        )
        sections.append(Section("GPU capacity: cluster capacity providers", (providers,)))
    return sections


def _instance_blocks(team: TeamConfig) -> tuple[Block, ...]:
    names = team_names(team.name)
    assume = Block(
        "data",
        ("aws_iam_policy_document", "ec2_assume"),
        blocks=(
            _statement(
                "Ec2Assume", ["sts:AssumeRole"], [], principals=[("Service", ["ec2.amazonaws.com"])]
            ),
        ),
    )
    role = Block(
        "resource",
        ("aws_iam_role", "instance"),
        attrs=(
            ("name", names.instance_role),
            ("description", f"ECS container instances of team {team.name}"),
            ("assume_role_policy", ref("data", "aws_iam_policy_document", "ec2_assume", "json")),
        ),
        tags=TAGS,
    )
    attachment = Block(
        "resource",
        ("aws_iam_role_policy_attachment", "instance"),
        attrs=(
            ("role", ref("aws_iam_role", "instance", "name")),
            (
                "policy_arn",
                interpolate("arn:", PARTITION, f":iam::aws:policy/{INSTANCE_ROLE_POLICY}"),
            ),
        ),
    )
    profile = Block(
        "resource",
        ("aws_iam_instance_profile", "instance"),
        attrs=(
            ("name", names.instance_profile),
            ("role", ref("aws_iam_role", "instance", "name")),
        ),
        tags=TAGS,
    )
    ami = Block(
        "data",
        ("aws_ssm_parameter", "gpu_ami"),
        meta=(("count", Expr("var.ami_id == null ? 1 : 0")),),
        attrs=(("name", GPU_AMI_PARAMETER),),
    )
    ami_local = Block(
        "locals",
        attrs=(
            (
                "ami_id",
                Expr(
                    "var.ami_id != null ? var.ami_id : "
                    "nonsensitive(data.aws_ssm_parameter.gpu_ami[0].value)"
                ),
            ),
        ),
    )
    return (assume, role, attachment, profile, ami, ami_local)


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
) -> tuple[tuple[str, HclValue], ...]:
    env: dict[str, HclValue] = dict(DEFAULT_ENV)
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
    return tuple(sorted(env.items()))


def _container(
    job: JobConfig,
    team: TeamConfig,
    names: JobNames,
    env: tuple[tuple[str, HclValue], ...],
    role: str,
) -> dict[str, HclValue]:
    separator = "@" if job.image_is_digest else ":"
    image = interpolate(
        f"{job.image_repository}{separator}", ref("var", f"{names.ident}_image_tag")
    )
    linux: dict[str, HclValue] = {"initProcessEnabled": True}
    container: dict[str, HclValue] = {
        "name": CONTAINER,
        "image": image,
        "essential": True,
        "command": ["torchrun", *job.command],
        "environment": [{"name": k, "value": v} for k, v in env],
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
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": ref("aws_cloudwatch_log_group", names.ident, "name"),
            "awslogs-region": team.region,
            "awslogs-stream-prefix": role,
        },
    }
    return container


def _iam(job: JobConfig, team: TeamConfig, names: JobNames) -> list[Block]:
    job_tags = ref("local", f"{names.ident}_tags")
    execution_statements = _execution_statements(job, team, names)
    task_statements = _task_statements(job)
    exec_statement = Block(
        "dynamic",
        ("statement",),
        meta=(("for_each", Expr("var.enable_execute_command ? [1] : []")),),
        blocks=(
            Block(
                "content",
                blocks=(),
                attrs=_statement(
                    "EcsExec",
                    [
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    ["*"],
                ).attrs,
            ),
        ),
    )
    blocks = [
        Block(
            "data",
            ("aws_iam_policy_document", f"{names.ident}_execution"),
            blocks=tuple(execution_statements),
        ),
        Block(
            "resource",
            ("aws_iam_role", f"{names.ident}_execution"),
            attrs=(
                ("name", names.execution_role),
                (
                    "description",
                    f"ECS pulls the image, writes logs and reads secrets of "
                    f"{team.name}/{job.name} with this role",
                ),
                (
                    "assume_role_policy",
                    ref("data", "aws_iam_policy_document", "ecs_tasks_assume", "json"),
                ),
            ),
            tags=job_tags,
        ),
        Block(
            "resource",
            ("aws_iam_role_policy", f"{names.ident}_execution"),
            attrs=(
                ("name", "execution"),
                ("role", ref("aws_iam_role", f"{names.ident}_execution", "id")),
                (
                    "policy",
                    ref("data", "aws_iam_policy_document", f"{names.ident}_execution", "json"),
                ),
            ),
        ),
        Block(
            "data",
            ("aws_iam_policy_document", f"{names.ident}_task"),
            blocks=(*task_statements, exec_statement),
        ),
        Block(
            "resource",
            ("aws_iam_role", f"{names.ident}_task"),
            attrs=(
                ("name", names.task_role),
                ("description", f"The training code of {team.name}/{job.name} runs with this role"),
                (
                    "assume_role_policy",
                    ref("data", "aws_iam_policy_document", "ecs_tasks_assume", "json"),
                ),
            ),
            tags=job_tags,
        ),
    ]
    meta: tuple[tuple[str, HclValue], ...] = ()
    if not task_statements:  # only ECS Exec could need a policy
        meta = (("count", Expr("var.enable_execute_command ? 1 : 0")),)
    blocks.append(
        Block(
            "resource",
            ("aws_iam_role_policy", f"{names.ident}_task"),
            meta=meta,
            attrs=(
                ("name", "task"),
                ("role", ref("aws_iam_role", f"{names.ident}_task", "id")),
                ("policy", ref("data", "aws_iam_policy_document", f"{names.ident}_task", "json")),
            ),
        )
    )
    return blocks


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


def _execution_statements(job: JobConfig, team: TeamConfig, names: JobNames) -> list[Block]:
    # The log group ARN with `:*`, the form CloudWatch Logs documents for IAM policies: it covers
    # CreateLogStream (on the group) and PutLogEvents (on its streams).
    log_arn = interpolate(ref("aws_cloudwatch_log_group", names.ident, "arn"), ":*")
    statements = [_statement("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_arn])]
    ecr = _ecr_repository_arn(job)
    if ecr:
        region, account, repository = ecr
        statements.append(_statement("EcrAuth", ["ecr:GetAuthorizationToken"], ["*"]))
        statements.append(
            _statement(
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
            _statement("ReadSecrets", ["secretsmanager:GetSecretValue"], sorted(set(manager)))
        )
    if parameters:
        statements.append(
            _statement("ReadParameters", ["ssm:GetParameters"], sorted(set(parameters)))
        )
    return statements


def _bucket_statements(
    sid: str,
    locations: Sequence[S3Location],
    object_actions: Sequence[str],
) -> list[Block]:
    statements: list[Block] = []
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
            _statement(f"List{sid}{suffix}", ["s3:ListBucket"], [bucket_arn], conditions=conditions)
        )
        statements.append(_statement(f"Objects{sid}{suffix}", object_actions, objects))
    return statements


def _task_statements(job: JobConfig) -> list[Block]:
    statements = _bucket_statements("Datasets", job.datasets, ["s3:GetObject"])
    if job.checkpoints:
        statements += _bucket_statements(
            "Checkpoints",
            [job.checkpoints],
            [
                "s3:AbortMultipartUpload",
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
        )
    return statements


def _network(job: JobConfig, names: JobNames) -> list[Block]:
    sg = ref("aws_security_group", names.ident, "id")
    rules = [
        Block(
            "resource",
            (f"aws_vpc_security_group_{direction}_rule", f"{names.ident}_nodes"),
            attrs=(
                ("security_group_id", sg),
                ("referenced_security_group_id", sg),
                ("ip_protocol", "-1"),
                (
                    "description",
                    "All traffic between the nodes of the job (rendezvous, NCCL, gloo, EFA)",
                ),
            ),
        )
        for direction in ("ingress", "egress")
    ]
    rules.append(
        Block(
            "resource",
            ("aws_vpc_security_group_egress_rule", f"{names.ident}_https"),
            meta=(("for_each", Expr("toset(var.egress_cidr_blocks)")),),
            attrs=(
                ("security_group_id", sg),
                ("cidr_ipv4", Expr("each.value")),
                ("ip_protocol", "tcp"),
                ("from_port", 443),
                ("to_port", 443),
                ("description", "HTTPS to AWS APIs, registries and trackers"),
            ),
        ),
    )
    group = Block(
        "resource",
        ("aws_security_group", names.ident),
        attrs=(
            ("name", names.security_group),
            ("description", f"Nodes of training job {names.prefix}"),
            ("vpc_id", ref("var", "vpc_id")),
        ),
        tags=ref("local", f"{names.ident}_tags"),
    )
    return [group, *rules]


def _task_definition(job: JobConfig, names: JobNames, role: str, family: str) -> Block:
    compute = job.compute
    attrs: list[tuple[str, HclValue]] = [("family", family)]
    if isinstance(compute, FargateCompute):
        attrs += [
            ("requires_compatibilities", ["FARGATE"]),
            ("network_mode", "awsvpc"),
            ("cpu", str(compute.cpu)),
            ("memory", str(compute.memory)),
        ]
    else:
        attrs += [
            ("requires_compatibilities", ["EC2"]),
            ("network_mode", "awsvpc"),
            ("cpu", str(compute.cpu)),
            ("memory", str(compute.memory)),
        ]
    attrs += [
        ("execution_role_arn", ref("aws_iam_role", f"{names.ident}_execution", "arn")),
        ("task_role_arn", ref("aws_iam_role", f"{names.ident}_task", "arn")),
        ("container_definitions", Expr(f"jsonencode([local.{names.ident}_{role}])")),
    ]
    nested = [
        Block(
            "runtime_platform",
            attrs=(("operating_system_family", "LINUX"), ("cpu_architecture", "X86_64")),
        )
    ]
    if isinstance(compute, Ec2Compute):
        nested.append(
            Block(
                "placement_constraints",
                attrs=(
                    ("type", "memberOf"),
                    ("expression", f"attribute:ecs.instance-type == {compute.instance.name}"),
                ),
            )
        )
    return Block(
        "resource",
        ("aws_ecs_task_definition", f"{names.ident}_{role}"),
        attrs=tuple(attrs),
        blocks=tuple(nested),
        tags=ref("local", f"{names.ident}_tags"),
    )


def _service(job: JobConfig, names: JobNames, role: str, subnets: Expr) -> Block:
    leader = role == "leader"
    compute = job.compute
    nodes = f"var.{names.ident}_nodes"
    desired = Expr(f"min({nodes}, 1)" if leader else f"max({nodes} - 1, 0)")
    if not job.keep_running:  # a finished or failed run stays at 0 until the run id changes
        desired = Expr(f"local.{names.ident}_ended ? 0 : {desired.text}")
    attrs: list[tuple[str, HclValue]] = [
        ("name", names.leader_service if leader else names.workers_service),
        ("cluster", ref("aws_ecs_cluster", "this", "id")),
        ("task_definition", ref("aws_ecs_task_definition", f"{names.ident}_{role}", "arn")),
        ("desired_count", desired),
    ]
    if isinstance(compute, FargateCompute):
        attrs += [("launch_type", "FARGATE"), ("platform_version", "LATEST")]
    attrs += [
        ("deployment_minimum_healthy_percent", 0),
        ("deployment_maximum_percent", 100),
        ("availability_zone_rebalancing", "DISABLED"),
        ("enable_execute_command", ref("var", "enable_execute_command")),
        ("enable_ecs_managed_tags", True),
        ("propagate_tags", "SERVICE"),
        ("wait_for_steady_state", False),
    ]
    network: list[tuple[str, HclValue]] = [
        ("subnets", subnets),
        ("security_groups", [ref("aws_security_group", names.ident, "id")]),
    ]
    if isinstance(compute, FargateCompute):
        network.append(("assign_public_ip", ref("var", "assign_public_ip")))
    nested = [
        Block("deployment_circuit_breaker", attrs=(("enable", True), ("rollback", True))),
        Block("network_configuration", attrs=tuple(network)),
    ]
    depends: tuple[str, ...] = ()
    if isinstance(compute, Ec2Compute):
        nested += [
            Block(
                "capacity_provider_strategy",
                attrs=(
                    ("capacity_provider", ref("aws_ecs_capacity_provider", names.ident, "name")),
                    ("weight", 1),
                    ("base", 0),
                ),
            ),
            Block("placement_constraints", attrs=(("type", "distinctInstance"),)),
        ]
        depends = ("aws_ecs_cluster_capacity_providers.this",)
    if leader:
        nested.append(
            Block(
                "service_registries",
                attrs=(("registry_arn", ref("aws_service_discovery_service", names.ident, "arn")),),
            )
        )
    return Block(
        "resource",
        ("aws_ecs_service", f"{names.ident}_{role}s" if not leader else f"{names.ident}_leader"),
        attrs=tuple(attrs),
        blocks=tuple(nested),
        tags=ref("local", f"{names.ident}_tags"),
        depends_on=depends,
    )


def _capacity(
    job: JobConfig, team: TeamConfig, names: JobNames, compute: Ec2Compute, subnets: Expr
) -> list[Block]:
    ident = names.ident
    job_tags = ref("local", f"{names.ident}_tags")
    user_data_lines = [
        "#!/bin/bash",
        "cat <<'EOF' >> /etc/ecs/ecs.config",
        "ECS_CLUSTER=%s",  # the cluster resource's name, placed by format() below
        "ECS_AWSVPC_BLOCK_IMDS=true",
        f"ECS_CONTAINER_STOP_TIMEOUT={job.stop_timeout}s",
        *(["ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"] if compute.spot else []),
        "EOF",
    ]
    user_data = "\n".join(user_data_lines) + "\n"
    interfaces: list[Block] = []
    lt_attrs: list[tuple[str, HclValue]] = [
        ("name", names.launch_template),
        ("description", f"GPU instances ({compute.instance.name}) of {team.name}/{job.name}"),
        ("image_id", Expr("local.ami_id")),
        ("instance_type", compute.instance.name),
        (
            "user_data",
            Expr(f"base64encode(format(local.{ident}_user_data, aws_ecs_cluster.this.name))"),
        ),
        ("update_default_version", True),
    ]
    sg = ref("aws_security_group", ident, "id")
    if compute.efa:
        for index in range(compute.instance.efa_interfaces):
            interfaces.append(
                Block(
                    "network_interfaces",
                    attrs=(
                        ("device_index", 0 if index == 0 else 1),
                        ("network_card_index", index),
                        ("interface_type", "efa"),
                        ("security_groups", [sg]),
                        ("delete_on_termination", True),
                    ),
                )
            )
    else:
        lt_attrs.append(("vpc_security_group_ids", [sg]))
    nested: list[Block] = [
        Block(
            "iam_instance_profile",
            attrs=(("arn", ref("aws_iam_instance_profile", "instance", "arn")),),
        ),
        Block(
            "metadata_options",
            attrs=(
                ("http_endpoint", "enabled"),
                ("http_tokens", "required"),
                ("http_put_response_hop_limit", 1),
            ),
        ),
        Block(
            "block_device_mappings",
            attrs=(("device_name", "/dev/xvda"),),
            blocks=(
                Block(
                    "ebs",
                    attrs=(
                        ("volume_size", Expr(f"var.{ident}_root_volume_gib")),
                        ("volume_type", "gp3"),
                        ("encrypted", True),
                        ("delete_on_termination", True),
                    ),
                ),
            ),
        ),
        *interfaces,
        Block("monitoring", attrs=(("enabled", True),)),
        Block("tag_specifications", attrs=(("resource_type", "instance"), ("tags", job_tags))),
        Block("tag_specifications", attrs=(("resource_type", "volume"), ("tags", job_tags))),
    ]
    blocks: list[Block] = [Block("locals", attrs=((f"{ident}_user_data", Heredoc(user_data)),))]
    if compute.efa:
        blocks.append(
            Block(
                "resource",
                ("aws_placement_group", ident),
                attrs=(
                    ("name", names.placement_group),
                    ("strategy", "cluster"),
                ),
                tags=job_tags,
            )
        )
    blocks.append(
        Block(
            "resource",
            ("aws_launch_template", ident),
            attrs=tuple(lt_attrs),
            blocks=tuple(nested),
            tags=job_tags,
        )
    )
    template_ref = (
        ("launch_template_id", ref("aws_launch_template", ident, "id")),
        ("version", ref("aws_launch_template", ident, "latest_version")),
    )
    asg_attrs: list[tuple[str, HclValue]] = [
        ("name", names.autoscaling_group),
        ("min_size", 0),
        ("max_size", Expr(f"max(var.{ident}_nodes, 1)")),
        ("vpc_zone_identifier", subnets),
        ("protect_from_scale_in", True),
    ]
    if compute.efa:
        asg_attrs.append(("placement_group", ref("aws_placement_group", ident, "id")))
    asg_nested: list[Block] = []
    if compute.spot:
        asg_attrs.append(("capacity_rebalance", True))
        asg_nested.append(
            Block(
                "mixed_instances_policy",
                blocks=(
                    Block(
                        "instances_distribution",
                        attrs=(
                            ("on_demand_base_capacity", 0),
                            ("on_demand_percentage_above_base_capacity", 0),
                            ("spot_allocation_strategy", "capacity-optimized"),
                        ),
                    ),
                    Block(
                        "launch_template",
                        blocks=(Block("launch_template_specification", attrs=template_ref),),
                    ),
                ),
            )
        )
    else:
        asg_nested.append(
            Block(
                "launch_template",
                attrs=(
                    ("id", ref("aws_launch_template", ident, "id")),
                    ("version", ref("aws_launch_template", ident, "latest_version")),
                ),
            )
        )
    asg_nested.append(
        Block(
            "tag",
            attrs=(("key", "AmazonECSManaged"), ("value", "true"), ("propagate_at_launch", True)),
        )
    )
    asg_nested.append(
        Block(
            "dynamic",
            ("tag",),
            meta=(("for_each", Expr(f'merge(local.{ident}_tags, {{ Name = "{names.prefix}" }})')),),
            blocks=(
                Block(
                    "content",
                    attrs=(
                        ("key", Expr("tag.key")),
                        ("value", Expr("tag.value")),
                        ("propagate_at_launch", True),
                    ),
                ),
            ),
        )
    )
    blocks.append(
        Block(
            "resource",
            ("aws_autoscaling_group", ident),
            attrs=tuple(asg_attrs),
            blocks=tuple(asg_nested),
            lifecycle=Block("lifecycle", attrs=(("ignore_changes", [Expr("desired_capacity")]),)),
        )
    )
    blocks.append(
        Block(
            "resource",
            ("aws_ecs_capacity_provider", ident),
            attrs=(("name", names.capacity_provider),),
            blocks=(
                Block(
                    "auto_scaling_group_provider",
                    attrs=(
                        ("auto_scaling_group_arn", ref("aws_autoscaling_group", ident, "arn")),
                        ("managed_termination_protection", "ENABLED"),
                        ("managed_draining", "ENABLED"),
                    ),
                    blocks=(
                        Block(
                            "managed_scaling",
                            attrs=(
                                ("status", "ENABLED"),
                                ("target_capacity", 100),
                                # EFA: launch all nodes at once into the placement group
                                (
                                    "minimum_scaling_step_size",
                                    Expr(f"max(var.{ident}_nodes, 1)") if compute.efa else 1,
                                ),
                                ("maximum_scaling_step_size", Expr(f"max(var.{ident}_nodes, 1)")),
                                ("instance_warmup_period", 300),
                            ),
                        ),
                    ),
                ),
            ),
            tags=job_tags,
            # Destroyed only after the cluster's capacity provider list no longer names it
            # (renaming or removing the job): deleting one still associated waits 20 minutes.
            lifecycle=Block("lifecycle", attrs=(("create_before_destroy", True),)),
        )
    )
    return blocks


def _job_variables(job: JobConfig, team: TeamConfig, names: JobNames) -> tuple[Block, ...]:
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
        _variable(
            f"{ident}_image_tag",
            "string",
            f"Image {version_kind} of {job.image_repository} for job {job.name}.",
            job.image_version,
            nullable=False,
        ),
        _variable(
            f"{ident}_nodes", "number", nodes_text, job.max_nodes, nodes_checks, nullable=False
        ),
    ]
    if not job.keep_running:
        variables.append(
            _variable(
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
            _variable(
                f"{ident}_root_volume_gib",
                "number",
                "Size of each instance's encrypted root volume (images, scratch).",
                compute.root_volume_gib,
                [(f"var.{ident}_root_volume_gib >= 30", "The GPU AMI needs at least 30 GiB.")],
                nullable=False,
            )
        )
        if compute.efa:
            default: HclValue | type = type
            chosen = compute.subnet_ids or team.subnet_ids
            if chosen:
                default = list(chosen)
            variables.append(
                _variable(
                    f"{ident}_subnet_ids",
                    "list(string)",
                    "The one subnet (one Availability "
                    "Zone) of the EFA job: EFA traffic cannot cross AZs and the cluster placement "
                    "group lives in one.",
                    default,
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


def _job_outputs(job: JobConfig, names: JobNames) -> tuple[Block, ...]:
    ident = names.ident
    outputs = [
        _output(
            f"{ident}_services",
            f"ECS services of job {job.name} (leader, workers).",
            {
                "leader": ref("aws_ecs_service", f"{ident}_leader", "name"),
                "workers": ref("aws_ecs_service", f"{ident}_workers", "name"),
            },
        ),
        _output(
            f"{ident}_rendezvous_endpoint",
            "Where the workers find the leader's c10d store.",
            f"{names.rendezvous_host}:{RDZV_PORT}",
        ),
        _output(
            f"{ident}_log_group",
            "CloudWatch log group of the job.",
            ref("aws_cloudwatch_log_group", ident, "name"),
        ),
        _output(
            f"{ident}_task_role_arn",
            "IAM role the training code runs with.",
            ref("aws_iam_role", f"{ident}_task", "arn"),
        ),
        _output(
            f"{ident}_security_group_id",
            "Security group of the job's nodes.",
            ref("aws_security_group", ident, "id"),
        ),
    ]
    if not job.keep_running:
        outputs.append(
            _output(
                f"{ident}_run_record",
                "SSM parameter holding the job's last run: id, RUNNING/FINISHED/FAILED, failures.",
                ref("aws_ssm_parameter", f"{ident}_run", "name"),
            )
        )
    if isinstance(job.compute, Ec2Compute):
        outputs.append(
            _output(
                f"{ident}_autoscaling_group",
                "Auto Scaling group of the job's GPU instances.",
                ref("aws_autoscaling_group", ident, "name"),
            )
        )
    return tuple(outputs)


def _job(job: JobConfig, team: TeamConfig) -> JobView:
    names = job_names(team.name, job.name)
    ident = names.ident
    compute = job.compute
    efa = isinstance(compute, Ec2Compute) and compute.efa
    subnets = ref("var", f"{ident}_subnet_ids") if efa else ref("var", "subnet_ids")
    leader_env = _environment(job, team, names, leader=True)
    worker_env = _environment(job, team, names, leader=False)
    containers = Block(
        "locals",
        attrs=(
            (f"{ident}_leader", _container(job, team, names, leader_env, "leader")),
            (f"{ident}_worker", _container(job, team, names, worker_env, "worker")),
        ),
    )
    logs = Block(
        "resource",
        ("aws_cloudwatch_log_group", ident),
        attrs=(
            ("name", names.log_group),
            ("retention_in_days", ref("var", "log_retention_days")),
        ),
        tags=ref("local", f"{names.ident}_tags"),
    )
    discovery = Block(
        "resource",
        ("aws_service_discovery_service", ident),
        attrs=(
            ("name", names.discovery),
            ("description", f"The leader of job {names.prefix}: workers reach its c10d store here"),
            ("force_destroy", True),
        ),
        blocks=(
            Block(
                "dns_config",
                attrs=(
                    (
                        "namespace_id",
                        ref("aws_service_discovery_private_dns_namespace", "this", "id"),
                    ),
                    ("routing_policy", "MULTIVALUE"),
                ),
                blocks=(Block("dns_records", attrs=(("ttl", 10), ("type", "A"))),),
            ),
        ),
        tags=ref("local", f"{names.ident}_tags"),
    )
    tags = Block(
        "locals",
        attrs=((f"{ident}_tags", Expr(f'merge(local.tags, {{ "ecsgen:job" = "{job.name}" }})')),),
    )
    sections = [
        Section("Tags", (tags,)),
        Section("IAM: execution and task roles", tuple(_iam(job, team, names))),
        Section("Logs", (logs,)),
        Section("Network", tuple(_network(job, names))),
    ]
    if isinstance(compute, Ec2Compute):
        sections.append(
            Section(
                f"GPU capacity: {compute.instance.name} instances",
                tuple(_capacity(job, team, names, compute, subnets)),
            )
        )
    sections += [
        Section("Rendezvous", (discovery,)),
        Section(
            "Task definitions",
            (
                containers,
                _task_definition(job, names, "leader", names.leader_family),
                _task_definition(job, names, "worker", names.worker_family),
            ),
        ),
        Section(
            "Services",
            (_service(job, names, "leader", subnets), _service(job, names, "worker", subnets)),
        ),
    ]
    return JobView(
        config=job,
        names=names,
        file=f"job_{ident}.tf",
        sections=tuple(sections),
        variables=_job_variables(job, team, names),
        outputs=_job_outputs(job, names),
        leader_env=leader_env,
        worker_env=worker_env,
        completion=job_completion(job, team, names),
    )


def spec_label(path: Path, anchor: Path) -> str:
    """How headers name the spec: relative to `anchor` (the output folder's parent) when below
    it, else by file name, so that the same spec renders the same bytes from any directory."""
    try:
        return path.relative_to(anchor.resolve()).as_posix()
    except ValueError:
        return path.name


def build(team: TeamConfig, anchor: Path | None = None) -> Module:
    """The render-ready module for one validated team; `anchor` is where header paths start."""
    jobs = tuple(_job(job, team) for job in sorted(team.jobs, key=lambda j: j.name))
    ec2_jobs = [j for j in jobs if isinstance(j.config.compute, Ec2Compute)]
    variables = _team_variables(team, bool(ec2_jobs))
    variables += [Section(f"Job: {j.config.name}", j.variables) for j in jobs]
    outputs = [
        Section(
            "Cluster",
            (
                _output(
                    "cluster_name",
                    "Name of the team's ECS cluster.",
                    ref("aws_ecs_cluster", "this", "name"),
                ),
                _output(
                    "cluster_arn",
                    "ARN of the team's ECS cluster.",
                    ref("aws_ecs_cluster", "this", "arn"),
                ),
                _output(
                    "namespace_name",
                    "Private DNS namespace of the rendezvous names.",
                    ref("aws_service_discovery_private_dns_namespace", "this", "name"),
                ),
                _output(
                    "notifications_topic_arn",
                    "SNS topic that reports how each job ended and failed deployments.",
                    ref("aws_sns_topic", "notifications", "arn"),
                ),
            ),
        )
    ]
    outputs += [Section(f"Job: {j.config.name}", j.outputs) for j in jobs]
    return Module(
        team=team,
        generator=f"ecsgen {__version__}",
        spec=spec_label(team.path, anchor or Path.cwd()),
        versions=_versions(),
        main=tuple(_team_main(team, ec2_jobs)),
        variables=tuple(variables),
        outputs=tuple(outputs),
        jobs=jobs,
        notifications=team_notifications(team),
    )
