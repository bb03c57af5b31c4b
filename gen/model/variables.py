"""`variables.tf`: the module's inputs, the team's and each job's, with their checks."""

from __future__ import annotations

from ..model.decl import NO_DEFAULT, Decl, variable
from ..model.instances import GPU_AMI_PARAMETER, NEURON_AMI_PARAMETER
from ..names import MAX_CAPACITY_GENERATION, JobNames
from ..validate import (
    LOG_RETENTION_DAYS,
    MAX_NODES,
    MODULE_TAGS,
    TAG_LIMIT,
    TAG_RULE,
    Ec2Compute,
    JobConfig,
    TeamConfig,
)
from ..validate.config import ReservationConfig
from ..validate.limits import AMI_ID, CAPACITY_BLOCK_MINUTES_BEFORE_END

__all__ = ["capacity_variables", "job_variables", "network_variables", "operations_variables"]


def network_variables(team: TeamConfig) -> tuple[Decl, ...]:
    subnets_default = list(team.subnet_ids) if team.subnet_ids else NO_DEFAULT
    vpc_default = team.vpc_id if team.vpc_id else NO_DEFAULT
    return (
        variable(
            "vpc_id",
            "string",
            "VPC the training tasks run in. It needs DNS support "
            "and DNS hostnames enabled (Cloud Map private DNS).",
            vpc_default,
        ),
        variable(
            "subnet_ids",
            "list(string)",
            "Private subnets for the training tasks (Fargate jobs and EC2 jobs without EFA).",
            subnets_default,
            [("length(var.subnet_ids) > 0", "Give at least one subnet.")],
            nullable=False,
        ),
        variable(
            "assign_public_ip",
            "bool",
            "Give Fargate tasks a public IP. Only for "
            "subnets without a NAT gateway; private subnets are the better choice.",
            False,
            nullable=False,
        ),
        variable(
            "egress_cidr_blocks",
            "list(string)",
            "Where tasks may open HTTPS "
            "connections (ECR, S3, CloudWatch Logs, Secrets Manager, experiment "
            "trackers). Traffic between a job's nodes is always allowed.",
            ["0.0.0.0/0"],
            nullable=False,
        ),
    )


def operations_variables(team: TeamConfig) -> tuple[Decl, ...]:
    retention = ", ".join(map(str, LOG_RETENTION_DAYS))
    return (
        variable(
            "log_retention_days",
            "number",
            "Days CloudWatch keeps the training logs.",
            team.log_retention_days,
            [
                (
                    f"contains([{retention}], var.log_retention_days)",
                    f"CloudWatch Logs accepts one of: {retention}.",
                )
            ],
            nullable=False,
        ),
        variable(
            "enable_execute_command",
            "bool",
            "Allow `aws ecs execute-command` into "
            "the training containers (ECS Exec). Off unless you are debugging.",
            False,
            nullable=False,
        ),
        variable(
            "tags",
            "map(string)",
            "Tags added to every resource, on top of the spec's tags.",
            {},
            [
                (
                    f"length(var.tags) <= {TAG_LIMIT - MODULE_TAGS - len(team.tags)}",
                    f"AWS allows {TAG_LIMIT} tags per resource; the spec and ecsgen use "
                    f"{MODULE_TAGS + len(team.tags)}.",
                ),
                (
                    "alltrue([for k, v in var.tags : "
                    'can(regex("^[\\\\p{L}\\\\p{Z}\\\\p{N}_.:/=+@-]*$", "${k}${v}"))])',
                    f"Tags may only hold {TAG_RULE}.",
                ),
                (
                    'alltrue([for k in keys(var.tags) : k != "AmazonECSManaged" && '
                    '!startswith(k, "ecsgen:")])',
                    "AmazonECSManaged and ecsgen:* tags are set by the module.",
                ),
            ],
            nullable=False,
        ),
    )


def capacity_variables(gpu: bool = True, neuron: bool = False) -> tuple[Decl, ...]:
    """The AMI variables of the kinds of instance the team's EC2 jobs use."""
    variables = []
    if gpu:
        variables.append(
            variable(
                "ami_id",
                "string",
                "AMI for the GPU instances. null takes the latest "
                "Amazon ECS GPU-optimized Amazon Linux 2023 AMI from the public SSM "
                f"parameter {GPU_AMI_PARAMETER}.",
                None,
            )
        )
    if neuron:
        variables.append(
            variable(
                "neuron_ami_id",
                "string",
                "AMI for the Trainium instances. null takes the latest Amazon ECS-optimized "
                "Amazon Linux 2023 Neuron AMI from the public SSM parameter "
                f"{NEURON_AMI_PARAMETER}.",
                None,
            )
        )
    return tuple(variables)


def job_variables(job: JobConfig, team: TeamConfig, names: JobNames) -> tuple[Decl, ...]:
    ident = names.ident
    version_kind = "digest (sha256:...)" if job.image_is_digest else "tag"
    nodes = f"var.{ident}_nodes"
    whole = f"floor({nodes}) == {nodes}"
    if job.elastic:
        nodes_checks = [
            (
                f"{whole} && ({nodes} == 0 || {nodes} >= {job.min_nodes}) && "
                f"{nodes} <= {MAX_NODES}",
                f"Run 0 (stopped) or a whole number of nodes from {job.min_nodes} to {MAX_NODES}.",
            )
        ]
        nodes_text = (
            f"Nodes (tasks) to run, 0 to stop the job. The job is elastic: training "
            f"goes on while at least {job.min_nodes} are up."
        )
    else:
        nodes_checks = [
            (
                f"{whole} && {nodes} >= 0 && {nodes} <= {MAX_NODES}",
                f"Run 0 (stopped) or a whole number of nodes, at most {MAX_NODES}.",
            )
        ]
        nodes_text = "Nodes (tasks) of the job: one leader and nodes - 1 workers; 0 stops the job."
    compute = job.compute
    reservation = compute.reservation if isinstance(compute, Ec2Compute) else None
    if reservation and reservation.instances is not None:
        held = reservation.instances
        nodes_checks.append(
            (
                f"{nodes} <= {held}",
                f"The job's reservation holds {held} instances: at most {held} nodes.",
            )
        )
    variables = [
        variable(
            f"{ident}_image_tag",
            "string",
            f"Image {version_kind} of {job.image_repository} for job {job.name}.",
            job.image_version,
            nullable=False,
        ),
        variable(
            f"{ident}_nodes", "number", nodes_text, job.max_nodes, nodes_checks, nullable=False
        ),
    ]
    if not job.keep_running:
        variables.append(
            variable(
                f"{ident}_run",
                "string",
                f"Run id of job {job.name}. The job ends by itself when its leader exits 0 (or "
                "keeps failing) and stays ended for this id; set a new id and apply to run it "
                "again.",
                "1",
                [
                    (
                        f'can(regex("^[A-Za-z0-9._-]{{1,64}}$", var.{ident}_run))',
                        "Use 1-64 letters, digits, '.', '_' or '-'.",
                    )
                ],
                nullable=False,
            )
        )
    if isinstance(compute, Ec2Compute):
        variables.append(
            variable(
                f"{ident}_root_volume_gib",
                "number",
                "Size of each instance's encrypted root volume (images, scratch).",
                compute.root_volume_gib,
                [(f"var.{ident}_root_volume_gib >= 30", "The GPU AMI needs at least 30 GiB.")],
                nullable=False,
            )
        )
        generation = f"var.{ident}_capacity_generation"
        variables.append(
            variable(
                f"{ident}_capacity_generation",
                "number",
                f"Raise by one to replace the job's Auto Scaling group and capacity provider "
                f"with new ones, named {names.capacity_provider}-g<N> (0: "
                f"{names.capacity_provider}). Terraform's -replace cannot do it: ECS ties a "
                "capacity provider to its Auto Scaling group for life, and both names are "
                "unique.",
                0,
                [
                    (
                        f"{generation} >= 0 && {generation} <= {MAX_CAPACITY_GENERATION} && "
                        f"floor({generation}) == {generation}",
                        f"Use a whole number from 0 to {MAX_CAPACITY_GENERATION}.",
                    )
                ],
                nullable=False,
            )
        )
        if compute.single_az:
            chosen = compute.subnet_ids or team.subnet_ids
            if compute.reservation:
                text = (
                    f"The one subnet (one Availability Zone) of job {job.name}: its reservation "
                    "lives in one zone, and the subnet must be in it."
                )
                message = "A reservation needs exactly one subnet, in its Availability Zone."
            else:
                text = (
                    "The one subnet (one Availability Zone) of the EFA job: EFA traffic cannot "
                    "cross AZs and the cluster placement group lives in one."
                )
                message = "EFA needs exactly one subnet (one Availability Zone)."
            variables.append(
                variable(
                    f"{ident}_subnet_ids",
                    "list(string)",
                    text,
                    list(chosen) if chosen else NO_DEFAULT,
                    [(f"length(var.{ident}_subnet_ids) == 1", message)],
                    nullable=False,
                )
            )
        if compute.reservation:
            variables.append(_reservation_variable(job, compute.reservation, ident))
        if compute.ami_id:
            variables.append(
                variable(
                    f"{ident}_ami_id",
                    "string",
                    f"The team's own arm64 AMI for the {compute.instance.name} instances of job "
                    f"{job.name} (AWS publishes no ECS-optimized arm64 GPU AMI): NVIDIA driver, "
                    "NVIDIA container toolkit, ECS agent, cloud-init running the user data.",
                    compute.ami_id,
                    [
                        (
                            f'can(regex("^{AMI_ID.pattern}$", var.{ident}_ami_id))',
                            "Use an AMI ID (ami-0123456789abcdef0).",
                        )
                    ],
                    nullable=False,
                )
            )
    return tuple(variables)


def _reservation_variable(job: JobConfig, reservation: ReservationConfig, ident: str) -> Decl:
    """The reservation the job's instances launch into, as a variable: each Capacity Block has
    its own ID, so moving to the next one is a tfvars change."""
    name = f"var.{ident}_reservation"
    if reservation.capacity_block:
        text = (
            f"Reservation ID (cr-...) of the Capacity Block the instances of job {job.name} "
            "launch into. Each block has its own ID: set the next one and apply at its start. "
            f"EC2 terminates the instances {CAPACITY_BLOCK_MINUTES_BEFORE_END} minutes before "
            "the block ends."
        )
    elif reservation.reservation_id:
        text = (
            f"The targeted On-Demand Capacity Reservation (cr-...) the instances of job "
            f"{job.name} launch into."
        )
    else:
        text = (
            "ARN of the resource group of On-Demand Capacity Reservations the instances of "
            f"job {job.name} launch into."
        )
    if reservation.reservation_id:
        check = (
            f'can(regex("^cr-[0-9a-f]{{8,17}}$", {name}))',
            "Use a Capacity Reservation ID (cr-0123456789abcdef0).",
        )
    else:
        check = (
            f'can(regex("^arn:aws[a-z-]*:resource-groups:[a-z0-9-]+:[0-9]{{12}}:group/.+$", '
            f"{name}))",
            "Use a resource group ARN (arn:aws:resource-groups:REGION:ACCOUNT:group/NAME).",
        )
    return variable(
        f"{ident}_reservation", "string", text, reservation.target, [check], nullable=False
    )
