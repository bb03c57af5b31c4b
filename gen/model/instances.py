"""`instances.tf.j2` (in `main.tf`): the team's shared EC2 pieces, for teams with EC2 jobs: the
instance role and profile, the GPU AMI, the cluster's capacity providers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gen.hcl import interpolate
from gen.model.decl import PARTITION, PRESENT, Decl, data, local_values, ref, resource, statement
from gen.names import job_names, team_names
from gen.validate import JobConfig, TeamConfig

__all__ = ["GPU_AMI_PARAMETER", "InstanceView", "instance"]

GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"


INSTANCE_ROLE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"


@dataclass(frozen=True, slots=True)
class InstanceView:
    """The team's shared EC2 pieces: instance role and profile, GPU AMI, capacity providers."""

    assume_policy: Decl
    role: Decl
    role_attachment: Decl
    profile: Decl
    gpu_ami: Decl
    ami: Decl
    capacity_providers: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        return (
            self.assume_policy,
            self.role,
            self.role_attachment,
            self.profile,
            self.gpu_ami,
            self.ami,
            self.capacity_providers,
        )


def instance(team: TeamConfig, ec2_jobs: Sequence[JobConfig]) -> InstanceView:
    names = team_names(team.name)
    idents = [job_names(team.name, j.name).ident for j in ec2_jobs]
    return InstanceView(
        assume_policy=data(
            "aws_iam_policy_document",
            "ec2_assume",
            statements=[
                statement(
                    "Ec2Assume",
                    ["sts:AssumeRole"],
                    [],
                    principals=[("Service", ["ec2.amazonaws.com"])],
                )
            ],
            at={"statements": "statement"},
        ),
        role=resource(
            "aws_iam_role",
            "instance",
            name=names.instance_role,
            description=f"ECS container instances of team {team.name}",
        ),
        role_attachment=resource(
            "aws_iam_role_policy_attachment",
            "instance",
            policy_arn=interpolate("arn:", PARTITION, f":iam::aws:policy/{INSTANCE_ROLE_POLICY}"),
        ),
        profile=resource("aws_iam_instance_profile", "instance", name=names.instance_profile),
        gpu_ami=data("aws_ssm_parameter", "gpu_ami", name=GPU_AMI_PARAMETER),
        ami=local_values(ami_id=PRESENT),
        capacity_providers=resource(
            "aws_ecs_cluster_capacity_providers",
            "this",
            capacity_providers=[ref("aws_ecs_capacity_provider", i, "name") for i in idents],
        ),
    )
