"""`job/iam.tf.j2`: one job's execution role (image, logs, secrets) and task role (its data),
each scoped to that job's resources."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import groupby

from ...hcl import Expr, interpolate
from ...model.decl import PARTITION, Decl, arn, data, ref, resource, statement
from ...names import JobNames
from ...validate import JobConfig, S3Location, TeamConfig
from ...validate.config import EfsVolume

__all__ = ["ECR_HOST", "iam"]

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

# EFS volumes with IAM authorization: the task role mounts them. Writable ones also need
# ClientWrite, and ClientRootAccess because the trainer runs as root, which EFS maps to
# nfsnobody without it.
EFS_MOUNT_ACTIONS = ("elasticfilesystem:ClientMount",)
EFS_WRITE_ACTIONS = ("elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite")


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


def _execution_statements(
    job: JobConfig, team: TeamConfig, names: JobNames
) -> list[dict[str, object]]:
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
    if job.registry_credentials:
        statements.append(
            statement(
                "ReadRegistryCredentials",
                ["secretsmanager:GetSecretValue"],
                [job.registry_credentials],
            )
        )
    if team.kms_key_arn and (manager or parameters or job.registry_credentials):
        # Secrets (and SecureString parameters) encrypted with the team's key.
        statements.append(statement("DecryptSecrets", ["kms:Decrypt"], [team.kms_key_arn]))
    return statements


def _bucket_statements(
    sid: str,
    locations: Sequence[S3Location],
    object_actions: Sequence[str],
    run: Expr | None = None,
) -> list[dict[str, object]]:
    """List and object statements per bucket, limited to the locations' prefixes (with `run`,
    to `<prefix><run id>/` under each: a per-run checkpoint location)."""
    statements: list[dict[str, object]] = []
    ordered = sorted(set(locations), key=lambda s: (s.bucket, s.prefix))
    for index, (bucket, group) in enumerate(groupby(ordered, key=lambda s: s.bucket)):
        prefixes = [s.prefix for s in group]
        bucket_arn = interpolate("arn:", PARTITION, f":s3:::{bucket}")
        whole = "" in prefixes and run is None
        listed: list[object] = (
            [f"{p}*" for p in prefixes]
            if run is None
            else [interpolate(p, run, "/*") for p in prefixes]
        )
        conditions = [] if whole else [("StringLike", "s3:prefix", listed)]
        objects = [
            interpolate("arn:", PARTITION, f":s3:::{bucket}/{p}*")
            if run is None
            else interpolate("arn:", PARTITION, f":s3:::{bucket}/{p}", run, "/*")
            for p in ([""] if whole else prefixes)
        ]
        suffix = str(index) if index else ""
        statements.append(
            statement(f"List{sid}{suffix}", ["s3:ListBucket"], [bucket_arn], conditions=conditions)
        )
        statements.append(statement(f"Objects{sid}{suffix}", object_actions, objects))
    return statements


def _task_statements(job: JobConfig, team: TeamConfig, names: JobNames) -> list[dict[str, object]]:
    statements = _bucket_statements("Datasets", job.datasets, ["s3:GetObject"])
    if job.checkpoints:
        run = ref("var", f"{names.ident}_run") if job.checkpoints.per_run else None
        statements += _bucket_statements("Checkpoints", [job.checkpoints], CHECKPOINT_ACTIONS, run)
    return statements + _key_statements(job, team) + _file_system_statements(job, team)


def _key_statements(job: JobConfig, team: TeamConfig) -> list[dict[str, object]]:
    """SSE-KMS: decrypting what the job reads, and generating data keys for the checkpoints it
    writes, with each location's key (its own, else the team's)."""
    readers = {k for d in job.datasets if (k := d.kms_key_arn or team.kms_key_arn)}
    writers: set[str] = set()
    if job.checkpoints and (key := job.checkpoints.kms_key_arn or team.kms_key_arn):
        writers.add(key)
    statements = []
    if readers - writers:
        statements.append(statement("DatasetKeys", ["kms:Decrypt"], sorted(readers - writers)))
    if writers:
        statements.append(
            statement("CheckpointKeys", ["kms:Decrypt", "kms:GenerateDataKey"], sorted(writers))
        )
    return statements


def _file_system_statements(job: JobConfig, team: TeamConfig) -> list[dict[str, object]]:
    """Mounting exactly the job's EFS file systems (and writing to the writable ones)."""
    efs = [v for v in job.volumes if isinstance(v, EfsVolume)]
    if not efs:
        return []

    def arns(ids: set[str]) -> list[object]:
        return [arn("elasticfilesystem", f"file-system/{i}", team.region) for i in sorted(ids)]

    statements = [
        statement("MountFileSystems", EFS_MOUNT_ACTIONS, arns({v.file_system_id for v in efs}))
    ]
    written = {v.file_system_id for v in efs if not v.read_only}
    if written:
        statements.append(statement("WriteFileSystems", EFS_WRITE_ACTIONS, arns(written)))
    return statements


def iam(job: JobConfig, team: TeamConfig, names: JobNames) -> dict[str, Decl]:
    ident = names.ident
    task_statements = _task_statements(job, team, names)
    task_policy_args: dict[str, object] = {"name": "task"}
    if not task_statements:  # only ECS Exec could need a policy
        task_policy_args["count"] = Expr("var.enable_execute_command ? 1 : 0")
    return {
        "execution_policy": data(
            "aws_iam_policy_document",
            f"{ident}_execution",
            statements=_execution_statements(job, team, names),
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
