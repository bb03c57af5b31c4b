"""`README.md.j2`: the values of the module's README: the jobs table, terraform-docs style
inputs, outputs and resources, and the usage snippet."""

from __future__ import annotations

import json
from typing import cast

from gen import hcl
from gen.model.job.state_machines import duration
from gen.model.job.task_definitions import RESTART_ATTEMPT_PERIOD
from gen.model.kms import KEY_ACTIONS, LOGS_ACTIONS
from gen.model.module import Module
from gen.model.versions import AWS_PROVIDER_VERSION, TERRAFORM_VERSION
from gen.names import RDZV_PORT
from gen.validate import Ec2Compute, JobConfig
from gen.validate.config import EfsVolume
from gen.validate.limits import CAPACITY_BLOCK_MINUTES_BEFORE_END

__all__ = ["readme_view"]

REGISTRY_DOCS = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs"
# After a run ends, ECS's scale-in alarm needs 15 one-minute data points before the Auto Scaling
# group shrinks (cluster-auto-scaling.html); managed termination protection keeps the instances
# protected until then, so setting the group's desired capacity to 0 earlier would not stand.
IDLE_MINUTES = 15


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 101st."""
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def _job_rows(module: Module) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for job in module.jobs:
        config = job.config
        compute = config.compute
        nodes = (
            f"{config.min_nodes}:{config.max_nodes}" if config.elastic else str(config.max_nodes)
        )
        if isinstance(compute, Ec2Compute):
            instance = compute.instance
            kind = (
                f"EC2 `{instance.name}` ({instance.neuron_devices} x {instance.gpu_model}, "
                f"{instance.neuron_cores} NeuronCores)"
                if instance.neuron
                else f"EC2 `{instance.name}` ({instance.gpus} x {instance.gpu_model})"
            )
            kind += ", EFA" if compute.efa else ""
            kind += ", Spot" if compute.spot else ""
            per_day = config.max_nodes * 24
            cost = (
                f"{config.max_nodes} x {compute.instance.name} instance(s) running: "
                f"{per_day} instance-hours a day"
            )
        else:
            kind = f"Fargate {compute.cpu} CPU units / {compute.memory} MiB"
            cost = ""
        idle = (
            f"at least {config.max_nodes * IDLE_MINUTES} instance-minutes "
            f"({config.max_nodes} x {compute.instance.name} for {IDLE_MINUTES} minutes or more)"
            if isinstance(compute, Ec2Compute)
            else ""
        )
        rule = f"0, or {config.min_nodes} and more" if config.elastic else "a whole number"
        rows.append(
            {
                "name": config.name,
                "compute": kind,
                "nodes": nodes,
                "ppn": config.processes_per_node,
                "endpoint": f"{job.names.rendezvous_host}:{RDZV_PORT}",
                "log_group": job.names.log_group,
                "leader": job.names.leader_service,
                "workers": job.names.workers_service,
                "nodes_variable": f"{job.names.ident}_nodes",
                "nodes_rule": rule,
                "cost": cost,
                "keep_running": config.keep_running,
                "run_variable": job.completion.run_variable,
                "run_parameter": job.names.run_parameter,
                "progress_parameter": job.names.progress_parameter,
                "max_failures": config.max_failures,
                "max_failures_ordinal": ordinal(config.max_failures),
                "max_runtime": duration(config.max_runtime) if config.max_runtime else "",
                "per_run": bool(config.checkpoints and config.checkpoints.per_run),
                "checkpoints": config.checkpoints.uri if config.checkpoints else "",
                "idle": idle,
                "reservation": _reservation_text(config, job.names.ident),
                "storage": _storage_lines(config),
            }
        )
    return rows


def _reservation_text(job: JobConfig, ident: str) -> str:
    compute = job.compute
    reservation = compute.reservation if isinstance(compute, Ec2Compute) else None
    if reservation is None:
        return ""
    held = f" ({reservation.instances} instances)" if reservation.instances else ""
    if reservation.capacity_block:
        return (
            f"the Capacity Block `{reservation.target}`{held} (variable `{ident}_reservation`); "
            f"its instances are terminated {CAPACITY_BLOCK_MINUTES_BEFORE_END} minutes before "
            'it ends, so checkpoint before then (see "Reserved capacity").'
        )
    what = (
        "the On-Demand Capacity Reservation"
        if reservation.reservation_id
        else ("the resource group of On-Demand Capacity Reservations")
    )
    return (
        f"{what} `{reservation.target}`{held} (variable `{ident}_reservation`), billed whether "
        "instances run in it or not."
    )


def _storage_lines(job: JobConfig) -> list[str]:
    lines = []
    for volume in job.volumes:
        access = "read-only" if volume.read_only else "read-write"
        if isinstance(volume, EfsVolume):
            lines.append(
                f"EFS `{volume.file_system_id}:{volume.path}` at `{volume.mount}` ({access}, "
                "TLS, mounted with the task role)."
            )
        else:
            lines.append(
                f"FSx for Lustre `{volume.file_system_id}` (`/{volume.mount_name}`) at "
                f"`{volume.mount}` ({access}, mounted on each instance by user data)."
            )
    if job.registry_credentials:
        lines.append(
            f"Image pulled with the registry credentials in `{job.registry_credentials}` "
            '(`{"username": ..., "password": ...}`).'
        )
    return lines


def _file_systems(module: Module) -> list[dict[str, str]]:
    """Each file system the team's jobs mount, the ports its security group must let in from
    the jobs' groups, and the jobs."""
    found: dict[str, tuple[str, set[str]]] = {}
    for job in module.jobs:
        for volume in job.config.volumes:
            ports = "TCP 2049" if isinstance(volume, EfsVolume) else "TCP 988, 1018-1023"
            entry = found.setdefault(volume.file_system_id, (ports, set()))
            entry[1].add(f"`{job.name}`")
    return [
        {"id": ident, "ports": ports, "jobs": ", ".join(sorted(jobs))}
        for ident, (ports, jobs) in sorted(found.items())
    ]


def _reserved(module: Module) -> tuple[list[str], list[str]]:
    """The jobs with a reservation, and their Capacity Blocks."""
    jobs, blocks = [], []
    for job in module.jobs:
        compute = job.config.compute
        if isinstance(compute, Ec2Compute) and compute.reservation:
            jobs.append(job.name)
            if compute.reservation.capacity_block:
                blocks.append(f"`{compute.reservation.target}` of job `{job.name}`")
    return jobs, blocks


def _literal(value: object) -> str:
    """A variable's default as the HCL the module writes for it."""
    return hcl.render(cast(hcl.HclValue, value))


_PLACEHOLDERS = {"string": '"..."', "list(string)": '["..."]', "number": "0", "bool": "false"}


def readme_view(module: Module) -> dict[str, object]:
    """terraform-docs style rows for the README's tables, and the usage snippet."""
    inputs = []
    usage = []
    for var in module.variables:
        required = "default" not in var.args
        type_ = str(var.args["type"])
        inputs.append(
            {
                "name": var.label,
                "description": str(var.args["description"]),
                "type": type_,
                "default": "n/a" if required else f"`{_literal(var.args['default'])}`",
                "required": "yes" if required else "no",
            }
        )
        if required:
            usage.append(f"{var.label} = {_PLACEHOLDERS.get(type_, 'null')}")
    outputs = [
        {"name": out.label, "description": str(out.args["description"])} for out in module.outputs
    ]
    resources = sorted(
        (
            {
                "address": f"{decl.rtype}.{decl.label}",
                "kind": "resource" if decl.kind == "resource" else "data source",
                "url": f"{REGISTRY_DOCS}/"
                f"{'resources' if decl.kind == 'resource' else 'data-sources'}/"
                f"{decl.rtype.removeprefix('aws_')}",
            }
            for decls in module.decls().values()
            for decl in decls
            if decl.kind in ("resource", "data")
        ),
        key=lambda r: r["address"],
    )
    return {
        "inputs": sorted(inputs, key=lambda r: str(r["name"])),
        "outputs": sorted(outputs, key=lambda r: r["name"]),
        "resources": resources,
        "jobs": _job_rows(module),
        "reserved": _reserved(module)[0],
        "capacity_blocks": _reserved(module)[1],
        "block_minutes": CAPACITY_BLOCK_MINUTES_BEFORE_END,
        "file_systems": _file_systems(module),
        "key_policy": _key_policy_text(module),
        "usage": hcl.align("\n".join(usage)).split("\n") if usage else [],
        "module_name": module.team.name.replace("-", "_"),
        "topic": module.notifications.topic.name,
        "restart_period": RESTART_ATTEMPT_PERIOD,
        "terraform_version": TERRAFORM_VERSION,
        "aws_version": AWS_PROVIDER_VERSION,
    }


def _key_policy_text(module: Module) -> list[str]:
    """The key policy statements for the team's key as JSON lines, with the account and
    partition spelled as placeholders (the module's output `kms_key_policy_statements` has them
    filled in)."""
    team = module.team
    if not team.kms_key_arn:
        return []
    account = "ACCOUNT_ID"
    roles = [
        f"arn:aws:iam::{account}:role/{name}"
        for job in module.jobs
        for name in (job.names.execution_role, job.names.task_role, job.names.states_role)
    ]
    statements = [
        {
            "Sid": "CloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{team.region}.amazonaws.com"},
            "Action": list(LOGS_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:aws:logs:{team.region}:{account}:log-group:/ecs/{team.name}/*"
                    )
                }
            },
        },
        {
            "Sid": "TrainingRoles",
            "Effect": "Allow",
            "Principal": {"AWS": roles},
            "Action": list(KEY_ACTIONS),
            "Resource": "*",
        },
    ]
    return json.dumps(statements, indent=2).split("\n")
