"""`job/capacity.tf.j2`: an EC2 job's GPU capacity: user data, placement group (EFA), launch
template, Auto Scaling group and ECS capacity provider."""

from __future__ import annotations

from dataclasses import dataclass

from gen.hcl import Expr, Heredoc
from gen.model.decl import Decl, local_values, resource
from gen.model.job.network import subnets
from gen.names import JobNames
from gen.validate import Ec2Compute, JobConfig, TeamConfig

__all__ = ["CapacityView", "capacity"]


@dataclass(frozen=True, slots=True)
class CapacityView:
    """An EC2 job's GPU capacity: launch template, Auto Scaling group, capacity provider."""

    instance_type: str
    user_data: Decl
    placement_group: Decl | None
    launch_template: Decl
    autoscaling_group: Decl
    capacity_provider: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        group = (self.placement_group,) if self.placement_group else ()
        return (
            self.user_data,
            *group,
            self.launch_template,
            self.autoscaling_group,
            self.capacity_provider,
        )


def capacity(
    job: JobConfig, team: TeamConfig, names: JobNames, compute: Ec2Compute
) -> CapacityView:
    ident = names.ident
    user_data_lines = [
        "#!/bin/bash",
        "cat <<'EOF' >> /etc/ecs/ecs.config",
        "ECS_CLUSTER=%s",  # the cluster resource's name, placed by format() in the template
        "ECS_AWSVPC_BLOCK_IMDS=true",
        f"ECS_CONTAINER_STOP_TIMEOUT={job.stop_timeout}s",
        *(["ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"] if compute.spot else []),
        "EOF",
    ]
    interfaces = (
        [
            {"device_index": 0 if index == 0 else 1, "network_card_index": index}
            for index in range(compute.instance.efa_interfaces)
        ]
        if compute.efa
        else []
    )
    return CapacityView(
        instance_type=compute.instance.name,
        user_data=local_values(
            user_data=Heredoc("\n".join(user_data_lines) + "\n"),
            at={"user_data": f"{ident}_user_data"},
        ),
        placement_group=(
            resource("aws_placement_group", ident, name=names.placement_group)
            if compute.efa
            else None
        ),
        launch_template=resource(
            "aws_launch_template",
            ident,
            name=names.launch_template,
            description=f"GPU instances ({compute.instance.name}) of {team.name}/{job.name}",
            instance_type=compute.instance.name,
            efa_interfaces=interfaces,
            at={"efa_interfaces": "network_interfaces"},
        ),
        autoscaling_group=resource(
            "aws_autoscaling_group",
            ident,
            name=names.autoscaling_group,
            max_size=Expr(f"max(var.{ident}_nodes, 1)"),
            vpc_zone_identifier=subnets(job, names),
            spot=compute.spot,
            efa=compute.efa,
            name_tag=names.prefix,
            at={"spot": "", "efa": "", "name_tag": ""},
        ),
        capacity_provider=resource(
            "aws_ecs_capacity_provider",
            ident,
            name=names.capacity_provider,
            # EFA: launch all nodes at once into the placement group.
            min_step=Expr(f"max(var.{ident}_nodes, 1)") if compute.efa else 1,
            max_step=Expr(f"max(var.{ident}_nodes, 1)"),
            at={
                "min_step": "auto_scaling_group_provider.0.managed_scaling.0."
                "minimum_scaling_step_size",
                "max_step": "auto_scaling_group_provider.0.managed_scaling.0."
                "maximum_scaling_step_size",
            },
        ),
    )
