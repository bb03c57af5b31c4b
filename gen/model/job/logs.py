"""`job/logs.tf.j2`: one job's CloudWatch log group."""

from __future__ import annotations

from gen.model.decl import Decl, resource
from gen.names import JobNames

__all__ = ["log_group"]


def log_group(names: JobNames, keep: bool = False) -> Decl:
    """The group; with `keep` (`Team.keep_logs`) Terraform leaves it and its logs in AWS when
    the job or the team goes (`skip_destroy`) instead of deleting them."""
    if keep:
        return resource(
            "aws_cloudwatch_log_group", names.ident, name=names.log_group, skip_destroy=True
        )
    return resource("aws_cloudwatch_log_group", names.ident, name=names.log_group)
