"""The library entry points the CLI calls: spec files in, checked module files out.

`render` and `check` share one pass over the teams (`_outcomes`): each team is modelled and
rendered in memory and its files are compared, byte for byte, with the disk. A file whose bytes
are already on disk was parsed back when this same generator wrote it (the header names the
version, so a file from another version never compares equal), so only files whose bytes are new
are parsed back. The teams are spread over `jobs` processes (`gen.parallel`); nothing is written
until every team has rendered and parsed back. Which files ecsgen owns, hand edits, the journal
and the lock are `gen.write`'s and `gen.lock`'s (each team is planned in its worker).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, inputs, parallel
from .diffview import file_diffs, team_old_files
from .errors import (
    DriftError,
    Finding,
    OutputError,
    ParseBackError,
    TemplateError,
    WriteConflictError,
)
from .impact import Impact, team_impact
from .isolate import SPEC_TIMEOUT, load_and_validate
from .load import display_path
from .lock import LOCK_WAIT, output_lock
from .ondisk import module_folders, validate_dirs
from .orphans import Orphan, find_orphans, prune, remove_empty
from .progress import Progress
from .settings import spec_timeout_setting, templates_setting
from .validate import TeamConfig
from .write import (
    MANIFEST_NAME,
    TeamPlan,
    apply,
    header_version,
    plan,
    read_regular,
    recover,
    refuse_edits,
    up_to_date,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from .model import Module

__all__ = [
    "ProgressFactory",
    "RenderResult",
    "check",
    "module_folders",
    "render",
    "render_in_memory",
    "validate_dirs",
]

ProgressFactory = Callable[[int, str], Progress]
FRESH_PARALLEL = 256  # teams from which the up-to-date checks run on --jobs processes


# Modelling, rendering and parse-back (Jinja, python-hcl2) are imported when a team is rendered:
# a run whose teams are all up to date needs none of them.


def build(team: TeamConfig, anchor: Path | None = None, templates: Path | None = None) -> Module:
    """`gen.model.build`."""
    from .model import build as build_module  # noqa: PLC0415

    return build_module(team, anchor, templates)


def render_module(module: Module, templates: Path | None = None) -> dict[str, str]:
    """`gen.render.render_module`."""
    from .render import render_module as render_files  # noqa: PLC0415

    return render_files(module, templates)


def verify_files(
    module: Module, files: Mapping[str, str], only: Collection[str] | None = None
) -> None:
    """`gen.verify.verify_files`."""
    from .verify import verify_files as parse_back  # noqa: PLC0415

    parse_back(module, files, only)


@dataclass(frozen=True, slots=True)
class RenderResult:
    teams: tuple[str, ...]
    touched: tuple[Path, ...]
    removed: tuple[Path, ...] = ()  # generated files no longer produced, removed
    notes: tuple[str, ...] = ()  # recoveries and files left alone, one line each
    parsed_back: tuple[Path, ...] = ()
    rendered: tuple[str, ...] = ()  # teams whose files changed on disk (the rest: up to date)
    impacts: tuple[Impact, ...] = ()  # what each changed team's next apply does
    discarded: tuple[Path, ...] = ()  # hand edits `force` overwrote


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One team's render compared with the disk (computed in a worker process)."""

    team: str
    plan: TeamPlan | None  # `files` holds only the files to write, `old` nothing
    findings: tuple[Finding, ...]  # every file that differs from the render, with why
    diffs: tuple[str, ...]  # `check` only
    parsed_back: tuple[str, ...]
    conflict: str = ""  # a file in the way that ecsgen did not write
    parse_error: str = ""  # the render did not parse back as intended
    failed_file: str = ""  # ... in this file
    template_error: bool = False  # ... or a template failed (`TemplateError`)
    impact: Impact | None = None  # what the change does to the infrastructure (`gen.impact`)
    discarded: tuple[str, ...] = ()  # hand edits a forced render overwrites (file names)


def render_in_memory(
    specs: Sequence[Path], anchor: Path | None = None, templates: Path | None = None
) -> dict[str, dict[str, str]]:
    """Load, validate, render and parse back every spec; team name -> file name -> text.

    Headers name each spec relative to `anchor` (default: the working directory). `templates`
    is a folder of template overrides; without it, the repository setting applies (see
    `gen.settings`), and without that the bundled templates alone."""
    if templates is None:
        templates = templates_setting(specs)
    teams = load_and_validate(specs)
    _templates(templates, parallel_run=False)
    out: dict[str, dict[str, str]] = {}
    for team in teams:
        module = build(team, anchor, templates)
        files = render_module(module, templates)
        verify_files(module, files)
        out[team.name] = files
    return out


def _spec_timeout(specs: Sequence[Path], given: float | None) -> float:
    """The spec time limit: `given` (--spec-timeout), else the repository's, else the default."""
    if given is not None:
        return given
    setting = spec_timeout_setting(specs)
    return SPEC_TIMEOUT if setting is None else setting


def _reason(old: bytes | None, recorded: bool) -> tuple[str, str]:
    if old is None:
        return "missing", "not on disk"
    version = header_version(old)
    if version is not None and version != __version__:
        return "other-version", f"written by ecsgen {version}; this is ecsgen {__version__}"
    if recorded:
        return "spec-changed", (
            "differs from the render; on disk is what ecsgen wrote, so the spec, the templates "
            "or the settings changed"
        )
    return "differs", "differs from the render (edited by hand, or the spec changed)"


def _team(
    team: TeamConfig,
    *,
    out: Path,
    anchor: Path,
    templates: Path | None,
    diffs: bool,
    force: bool,
    inputs: str | None = None,
) -> _Outcome:
    """Render one team, compare with the disk (`write.plan`), and parse back what is new."""
    module = build(team, anchor, templates)
    try:
        files = render_module(module, templates)
    except TemplateError as exc:
        return _Outcome(team.name, None, (), (), (), parse_error=str(exc), template_error=True)
    try:
        full = plan(out, team.name, files, force=force, inputs=inputs)
    except WriteConflictError as exc:
        finding = Finding(team.name, display_path(out / team.name), "not-generated", str(exc))
        return _Outcome(team.name, None, (finding,), (), (), conflict=str(exc))
    changed = [name for name in full.write if name != MANIFEST_NAME]
    findings = [
        Finding(team.name, display_path(full.folder), "interrupted", line) for line in full.pending
    ]
    # The manifest changes whenever a file does; on its own (missing, outdated) it is drift too.
    alone = not changed and not full.remove
    for name in full.write if alone else changed:
        path = display_path(full.folder / name)
        if name in full.edited:
            findings.append(
                Finding(team.name, path, "edited", "edited by hand since ecsgen wrote it")
            )
        elif name == MANIFEST_NAME:
            findings.append(Finding(team.name, path, "manifest", "missing or out of date"))
        else:
            findings.append(
                Finding(team.name, path, *_reason(full.old.get(name), name in full.recorded))
            )
    for name in full.remove:
        reason = "edited" if name in full.edited else "stale"
        findings.append(
            Finding(team.name, display_path(full.folder / name), reason, "no longer generated")
        )
    findings.extend(
        Finding(team.name, display_path(full.folder / n), "stale", "no longer generated")
        for n in full.stale
    )
    texts = tuple(file_diffs(full, findings)) if diffs else ()
    parsed = tuple(name for name in changed if name.endswith(".tf"))
    impact = team_impact(team.name, team_old_files(full), files) if changed or full.remove else None
    kept = replace(full, files={name: full.files[name] for name in full.write}, old={})
    discarded = tuple(n for n in full.edited if n in full.write) if force else ()
    outcome = _Outcome(
        team.name, kept, tuple(findings), texts, parsed, impact=impact, discarded=discarded
    )
    if changed:
        try:
            verify_files(module, files, only=set(changed))
        except (OutputError, TemplateError) as exc:
            message = str(exc)
            where = next((n for n in changed if f"{n}:" in message), "")
            if not message.startswith(f"{team.name}/"):
                message = f"{team.name}/{message}"
            template = isinstance(exc, TemplateError)
            return replace(
                outcome, plan=None, parse_error=message, failed_file=where, template_error=template
            )
    return outcome


def _templates(templates: Path | None, parallel_run: bool) -> None:
    """`gen.render.prepare`: the override folder checked, templates compiled (before the
    workers fork, for a parallel run)."""
    from .render import prepare  # noqa: PLC0415

    prepare(templates, compile_all=parallel_run)


def _outcomes(
    teams: Sequence[TeamConfig],
    out: Path,
    templates: Path | None,
    jobs: int | None,
    progress: ProgressFactory | None,
    label: str,
    *,
    diffs: bool,
    force: bool = False,
) -> list[_Outcome]:
    """Each team's outcome, in team order. A team whose folder provably holds the render of its
    current inputs (`gen.write.up_to_date`: same inputs digest, same version, nothing pending,
    every listed file with its listed bytes) is up to date without being rendered; the others
    (and every team with `force`) are rendered on `jobs` processes."""
    jobs = jobs or parallel.default_jobs()
    anchor = out.parent
    shared = inputs.context(anchor, templates)
    fresh = partial(_fresh, teams=teams, out=out, anchor=anchor, shared=shared, force=force)
    # Reading and hashing a big fleet's files is worth forking for: the parent and `jobs - 1`
    # children each take a share.
    name = partial(_team_name, teams=teams)
    checks = parallel.split(
        fresh, range(len(teams)), jobs if len(teams) >= FRESH_PARALLEL else 1, name
    )
    digests = [digest for digest, _ in checks]
    todo = [i for i, (_, current) in enumerate(checks) if not current]
    results: list[_Outcome] = [_Outcome(t.name, None, (), (), ()) for t in teams]
    if todo:
        _templates(templates, parallel_run=jobs > 1 and len(todo) > 1)
    work = partial(
        _indexed,
        teams=teams,
        digests=digests,
        out=out,
        anchor=anchor,
        templates=templates,
        diffs=diffs,
        force=force,
    )
    if progress is None:
        rendered = parallel.run(work, todo, jobs, name=name)
    else:
        with progress(len(teams), label) as bar:
            bar.advance(len(teams) - len(todo))
            rendered = parallel.run(work, todo, jobs, bar.advance, name)
    for index, outcome in zip(todo, rendered, strict=True):
        results[index] = outcome
    return results


def _team_name(index: int, *, teams: Sequence[TeamConfig]) -> str:
    return f"team {teams[index].name!r}"


def _fresh(
    index: int,
    *,
    teams: Sequence[TeamConfig],
    out: Path,
    anchor: Path,
    shared: str,
    force: bool,
) -> tuple[str, bool]:
    """A team's inputs digest, and whether its folder is up to date (never with `force`)."""
    team = teams[index]
    digest = inputs.digest(team, anchor, shared)
    return digest, not force and up_to_date(out / team.name, digest)


def _indexed(
    index: int,
    *,
    teams: Sequence[TeamConfig],
    digests: Sequence[str],
    out: Path,
    anchor: Path,
    templates: Path | None,
    diffs: bool,
    force: bool,
) -> _Outcome:
    return _team(
        teams[index],
        out=out,
        anchor=anchor,
        templates=templates,
        diffs=diffs,
        force=force,
        inputs=digests[index],
    )


def _raise_failures(outcomes: Sequence[_Outcome], out: Path) -> None:
    conflicts = [o.conflict for o in outcomes if o.conflict]
    if conflicts:
        raise WriteConflictError("\n".join(conflicts))
    failed = [o for o in outcomes if o.parse_error]
    if failed:
        findings = [
            Finding(o.team, display_path(out / o.team / o.failed_file), "parse-back", o.parse_error)
            for o in failed
        ]
        # A broken template fails every team alike: each message once, in team order.
        message = "\n".join(dict.fromkeys(o.parse_error for o in failed)) + "\nnothing was written"
        error = TemplateError if any(o.template_error for o in failed) else ParseBackError
        raise error(message, findings)


def render(
    specs: Sequence[Path],
    out: Path,
    templates: Path | None = None,
    jobs: int | None = None,
    progress: ProgressFactory | None = None,
    *,
    force: bool = False,
    wait: float = LOCK_WAIT,
    spec_timeout: float | None = None,
    prune_orphans: bool = False,
    command: str = "ecsgen render",
) -> RenderResult:
    """Render every team into `out/<team>/`; nothing is written unless everything checks out.

    `out` is resolved before any spec runs. `jobs` processes share the teams (default: one per
    CPU); only files whose bytes differ from the disk are parsed back and written. The output
    lock is held from planning to the last write; an interrupted earlier render is finished or
    rolled back first. Files edited by hand stop the render (`WriteConflictError`) unless
    `force`; its message names `command` (the render as the caller would repeat it) with
    `--force`. `spec_timeout`: seconds one spec may take to load (default: the repository
    setting, else `SPEC_TIMEOUT`)."""
    out = out.resolve()
    if templates is None:
        templates = templates_setting(specs)
    teams = load_and_validate(specs, jobs, _spec_timeout(specs, spec_timeout))
    created = not os.path.lexists(out)
    try:
        with output_lock(out, wait):
            notes = recover(out)
            outcomes = _outcomes(
                teams, out, templates, jobs, progress, "ecsgen render", diffs=False, force=force
            )
            _raise_failures(outcomes, out)
            plans = [o.plan for o in outcomes if o.plan is not None]
            orphans = find_orphans(out, specs, {t.name: t.path for t in teams})
            pruned, orphan_notes = prune(orphans, enabled=prune_orphans, force=force)
            gone = [_orphan_impact(o) for o in orphans] if pruned else []  # before removal
            if not force:
                refuse_edits(plans, command)
            result = apply([*plans, *pruned])
            if pruned:
                orphan_notes.extend(remove_empty(orphans))
    except BaseException:
        if created:  # the lock made the folder: leave no trace of a render that wrote nothing
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    notes.extend(line for p in plans for line in p.left)
    notes.extend(orphan_notes)
    parsed = tuple(out / o.team / name for o in outcomes for name in o.parsed_back)
    changed = {p.parent.name for p in result.written + result.removed}
    return RenderResult(
        tuple(o.team for o in outcomes),
        result.written + result.removed,
        result.removed,
        tuple(notes),
        parsed,
        rendered=tuple(o.team for o in outcomes if o.team in changed),
        impacts=(
            *(o.impact for o in outcomes if o.impact is not None),
            *gone,
        ),
        discarded=tuple(out / o.team / name for o in outcomes for name in o.discarded),
    )


def _orphan_impact(orphan: Orphan) -> Impact:
    """What removing an orphaned module from the infrastructure destroys: its `.tf` files as
    ecsgen wrote them (those listed in its manifest that are still on disk)."""
    files = {}
    for name in sorted(orphan.files):
        data = read_regular(orphan.folder / name) if name.endswith(".tf") else None
        if data is not None:
            files[name] = data.decode("utf-8", errors="replace")
    return team_impact(orphan.folder.name, files, {})


def check(
    specs: Sequence[Path],
    out: Path,
    templates: Path | None = None,
    jobs: int | None = None,
    progress: ProgressFactory | None = None,
    spec_timeout: float | None = None,
) -> list[Finding]:
    """Compare the render with the disk; raises `DriftError` (diffs and findings) on drift.

    Writes nothing. Files that differ are still parsed back, so a render that is itself wrong
    is reported as such (`ParseBackError`) rather than as drift. Also reports files edited by
    hand and renders interrupted half-way."""
    out = out.resolve()
    if templates is None:
        templates = templates_setting(specs)
    teams = load_and_validate(specs, jobs, _spec_timeout(specs, spec_timeout))
    outcomes = _outcomes(teams, out, templates, jobs, progress, "ecsgen check", diffs=True)
    _raise_failures(outcomes, out)
    findings = [f for o in outcomes for f in o.findings]
    diffs = [d for o in outcomes for d in o.diffs]
    orphans = find_orphans(out, specs, {t.name: t.path for t in teams})
    for orphan in orphans:
        findings.append(
            Finding(orphan.folder.name, display_path(orphan.folder), "orphaned", orphan.message)
        )
        diffs.append(f"# {orphan.message}\n")
    if findings:
        impacts = [o.impact for o in outcomes if o.impact is not None]
        impacts.extend(_orphan_impact(orphan) for orphan in orphans)
        raise DriftError("".join(diffs), findings, impacts)
    return findings
