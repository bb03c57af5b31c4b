"""`README.md.j2`: the values of the module's README: the jobs table, terraform-docs style
inputs, outputs and resources, the usage snippet, and for the ML engineer who runs the jobs a
Mermaid diagram of the team's stack and a table of what each job holds while it runs, all
decided from the model so that they are always right.

Costs are given as resource-hours (instance-hours or task-hours, vCPU-hours and GB-hours), not in
dollars: prices differ by region, purchase option and date, and Spot prices move; multiply by
your region's list price (https://aws.amazon.com/ec2/pricing/on-demand/,
https://aws.amazon.com/fargate/pricing/) or your negotiated rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

from .. import hcl
from ..model.job import JobView
from ..model.job.state_machines import duration
from ..model.job.task_definitions import RESTART_ATTEMPT_PERIOD
from ..model.kms import KEY_ACTIONS, LOGS_ACTIONS
from ..model.module import Module
from ..model.versions import AWS_PROVIDER_VERSION, TERRAFORM_VERSION
from ..names import RDZV_PORT
from ..validate import Ec2Compute, JobConfig
from ..validate.config import EfsVolume
from ..validate.limits import CAPACITY_BLOCK_MINUTES_BEFORE_END

__all__ = ["IDLE_TAIL_MINUTES", "CostRow", "cost_rows", "mermaid", "ordinal", "readme_view"]

REGISTRY_DOCS = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs"
# After a run ends, ECS's scale-in alarm needs 15 one-minute data points before the Auto Scaling
# group shrinks: "CloudWatch scale-in alarms require 15 data points (15 minutes) before the
# scale-in process for the Auto Scaling group starts" (Amazon ECS developer guide,
# cluster-auto-scaling; /work/shared/research/real-aws-review-runs.md 7.2). Managed termination
# protection keeps the instances protected until then, so setting the group's desired capacity
# to 0 earlier would not stand. Fargate stops billing when the tasks stop.
IDLE_TAIL_MINUTES = 15
HOURS_PER_DAY = 24


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st, 101st, 111th."""
    if 10 <= number % 100 <= 20:
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
            kind += ", arm64 (Graviton): arm64 images, the team's own AMI" if compute.ami_id else ""
        else:
            kind = f"Fargate {compute.cpu} CPU units / {compute.memory} MiB"
        idle = (
            f"at least {config.max_nodes * IDLE_TAIL_MINUTES} instance-minutes "
            f"({config.max_nodes} x {compute.instance.name} "
            f"for {IDLE_TAIL_MINUTES} minutes or more)"
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
                "generation_variable": (
                    f"{job.names.ident}_capacity_generation"
                    if isinstance(compute, Ec2Compute)
                    else ""
                ),
                "capacity_name": job.names.capacity_provider,
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
        "arm64_jobs": [
            {"job": job.name, "instance": c.instance.name, "variable": f"{job.names.ident}_ami_id"}
            for job in module.jobs
            if isinstance(c := job.config.compute, Ec2Compute) and c.ami_id
        ],
        "key_policy": _key_policy_text(module),
        "usage": hcl.align("\n".join(usage)).split("\n") if usage else [],
        "module_name": module.team.name.replace("-", "_"),
        "topic": module.notifications.topic.name,
        "mermaid": mermaid(module),
        "costs": cost_rows(module),
        "idle_tail_minutes": IDLE_TAIL_MINUTES,
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


def _label(text: str) -> str:
    """A Mermaid node or edge label, quoted: `"` and the characters Mermaid reads as markup
    become entity codes."""
    escaped = text.replace("&", "#amp;").replace('"', "#quot;")
    return '"' + escaped.replace("<", "#lt;").replace(">", "#gt;").replace("\n", "<br/>") + '"'


def _capacity(job: JobView) -> str:
    compute = job.config.compute
    if isinstance(compute, Ec2Compute):
        spot = ", Spot" if compute.spot else ""
        return (
            f"capacity provider {job.names.capacity_provider}\n"
            f"Auto Scaling group {job.names.autoscaling_group}\n"
            f"{compute.instance.name}{spot}, {_nodes(job)} node(s)"
        )
    return f"Fargate {compute.cpu} CPU units / {compute.memory} MiB\n{_nodes(job)} task(s)"


def _nodes(job: JobView) -> str:
    config = job.config
    if config.elastic:
        return f"{config.min_nodes} to {config.max_nodes}"
    return str(config.max_nodes)


def mermaid(module: Module) -> list[str]:
    """The lines of a Mermaid flowchart of the team's stack: per job its capacity, the leader
    and workers services, the Cloud Map name they rendezvous at, and the completion path
    (EventBridge rules, the Step Functions state machine, the SSM run record, the SNS topic)."""
    team = module.team.name
    lines = ["flowchart LR"]
    lines.append(f"  subgraph cluster[{_label(f'ECS cluster {team}')}]")
    for index, job in enumerate(module.jobs):
        j = f"j{index}"
        workers = max(job.config.max_nodes - 1, 0)
        leader = f"service {job.names.leader_service}\n1 task"
        others = f"service {job.names.workers_service}\n{workers} task(s) at most"
        lines.extend(
            [
                f"    subgraph {j}[{_label(f'job {job.name}')}]",
                f"      {j}_capacity[{_label(_capacity(job))}]",
                f"      {j}_leader[{_label(leader)}]",
                f"      {j}_workers[{_label(others)}]",
                "    end",
            ]
        )
    lines.append("  end")
    topic = str(module.notifications.topic.name)
    lines.append(f"  topic[{_label(f'SNS topic {topic}')}]")
    for index, job in enumerate(module.jobs):
        j = f"j{index}"
        names = job.names
        completion = job.completion
        rules = "\n".join(["EventBridge rules", *(str(r.name) for r in completion.rules)])
        machine = f"Step Functions {job.state_machines.machine.name}"
        seen = "task running or stopped" if completion.stops else "task stopped"
        lines.extend(
            [
                f"  {j}_dns[{_label(f'Cloud Map {names.rendezvous_host}')}]",
                f"  {j}_rules[{_label(rules)}]",
                f"  {j}_sfn[{_label(machine)}]",
                f"  {j}_capacity -->|{_label('runs')}| {j}_leader",
                f"  {j}_capacity -->|{_label('runs')}| {j}_workers",
                f"  {j}_leader -->|{_label('registers')}| {j}_dns",
                f"  {j}_workers -->|{_label('c10d rendezvous')}| {j}_dns",
                f"  {j}_leader -.->|{_label(seen)}| {j}_rules",
                f"  {j}_rules --> {j}_sfn",
            ]
        )
        if completion.stops:
            lines.extend(
                [
                    f"  {j}_run[{_label(f'SSM parameter {names.run_parameter}')}]",
                    f"  {j}_sfn -->|{_label('records the run')}| {j}_run",
                    f"  {j}_sfn -.->|{_label('0 tasks when it ends')}| {j}_leader",
                ]
            )
        lines.append(f"  {j}_sfn -->|{_label('outcome')}| topic")
        timer = job.state_machines.timer
        if timer is not None:  # max_runtime: started by the leader's first start of a run
            lines.extend(
                [
                    f"  {j}_timer[{_label(f'Step Functions {timer.name}')}]",
                    f"  {j}_rules -->|{_label('leader started')}| {j}_timer",
                    f"  {j}_timer -->|{_label('TIMED_OUT at max_runtime')}| {j}_run",
                    f"  {j}_timer -->|{_label('outcome')}| topic",
                ]
            )
    return lines


@dataclass(frozen=True, slots=True)
class CostRow:
    """What one job holds while it runs, at one size (elastic jobs: one row at min, one at max)."""

    job: str
    capacity: str  # "g5.12xlarge (Spot)" or "Fargate 1 vCPU / 2 GB"
    nodes: int
    per_hour: str  # "2 instance-hours (96 vCPU-hours, 384 GB-hours)"
    per_day: str
    after_run: str  # what stays billed after the run ends


def _hours(nodes: int, vcpus: float, gib: float, hours: int, unit: str) -> str:
    count = nodes * hours
    return f"{count:g} {unit}-hours ({count * vcpus:g} vCPU-hours, {count * gib:g} GB-hours)"


def cost_rows(module: Module) -> list[CostRow]:
    """One row per job and size: capacity x nodes per hour and per 24 h day of training, in
    instance-hours (EC2) or task-hours (Fargate) with their vCPU and GB hours, and the idle
    tail after the run ends."""
    rows: list[CostRow] = []
    for job in module.jobs:
        config = job.config
        compute = config.compute
        sizes = (
            sorted({config.min_nodes, config.max_nodes}) if config.elastic else [config.max_nodes]
        )
        for nodes in sizes:
            if isinstance(compute, Ec2Compute):
                instance = compute.instance
                vcpus, gib, unit = float(instance.vcpus), float(instance.memory_gib), "instance"
                spot = " **Spot**" if compute.spot else " on-demand"
                capacity = f"`{instance.name}`{spot} ({instance.gpus} x {instance.gpu_model})"
                tail = (
                    f"{nodes} instance(s) for at least {IDLE_TAIL_MINUTES} min "
                    f"(>= {nodes * IDLE_TAIL_MINUTES / 60:g} instance-hours) until scale-in"
                )
            else:
                vcpus, gib, unit = compute.cpu / 1024, compute.memory / 1024, "task"
                capacity = f"Fargate {vcpus:g} vCPU / {gib:g} GB"
                tail = "nothing: Fargate stops billing when the tasks stop"
            if config.keep_running:
                tail = "runs until stopped (`keep_running`)"
            rows.append(
                CostRow(
                    job=config.name,
                    capacity=capacity,
                    nodes=nodes,
                    per_hour=_hours(nodes, vcpus, gib, 1, unit),
                    per_day=_hours(nodes, vcpus, gib, HOURS_PER_DAY, unit),
                    after_run=tail,
                )
            )
    return rows
