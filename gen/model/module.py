"""The module assembly: `build(team)` composes every concern's view into the `Module` the
templates place (one file per template at the top of `templates/`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gen import __version__
from gen.load import spec_label
from gen.model.decl import Decl
from gen.model.instances import InstanceView, instance
from gen.model.job import JobView, job_view
from gen.model.main import cluster, ecs_tasks_assume, identity, namespace, shared, vpc
from gen.model.notifications import TeamNotifications, team_notifications
from gen.model.outputs import cluster_outputs
from gen.model.variables import capacity_variables, network_variables, operations_variables
from gen.model.versions import versions
from gen.validate import Ec2Compute, TeamConfig

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
    templates: str | None = None  # the override folder, as the header names it
    overrides: tuple[str, ...] = ()  # the templates in it (`job/iam.tf.j2`), sorted

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
    return Module(
        team=team,
        generator=f"ecsgen {__version__}",
        spec=spec_label(team.path, anchor or Path.cwd()),
        versions=versions(),
        network_variables=network_variables(team),
        operations_variables=operations_variables(team),
        capacity_variables=capacity_variables() if ec2_jobs else (),
        shared=shared(team),
        identity=identity(),
        ecs_tasks_assume=ecs_tasks_assume(team),
        cluster=cluster(team),
        vpc=vpc(),
        namespace=namespace(team),
        instance=instance(team, ec2_jobs) if ec2_jobs else None,
        cluster_outputs=cluster_outputs(),
        jobs=jobs,
        notifications=team_notifications(team),
        templates=_folder_label(templates, anchor or Path.cwd()) if templates else None,
        overrides=tuple(
            sorted(p.relative_to(templates).as_posix() for p in templates.rglob("*.j2"))
        )
        if templates
        else (),
    )
