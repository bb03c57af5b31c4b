"""`job/network.tf.j2`: one job's security group (all traffic between its nodes, HTTPS out) and
the subnets its tasks and instances use."""

from __future__ import annotations

from ...hcl import Expr
from ...model.decl import Decl, ref, resource
from ...names import JobNames
from ...validate import Ec2Compute, JobConfig
from ...validate.config import EfsVolume, LustreVolume

__all__ = ["https_rule", "nodes_rules", "security_group", "storage_rules", "subnets"]


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
    """The job's own one-subnet variable when its instances live in one zone (EFA, or a
    reservation's zone), else the team's subnets."""
    compute = job.compute
    single = isinstance(compute, Ec2Compute) and compute.single_az
    return ref("var", f"{names.ident}_subnet_ids") if single else ref("var", "subnet_ids")


EFS_PORT = 2049
LUSTRE_PORTS = ((988, 988), (1018, 1023))  # FSx for Lustre's client ports


def storage_rules(job: JobConfig, names: JobNames) -> tuple[Decl, ...]:
    """Egress from the job's own group to its file systems' ports, within the VPC (the file
    systems' own groups must let the job's group in)."""
    kinds = {type(v) for v in job.volumes}
    rules = []
    if EfsVolume in kinds:
        rules.append(
            resource(
                "aws_vpc_security_group_egress_rule",
                f"{names.ident}_efs",
                from_port=EFS_PORT,
                to_port=EFS_PORT,
                description="NFS to the EFS file systems of the job",
            )
        )
    if LustreVolume in kinds:
        rules += [
            resource(
                "aws_vpc_security_group_egress_rule",
                f"{names.ident}_lustre_{low}",
                from_port=low,
                to_port=high,
                description="Lustre to the FSx file systems of the job",
            )
            for low, high in LUSTRE_PORTS
        ]
    return tuple(rules)
