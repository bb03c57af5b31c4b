"""Validation: spec objects in, typed and normalised configuration out, every problem at once.

Each message names the field path, the value given and what is allowed; `Problem` adds the file,
line and team. Nothing here renders or writes.

One module per spec object (`team`, `job`, `env`, `fargate`, `ec2`, `s3`, `network`), the
tables in `limits`, the machinery in `checker`, the result types in `config`: a new spec field
is one check function and, where it has a bound, one row in `limits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import Problem, SpecError, shown
from ..load import LoadedSpec, display_path
from ..validate.checker import Checker, sane
from ..validate.config import Ec2Compute, FargateCompute, JobConfig, S3Location, TeamConfig
from ..validate.env import is_credential_name
from ..validate.limits import (
    FARGATE_SIZES,
    LOG_RETENTION_DAYS,
    MAX_NAME,
    MAX_NODES,
    MODULE_TAGS,
    NAME,
    TAG_LIMIT,
    TAG_RULE,
)
from ..validate.team import check_team

__all__ = [
    "FARGATE_SIZES",
    "LOG_RETENTION_DAYS",
    "MAX_NODES",
    "MODULE_TAGS",
    "TAG_LIMIT",
    "TAG_RULE",
    "Checked",
    "Ec2Compute",
    "FargateCompute",
    "JobConfig",
    "S3Location",
    "TeamConfig",
    "check_each",
    "combine",
    "is_credential_name",
    "validate",
]


@dataclass(frozen=True, slots=True)
class Checked:
    """One spec file checked on its own (`check_each`): its team, or the problems found."""

    source: str  # the spec file, as shown in messages
    line: int  # the line of its `Team(...)` call
    team: TeamConfig | None
    problems: tuple[Problem, ...]


def check_each(specs: Sequence[LoadedSpec]) -> list[Checked]:
    """Check every loaded spec on its own (everything but the uniqueness of team names across
    files, which `combine` checks), in order."""
    checked: list[Checked] = []
    for spec in specs:
        source = display_path(spec.path)
        check = Checker(source)
        raw_name = spec.team.fields.get("name")
        if isinstance(raw_name, str) and len(raw_name) <= MAX_NAME and NAME.fullmatch(raw_name):
            check.team = raw_name
        team = None
        if sane(check, spec.team, "", spec.team, "", 0):
            check.team = None
            team = check_team(check, spec.team, source, spec.path.resolve())
        # else: too wild to check field by field
        checked.append(Checked(source, spec.team.line, team, tuple(check.problems)))
    return checked


def combine(checked: Sequence[Checked]) -> tuple[list[TeamConfig], list[Problem]]:
    """The teams of specs checked by `check_each` (sorted by name), and every problem in file
    order, a team name defined by two files included."""
    problems: list[Problem] = []
    teams: list[TeamConfig] = []
    first_file: dict[str, str] = {}
    for spec in checked:
        problems.extend(spec.problems)
        team = spec.team
        if team is None:
            continue
        if team.name in first_file:
            problems.append(
                Problem(
                    spec.source,
                    spec.line,
                    team.name,
                    "name",
                    f"team name {shown(team.name)} is already defined by "
                    f"{first_file[team.name]}; team names are unique",
                )
            )
            continue
        first_file[team.name] = spec.source
        teams.append(team)
    return sorted(teams, key=lambda t: t.name), problems


def validate(specs: Sequence[LoadedSpec]) -> list[TeamConfig]:
    """Check every loaded spec; raise one `SpecError` listing all problems, or return configs."""
    teams, problems = combine(check_each(specs))
    if problems:
        raise SpecError(problems)
    return teams
