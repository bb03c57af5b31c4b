"""`job.tf.j2`: one job's file (`job_<name>.tf`), composed of its concerns, one module each
beside the template that places it (`job/iam.tf.j2` <-> `gen/model/job/iam.py`, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from ...model.decl import PRESENT, Decl, local_values
from ...model.job.capacity import CapacityView, capacity
from ...model.job.completion import JobCompletion, job_completion
from ...model.job.control_plane import ControlPlane, control_plane
from ...model.job.iam import iam
from ...model.job.logs import log_group
from ...model.job.network import https_rule, nodes_rules, security_group, storage_rules
from ...model.job.rendezvous import discovery
from ...model.job.services import service
from ...model.job.state_machines import StateMachines, state_machines
from ...model.job.task_definitions import containers, task_definition
from ...model.outputs import job_outputs
from ...model.variables import job_variables
from ...names import JobNames, job_names
from ...validate import Ec2Compute, JobConfig, TeamConfig

__all__ = ["JobView", "job_view"]


@dataclass(frozen=True, slots=True)
class JobView:
    """One job's file (`job_<name>.tf`): the facts about the job and its blocks by concern."""

    config: JobConfig
    names: JobNames
    file: str
    tags: Decl
    execution_policy: Decl
    execution_role: Decl
    execution_role_policy: Decl
    task_policy: Decl
    task_role: Decl
    task_role_policy: Decl
    log_group: Decl
    security_group: Decl
    nodes_rules: tuple[Decl, ...]
    https_rule: Decl
    storage_rules: tuple[Decl, ...]
    capacity: CapacityView | None
    discovery: Decl
    containers: Decl
    task_definitions: tuple[Decl, ...]
    services: tuple[Decl, ...]
    variables: tuple[Decl, ...]
    outputs: tuple[Decl, ...]
    completion: JobCompletion
    state_machines: StateMachines
    control_plane: ControlPlane

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def ident(self) -> str:
        return self.names.ident

    @property
    def decls(self) -> tuple[Decl, ...]:
        """Every block of the job's file, in file order."""
        capacity = self.capacity.decls if self.capacity else ()
        return (
            self.tags,
            self.execution_policy,
            self.execution_role,
            self.execution_role_policy,
            self.task_policy,
            self.task_role,
            self.task_role_policy,
            self.log_group,
            self.security_group,
            *self.nodes_rules,
            self.https_rule,
            *self.storage_rules,
            *capacity,
            self.discovery,
            self.containers,
            *self.task_definitions,
            *self.services,
            *self.completion.decls,
            *self.state_machines.decls,
            *self.control_plane.decls,
        )


def job_view(job: JobConfig, team: TeamConfig) -> JobView:
    names = job_names(team.name, job.name)
    ident = names.ident
    compute = job.compute
    completion = job_completion(job, team, names)
    return JobView(
        config=job,
        names=names,
        file=f"job_{ident}.tf",
        tags=local_values(tags=PRESENT, at={"tags": f"{ident}_tags"}),
        **iam(job, team, names),
        log_group=log_group(names, team),
        security_group=security_group(names),
        nodes_rules=nodes_rules(names),
        https_rule=https_rule(names),
        storage_rules=storage_rules(job, names),
        capacity=capacity(job, team, names, compute) if isinstance(compute, Ec2Compute) else None,
        discovery=discovery(names),
        containers=containers(job, team, names),
        task_definitions=(
            task_definition(job, names, "leader", names.leader_family),
            task_definition(job, names, "worker", names.worker_family),
        ),
        services=(service(job, names, "leader"), service(job, names, "worker")),
        variables=job_variables(job, team, names),
        outputs=job_outputs(job, names),
        completion=completion,
        state_machines=state_machines(job, team, names),
        control_plane=control_plane(job, team, names, completion.rule_names),
    )
