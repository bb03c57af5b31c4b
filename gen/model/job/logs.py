"""`job/logs.tf.j2`: one job's CloudWatch log group."""

from __future__ import annotations

from gen.model.decl import Decl, resource
from gen.names import JobNames
from gen.validate import TeamConfig

__all__ = ["log_group"]


def log_group(names: JobNames, team: TeamConfig) -> Decl:
    """Encrypted with the team's customer-managed key when it has one (its key policy must let
    CloudWatch Logs use it: see the module README)."""
    if team.kms_key_arn:
        return resource(
            "aws_cloudwatch_log_group",
            names.ident,
            name=names.log_group,
            kms_key_id=team.kms_key_arn,
        )
    return resource("aws_cloudwatch_log_group", names.ident, name=names.log_group)
