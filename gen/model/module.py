"""The module assembly: `build(team)` composes every concern's view into the `Module` the
templates place (one file per template at the top of `templates/`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .. import __version__
from ..load import spec_label
from ..model.decl import Decl
from ..model.instances import InstanceView, ami_kind, instance
from ..model.job import JobView, job_view
from ..model.kms import key_policy, key_policy_output
from ..model.main import cluster, ecs_tasks_assume, identity, namespace, shared, vpc
from ..model.moved import MovedBlock, moves_for
from ..model.notifications import TeamNotifications, team_notifications
from ..model.outputs import cluster_outputs
from ..model.variables import capacity_variables, network_variables, operations_variables
from ..model.versions import versions
from ..validate import Ec2Compute, TeamConfig

__all__ = ["Module", "build"]


@dataclass(frozen=True, slots=True)
class Module:
    """Everything the templates place for one team."""

    team: TeamConfig
    generator: str
    spec: str
    versions: Decl
    network_variables: tuple[Decl, ...]
    operations_variables: tuple[Decl, ...]
    capacity_variables: tuple[Decl, ...]
    shared: Decl
    identity: tuple[Decl, ...]
    ecs_tasks_assume: Decl
    cluster: Decl
    vpc: Decl
    namespace: Decl
    instance: InstanceView | None
    cluster_outputs: tuple[Decl, ...]
    jobs: tuple[JobView, ...]
    notifications: TeamNotifications
    key_policy: Decl | None = None  # the team key's policy statements (kms.tf.j2)
    templates: str | None = None  # the override folder, as the header names it
    overrides: tuple[str, ...] = ()  # the templates in it (`job/iam.tf.j2`), sorted
    moved: tuple[MovedBlock, ...] = ()  # renames of its addresses by earlier ecsgen versions

    @property
    def files(self) -> tuple[str, ...]:
        """The files this module consists of, in the order they are rendered."""
        fixed = ("versions.tf", "variables.tf", "main.tf")
        return (*fixed, *(j.file for j in self.jobs), "outputs.tf", "README.md")

    @property
    def variables(self) -> tuple[Decl, ...]:
        team = (*self.network_variables, *self.operations_variables, *self.capacity_variables)
        return (*team, *(v for j in self.jobs for v in j.variables))

    @property
    def outputs(self) -> tuple[Decl, ...]:
        return (*self.cluster_outputs, *(o for j in self.jobs for o in j.outputs))

    def decls(self) -> dict[str, tuple[Decl, ...]]:
        """Every block of every `.tf` file, by file name: what parse-back must find."""
        instance = self.instance.decls if self.instance else ()
        files = {
            "versions.tf": (self.versions,),
            "variables.tf": self.variables,
            "main.tf": (
                self.shared,
                *self.identity,
                self.ecs_tasks_assume,
                self.cluster,
                self.vpc,
                self.namespace,
                *instance,
                *self.notifications.decls,
                *((self.key_policy,) if self.key_policy else ()),
            ),
        }
        files.update({job.file: job.decls for job in self.jobs})
        files["outputs.tf"] = self.outputs
        return files


def _folder_label(folder: Path, anchor: Path) -> str:
    """How headers name the override folder: relative to `anchor`, as the spec is (with `..`
    when it lies elsewhere, so that the header still says which folder it was)."""
    return Path(os.path.relpath(folder.resolve(), anchor.resolve())).as_posix()


def build(team: TeamConfig, anchor: Path | None = None, templates: Path | None = None) -> Module:
    """The render-ready module for one validated team; `anchor` is where header paths start,
    `templates` the folder of template overrides, if any (named in every file's header)."""
    jobs = tuple(job_view(job, team) for job in sorted(team.jobs, key=lambda j: j.name))
    ec2_jobs = [j.config for j in jobs if isinstance(j.config.compute, Ec2Compute)]
    module = Module(
        team=team,
        generator=f"ecsgen {__version__}",
        spec=spec_label(team.path, anchor or Path.cwd()),
        versions=versions(),
        network_variables=network_variables(team),
        operations_variables=operations_variables(team),
        capacity_variables=capacity_variables(
            gpu=any(ami_kind(j) == "gpu" for j in ec2_jobs),
            neuron=any(ami_kind(j) == "neuron" for j in ec2_jobs),
        )
        if ec2_jobs
        else (),
        shared=shared(team),
        identity=identity(),
        ecs_tasks_assume=ecs_tasks_assume(team),
        cluster=cluster(team),
        vpc=vpc(),
        namespace=namespace(team),
        instance=instance(team, ec2_jobs) if ec2_jobs else None,
        cluster_outputs=(*cluster_outputs(), *filter(None, [key_policy_output(team)])),
        jobs=jobs,
        notifications=team_notifications(team),
        key_policy=key_policy(team),
        templates=_folder_label(templates, anchor or Path.cwd()) if templates else None,
        overrides=tuple(
            sorted(p.relative_to(templates).as_posix() for p in templates.rglob("*.j2"))
        )
        if templates
        else (),
    )
    declared = [
        f"{d.rtype}.{d.label}"
        for decls in module.decls().values()
        for d in decls
        if d.kind == "resource"
    ]
    return replace(module, moved=tuple(moves_for(declared, [j.ident for j in jobs])))
