"""`kms.tf.j2` (in `main.tf`, with a team key only): the statements the owner of the team's
customer-managed KMS key adds to its key policy, as a policy document the module outputs
(`kms_key_policy_statements`) and the README prints."""

from __future__ import annotations

from collections.abc import Sequence

from ..model.decl import Decl, arn, data, output, ref, statement
from ..names import job_names
from ..validate import JobConfig, TeamConfig
from .notifications import alarms_key_statement

__all__ = ["KEY_ACTIONS", "LOGS_ACTIONS", "key_policy", "key_policy_output"]

# What CloudWatch Logs needs of a key that encrypts log groups (the CloudWatch Logs user guide,
# "Encrypt log data in CloudWatch Logs using AWS KMS").
LOGS_ACTIONS = (
    "kms:Decrypt*",
    "kms:Describe*",
    "kms:Encrypt*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
# What the module's roles do with it: read secrets and objects, write checkpoints, publish to
# the encrypted topic.
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def _roles(jobs: Sequence[JobConfig], team: TeamConfig) -> list[object]:
    """The ARNs of every role of the team that uses the key."""
    roles: list[object] = []
    for job in sorted(jobs, key=lambda j: j.name):
        ident = job_names(team.name, job.name).ident
        roles.append(ref("aws_iam_role", f"{ident}_execution", "arn"))
        roles.append(ref("aws_iam_role", f"{ident}_task", "arn"))
        roles.append(ref("aws_iam_role", f"{ident}_states", "arn"))
    return roles


def key_policy(team: TeamConfig) -> Decl | None:
    if not team.kms_key_arn:
        return None
    # The jobs' containers' log groups and their state machines' (the control plane's).
    log_groups = [
        arn("logs", f"log-group:/ecs/{team.name}/*", team.region),
        arn("logs", f"log-group:/aws/vendedlogs/states/{team.name}-*", team.region),
    ]
    return data(
        "aws_iam_policy_document",
        "kms_key_policy",
        statements=[
            statement(
                "CloudWatchLogs",
                LOGS_ACTIONS,
                ["*"],
                conditions=[("ArnLike", "kms:EncryptionContext:aws:logs:arn", log_groups)],
                principals=[("Service", [f"logs.{team.region}.amazonaws.com"])],
            ),
            # The team topic is encrypted with this key: CloudWatch alarms (the control plane's)
            # publish to it as a service, which only the key policy can allow (SNS developer
            # guide, "Enable compatibility between event sources from AWS services and
            # encrypted topics").
            alarms_key_statement(),
            statement(
                "TrainingRoles",
                KEY_ACTIONS,
                ["*"],
                principals=[("AWS", _roles(team.jobs, team))],
            ),
        ],
        at={"statements": "statement"},
    )


def key_policy_output(team: TeamConfig) -> Decl | None:
    if not team.kms_key_arn:
        return None
    return output(
        "kms_key_policy_statements",
        "Statements the owner of the team's KMS key adds to its key policy (CloudWatch Logs "
        "before the first apply; the roles once they exist).",
        ref("data", "aws_iam_policy_document", "kms_key_policy", "json"),
    )
