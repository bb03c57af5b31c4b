"""`job/logs.tf.j2`: one job's CloudWatch log group."""

from __future__ import annotations

from ...model.decl import Decl
from ...names import JobNames
from ...validate import TeamConfig

__all__ = ["log_group", "log_group_options"]


def log_group_options(team: TeamConfig) -> dict[str, object]:
    """What every log group of the team carries: the team's customer-managed key, if any (its
    key policy must let CloudWatch Logs use it: see the module README), and with
    `Team.keep_logs`, `skip_destroy`: Terraform then leaves the group and its logs in AWS when
    the job or the team goes instead of deleting them."""
    options: dict[str, object] = {}
    if team.kms_key_arn:
        options["kms_key_id"] = team.kms_key_arn
    if team.keep_logs:
        options["skip_destroy"] = True
    return options


def log_group(names: JobNames, team: TeamConfig) -> Decl:
    """The job's containers' log group."""
    args = {"name": names.log_group, **log_group_options(team)}
    return Decl("resource", "aws_cloudwatch_log_group", names.ident, args)
