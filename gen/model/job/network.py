"""`job/network.tf.j2`: one job's security group (all traffic between its nodes, HTTPS out) and
the subnets its tasks and instances use."""

from __future__ import annotations

from gen.hcl import Expr
from gen.model.decl import Decl, ref, resource
from gen.names import JobNames
from gen.validate import Ec2Compute, JobConfig

__all__ = ["https_rule", "nodes_rules", "security_group", "subnets"]


def security_group(names: JobNames) -> Decl:
    return resource(
        "aws_security_group",
        names.ident,
        name=names.security_group,
        description=f"Nodes of training job {names.prefix}",
    )


def nodes_rules(names: JobNames) -> tuple[Decl, ...]:
    """All traffic between the job's nodes: ingress from and egress to its own group."""
    return (
        resource("aws_vpc_security_group_ingress_rule", f"{names.ident}_nodes"),
        resource("aws_vpc_security_group_egress_rule", f"{names.ident}_nodes"),
    )


def https_rule(names: JobNames) -> Decl:
    return resource("aws_vpc_security_group_egress_rule", f"{names.ident}_https")


def subnets(job: JobConfig, names: JobNames) -> Expr:
    compute = job.compute
    efa = isinstance(compute, Ec2Compute) and compute.efa
    return ref("var", f"{names.ident}_subnet_ids") if efa else ref("var", "subnet_ids")
