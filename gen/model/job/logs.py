"""`job/logs.tf.j2`: one job's CloudWatch log group."""

from __future__ import annotations

from gen.model.decl import Decl, resource
from gen.names import JobNames

__all__ = ["log_group"]


def log_group(names: JobNames) -> Decl:
    return resource("aws_cloudwatch_log_group", names.ident, name=names.log_group)
