"""`job/capacity.tf.j2`: an EC2 job's GPU capacity: user data (FSx for Lustre mounts, the ECS
agent's settings), placement group (EFA), launch template (with its reservation, if any), Auto
Scaling group and ECS capacity provider."""

from __future__ import annotations

from dataclasses import dataclass

from ...hcl import Expr, Heredoc
from ...model.decl import Decl, local_values, ref, resource
from ...model.instances import ami_kind
from ...model.job.network import subnets
from ...names import JobNames
from ...validate import Ec2Compute, JobConfig, TeamConfig
from ...validate.config import LustreVolume

__all__ = ["LUSTRE_HOST_ROOT", "CapacityView", "capacity", "lustre_host_path"]

LUSTRE_HOST_ROOT = "/fsx"  # each FSx for Lustre file system at /fsx/<fs-id> on the host
LUSTRE_MOUNT_OPTIONS = "relatime,flock"
LUSTRE_MOUNT_ATTEMPTS = 30  # 10 s apart: five minutes for the file system's DNS name


@dataclass(frozen=True, slots=True)
class CapacityView:
    """An EC2 job's GPU capacity: launch template, Auto Scaling group, capacity provider."""

    instance_type: str
    local_block: Decl  # the job's capacity name and user data
    placement_group: Decl | None
    launch_template: Decl
    autoscaling_group: Decl
    capacity_provider: Decl

    @property
    def decls(self) -> tuple[Decl, ...]:
        group = (self.placement_group,) if self.placement_group else ()
        return (
            self.local_block,
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
        *_lustre_mounts(job, team),
        "cat <<'EOF' >> /etc/ecs/ecs.config",
        "ECS_CLUSTER=%s",  # the cluster resource's name, placed by format() in the template
        "ECS_AWSVPC_BLOCK_IMDS=true",
        f"ECS_CONTAINER_STOP_TIMEOUT={job.stop_timeout}s",
        # The ECS GPU-optimized AMI enables the agent's GPU support itself; the team's own AMI
        # (arm64 GPU types) may not.
        *(["ECS_ENABLE_GPU_SUPPORT=true"] if compute.ami_id else []),
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
        local_block=local_values(
            user_data=Heredoc("\n".join(user_data_lines) + "\n"),
            # The Auto Scaling group's and capacity provider's one name, known when planning
            # (a capacity provider strategy is a set: the provider cannot name an unknown).
            # Each generation gets its own, so a replacement never meets the old name or group.
            capacity_name=Expr(
                f'var.{ident}_capacity_generation == 0 ? "{names.capacity_provider}" : '
                f'"{names.capacity_provider}-g${{var.{ident}_capacity_generation}}"'
            ),
            at={"user_data": f"{ident}_user_data", "capacity_name": f"{ident}_capacity_name"},
        ),
        # A targeted reservation takes only instances in the placement group it was made in,
        # and a Capacity Block's instances are placed together already: no group with either.
        placement_group=(
            resource("aws_placement_group", ident, name=names.placement_group)
            if compute.efa and compute.reservation is None
            else None
        ),
        launch_template=resource(
            "aws_launch_template",
            ident,
            name=names.launch_template,
            description=f"GPU instances ({compute.instance.name}) of {team.name}/{job.name}",
            image_id=Expr(_image_id(job, ident)),
            instance_type=compute.instance.name,
            efa_interfaces=interfaces,
            **_reservation_blocks(compute, ident),
            at={
                "efa_interfaces": "network_interfaces",
                "market": "instance_market_options",
                "reservation": "capacity_reservation_specification",
            },
        ),
        autoscaling_group=resource(
            "aws_autoscaling_group",
            ident,
            name=ref("local", f"{ident}_capacity_name"),
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
            name=ref("local", f"{ident}_capacity_name"),
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


def _reservation_blocks(compute: Ec2Compute, ident: str) -> dict[str, list[dict[str, object]]]:
    """The launch template's `instance_market_options` and `capacity_reservation_specification`
    blocks, each a list (empty without a reservation). The target is the module variable
    `<job>_reservation`, so the next Capacity Block is a tfvars change."""
    reservation = compute.reservation
    if reservation is None:
        return {"market": [], "reservation": []}
    key = (
        "capacity_reservation_id"
        if reservation.reservation_id
        else "capacity_reservation_resource_group_arn"
    )
    target = {key: ref("var", f"{ident}_reservation")}
    return {
        "market": [{"market_type": "capacity-block"}] if reservation.capacity_block else [],
        "reservation": [{"capacity_reservation_target": [target]}],
    }


def _image_id(job: JobConfig, ident: str) -> str:
    """The AMI `ami_kind` names: the job's own (arm64 GPU types), or the team's Neuron or GPU
    AMI."""
    kind = ami_kind(job)
    if kind == "own":
        return f"var.{ident}_ami_id"
    return "local.neuron_ami_id" if kind == "neuron" else "local.ami_id"


def lustre_host_path(volume: LustreVolume) -> str:
    return f"{LUSTRE_HOST_ROOT}/{volume.file_system_id}"


def _lustre_mounts(job: JobConfig, team: TeamConfig) -> list[str]:
    """User data mounting each FSx for Lustre file system on the host with the AMI's Lustre
    client, before the ECS agent is configured: no task lands on an instance without its data.
    An instance that cannot mount shuts down (the Auto Scaling group replaces it)."""
    lustre = [v for v in job.volumes if isinstance(v, LustreVolume)]
    if not lustre:
        return []
    lines = ["dnf install -y lustre-client"]
    for volume in lustre:
        host = lustre_host_path(volume)
        options = LUSTRE_MOUNT_OPTIONS + (",ro" if volume.read_only else "")
        source = f"{volume.file_system_id}.fsx.{team.region}.amazonaws.com@tcp:/{volume.mount_name}"
        lines += [
            f"mkdir -p {host}",
            f"for attempt in $(seq {LUSTRE_MOUNT_ATTEMPTS}); do",
            f"  mount -t lustre -o {options} {source} {host} && break",
            "  sleep 10",
            "done",
            f"if ! mountpoint -q {host}; then",
            f'  echo "ecsgen: cannot mount {volume.file_system_id} at {host}; shutting down" >&2',
            "  shutdown -h now",
            "  exit 1",
            "fi",
        ]
    return lines
