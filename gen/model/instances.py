"""`instances.tf.j2` (in `main.tf`): the team's shared EC2 pieces, for teams with EC2 jobs: the
instance role and profile, the GPU AMI, the cluster's capacity providers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..hcl import interpolate
from ..model.decl import PARTITION, PRESENT, Decl, data, local_values, ref, resource, statement
from ..names import job_names, team_names
from ..validate import Ec2Compute, JobConfig, TeamConfig

__all__ = ["GPU_AMI_PARAMETER", "NEURON_AMI_PARAMETER", "InstanceView", "ami_kind", "instance"]

GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
# The ECS-optimized Amazon Linux 2023 Neuron AMI (Neuron driver, for Trainium). The path is
# the one AWS publishes under /aws/service/ecs/optimized-ami/amazon-linux-2023/ (moto's copy of
# the public parameters has it too).
NEURON_AMI_PARAMETER = (
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/neuron/recommended/image_id"
)


INSTANCE_ROLE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"


def ami_kind(job: JobConfig) -> str | None:
    """Which AMI an EC2 job's instances boot: the public ECS GPU-optimized one ("gpu"), the
    Neuron one ("neuron"), or the team's own (`Ec2(ami_id=...)`, arm64 GPU types: "own")."""
    compute = job.compute
    if not isinstance(compute, Ec2Compute):
        return None
    if compute.ami_id:
        return "own"
    return "neuron" if compute.instance.neuron else "gpu"


@dataclass(frozen=True, slots=True)
class InstanceView:
    """The team's shared EC2 pieces: instance role and profile, GPU AMI, capacity providers."""

    assume_policy: Decl
    role: Decl
    role_attachment: Decl
    profile: Decl
    gpu_ami: Decl | None  # with NVIDIA GPU jobs
    ami: Decl | None
    neuron_ami: Decl | None  # with Trainium jobs
    neuron_ami_local: Decl | None
    capacity_providers: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        amis = (self.gpu_ami, self.ami, self.neuron_ami, self.neuron_ami_local)
        return (
            self.assume_policy,
            self.role,
            self.role_attachment,
            self.profile,
            *(d for d in amis if d),
            self.capacity_providers,
        )


def instance(team: TeamConfig, ec2_jobs: Sequence[JobConfig]) -> InstanceView:
    names = team_names(team.name)
    idents = [job_names(team.name, j.name).ident for j in ec2_jobs]
    kinds = {ami_kind(j) for j in ec2_jobs}
    gpu, neuron = "gpu" in kinds, "neuron" in kinds
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
        gpu_ami=data("aws_ssm_parameter", "gpu_ami", name=GPU_AMI_PARAMETER) if gpu else None,
        ami=local_values(ami_id=PRESENT) if gpu else None,
        neuron_ami=(
            data("aws_ssm_parameter", "neuron_ami", name=NEURON_AMI_PARAMETER) if neuron else None
        ),
        neuron_ami_local=local_values(neuron_ami_id=PRESENT) if neuron else None,
        capacity_providers=resource(
            "aws_ecs_cluster_capacity_providers",
            "this",
            capacity_providers=[ref("aws_ecs_capacity_provider", i, "name") for i in idents],
        ),
    )
