"""`job/services.tf.j2`: the leader's and the workers' ECS services of one job."""

from __future__ import annotations

from ...hcl import Expr
from ...model.decl import Decl, ref
from ...model.job.network import subnets
from ...names import JobNames
from ...validate import FargateCompute, JobConfig

__all__ = ["service"]


def service(job: JobConfig, names: JobNames, role: str) -> Decl:
    leader = role == "leader"
    compute = job.compute
    args: dict[str, object] = {
        "name": names.leader_service if leader else names.workers_service,
        "desired_count": _desired(job, names, leader),
        "task_definition": ref("aws_ecs_task_definition", f"{names.ident}_{role}", "arn"),
        "fargate": isinstance(compute, FargateCompute),
        "subnets": subnets(job, names),
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
