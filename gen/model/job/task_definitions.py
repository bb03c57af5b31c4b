"""`job/task_definitions.tf.j2`: the containers (environment, devices, limits, restart policy,
logs) and the leader's and workers' task definitions of one job."""

from __future__ import annotations

from ...hcl import interpolate
from ...model.decl import Decl, local_values, ref, resource
from ...model.job.capacity import lustre_host_path
from ...model.job.rendezvous import rendezvous_env
from ...names import JobNames
from ...validate import Ec2Compute, FargateCompute, JobConfig, TeamConfig
from ...validate.config import EfsVolume, LustreVolume

__all__ = ["CONTAINER", "RESTART_ATTEMPT_PERIOD", "containers", "task_definition"]

CONTAINER = "trainer"
# The trainer is restarted inside its task (same IP, same Cloud Map record) when it exits
# non-zero after running at least this long; an earlier exit stops the task. Exit 0 is not
# restarted: it ends the job (or, with keep_running, the service starts a new task).
RESTART_ATTEMPT_PERIOD = 300
# Set for every job, overridable through `env`.
DEFAULT_ENV = {"PYTHONUNBUFFERED": "1"}
GPU_ENV = {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}
EFA_ENV = {"FI_PROVIDER": "efa", "FI_EFA_FORK_SAFE": "1", "NCCL_DEBUG": "WARN"}
# Trainium over EFA: libfabric's EFA provider with device RDMA, as the Neuron multi-node
# training guides set it (no NCCL: Neuron's collectives use libfabric directly).
NEURON_EFA_ENV = {"FI_PROVIDER": "efa", "FI_EFA_FORK_SAFE": "1", "FI_EFA_USE_DEVICE_RDMA": "1"}
ULIMITS = (("memlock", -1, -1), ("nofile", 1048576, 1048576), ("stack", 67108864, 67108864))


def _environment(
    job: JobConfig,
    team: TeamConfig,
    names: JobNames,
    leader: bool,
) -> list[dict[str, object]]:
    env: dict[str, object] = dict(DEFAULT_ENV)
    # ECS on EC2 does not set them and tasks cannot reach instance metadata: without them boto3
    # raises NoRegionError (SSM, Secrets Manager) or S3 silently uses us-east-1.
    env.update({"AWS_REGION": team.region, "AWS_DEFAULT_REGION": team.region})
    compute = job.compute
    if isinstance(compute, Ec2Compute) and compute.instance.neuron:
        if compute.efa:
            env.update(NEURON_EFA_ENV)
    elif isinstance(compute, Ec2Compute):
        env.update(GPU_ENV)
        if compute.efa:
            env.update(EFA_ENV)
    env.update(job.env)  # the team's own values win over the defaults above
    env.update(rendezvous_env(job, names, leader))
    env.update(
        {
            "ECSGEN_TEAM": team.name,
            "ECSGEN_JOB": job.name,
            "ECSGEN_ROLE": "leader" if leader else "worker",
        }
    )
    run = ref("var", f"{names.ident}_run")
    if not job.keep_running:  # a new run id: a new revision, every node restarts cleanly
        env["ECSGEN_RUN_ID"] = run
    if job.checkpoints:
        env["ECSGEN_CHECKPOINT_URI"] = (
            interpolate(job.checkpoints.uri, run, "/")
            if job.checkpoints.per_run
            else job.checkpoints.uri
        )
    if job.datasets:
        env["ECSGEN_DATASET_URIS"] = ",".join(d.uri for d in job.datasets)
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def container(job: JobConfig, team: TeamConfig, names: JobNames, role: str) -> dict[str, object]:
    """The container definition, keyed as in the ECS API (the template writes it as an HCL
    object passed through `jsonencode`)."""
    separator = "@" if job.image_is_digest else ":"
    image = interpolate(
        f"{job.image_repository}{separator}", ref("var", f"{names.ident}_image_tag")
    )
    linux: dict[str, object] = {"initProcessEnabled": True}
    definition: dict[str, object] = {
        "name": CONTAINER,
        "image": image,
        "command": ["torchrun", *job.command],
        "environment": _environment(job, team, names, leader=role == "leader"),
        "secrets": [{"name": k, "valueFrom": v} for k, v in job.secrets],
    }
    if job.registry_credentials:
        definition["repositoryCredentials"] = {"credentialsParameter": job.registry_credentials}
    if job.volumes:
        definition["mountPoints"] = [
            {"containerPath": v.mount, "readOnly": v.read_only, "sourceVolume": _volume_name(v, i)}
            for i, v in enumerate(job.volumes)
        ]
    compute = job.compute
    if isinstance(compute, Ec2Compute):
        linux["sharedMemorySize"] = compute.shm_mib
        devices = [
            # Trainium: every Neuron device of the instance (one task per instance); ECS has no
            # resource type for them, so they are passed as devices.
            {
                "hostPath": f"/dev/neuron{i}",
                "containerPath": f"/dev/neuron{i}",
                "permissions": ["read", "write"],
            }
            for i in range(compute.instance.neuron_devices)
        ]
        if compute.efa:
            devices += [
                {
                    "hostPath": f"/dev/infiniband/uverbs{i}",
                    "containerPath": f"/dev/infiniband/uverbs{i}",
                    "permissions": ["read", "write", "mknod"],  # ECS's enum spelling
                }
                for i in range(compute.instance.efa_interfaces)
            ]
        if devices:
            linux["devices"] = devices
        if compute.instance.gpus:
            definition["resourceRequirements"] = [
                {"type": "GPU", "value": str(compute.instance.gpus)}
            ]
        # The bundled ulimits, with the spec's overrides (and additions) by name.
        limits = {n: (soft, hard) for n, soft, hard in (*ULIMITS, *compute.ulimits)}
        definition["ulimits"] = [
            {"name": n, "softLimit": soft, "hardLimit": hard}
            for n, (soft, hard) in sorted(limits.items())
        ]
    definition["linuxParameters"] = linux
    definition["restartPolicy"] = {
        "enabled": True,
        "ignoredExitCodes": [0],
        "restartAttemptPeriod": RESTART_ATTEMPT_PERIOD,
    }
    definition["stopTimeout"] = job.stop_timeout
    definition["logConfiguration"] = {
        "options": {"awslogs-region": team.region, "awslogs-stream-prefix": role},
    }
    return definition


def task_definition(job: JobConfig, names: JobNames, role: str, family: str) -> Decl:
    compute = job.compute
    constraints = []
    if isinstance(compute, Ec2Compute):
        constraints = [{"expression": f"attribute:ecs.instance-type == {compute.instance.name}"}]
    return resource(
        "aws_ecs_task_definition",
        f"{names.ident}_{role}",
        family=family,
        requires_compatibilities=["FARGATE" if isinstance(compute, FargateCompute) else "EC2"],
        cpu=str(compute.cpu),
        memory=str(compute.memory),
        container=f"{names.ident}_{role}",
        placement_constraints=constraints,
        volumes=_volumes(job),
        # Fargate may run Graviton (ARM64); on EC2 the instance type decides (g5g is ARM64).
        cpu_architecture=(
            compute.cpu_architecture
            if isinstance(compute, FargateCompute)
            else compute.instance.cpu_architecture
        ),
        ephemeral_storage=(
            [{"size_in_gib": compute.ephemeral_gib}]
            if isinstance(compute, FargateCompute) and compute.ephemeral_gib
            else []
        ),
        at={
            "container": "",
            "volumes": "volume",
            "cpu_architecture": "runtime_platform.0.cpu_architecture",
        },
    )


def _volume_name(volume: EfsVolume | LustreVolume, index: int) -> str:
    return f"{'efs' if isinstance(volume, EfsVolume) else 'fsx'}-{index}"


def _volumes(job: JobConfig) -> list[dict[str, object]]:
    """The task definition's `volume` blocks: EFS as native volumes (TLS and IAM are fixed in
    the template), FSx for Lustre as the host path user data mounted it at."""
    volumes: list[dict[str, object]] = []
    for index, v in enumerate(job.volumes):
        entry: dict[str, object] = {"name": _volume_name(v, index)}
        if isinstance(v, EfsVolume):
            entry["efs_volume_configuration"] = [
                {"file_system_id": v.file_system_id, "root_directory": v.path}
            ]
        else:
            entry["host_path"] = lustre_host_path(v)
            entry["efs_volume_configuration"] = []
        volumes.append(entry)
    return volumes


def containers(job: JobConfig, team: TeamConfig, names: JobNames) -> Decl:
    """The leader's and the workers' container definitions, as `locals` values."""
    ident = names.ident
    return local_values(
        leader=container(job, team, names, "leader"),
        worker=container(job, team, names, "worker"),
        at={"leader": f"{ident}_leader", "worker": f"{ident}_worker"},
    )
