"""The library entry points the CLI calls: spec files in, checked module files out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gen.errors import DriftError, OutputError
from gen.load import load_specs
from gen.model import build
from gen.render import render_module
from gen.settings import templates_setting
from gen.validate import validate
from gen.verify import verify_files, verify_module_dir
from gen.write import TeamPlan, apply, drift, plan

__all__ = ["RenderResult", "check", "render", "render_in_memory", "validate_dirs"]


@dataclass(frozen=True, slots=True)
class RenderResult:
    teams: tuple[str, ...]
    touched: tuple[Path, ...]


def render_in_memory(
    specs: Sequence[Path], anchor: Path | None = None, templates: Path | None = None
) -> dict[str, dict[str, str]]:
    """Load, validate, render and parse back every spec; team name -> file name -> text.

    Headers name each spec relative to `anchor` (default: the working directory). `templates`
    is a folder of template overrides; without it, the repository setting applies (see
    `gen.settings`), and without that the bundled templates alone."""
    if templates is None:
        templates = templates_setting(specs)
    teams = validate(load_specs(specs))
    out: dict[str, dict[str, str]] = {}
    for team in teams:
        module = build(team, anchor, templates)
        files = render_module(module, templates)
        verify_files(module, files)
        out[team.name] = files
    return out


def _plans(specs: Sequence[Path], out: Path, templates: Path | None) -> list[TeamPlan]:
    rendered = render_in_memory(specs, anchor=out.resolve().parent, templates=templates)
    return [plan(out, team, files) for team, files in rendered.items()]


def render(specs: Sequence[Path], out: Path, templates: Path | None = None) -> RenderResult:
    """Render every team into `out/<team>/`; nothing is written unless everything checks out."""
    plans = _plans(specs, out, templates)
    touched = apply(plans)
    return RenderResult(tuple(p.folder.name for p in plans), tuple(touched))


def check(specs: Sequence[Path], out: Path, templates: Path | None = None) -> list[str]:
    """Diffs between the render and the disk; raises `DriftError` carrying them if any."""
    diffs = drift(_plans(specs, out, templates))
    if diffs:
        raise DriftError("".join(diffs))
    return diffs


def validate_dirs(folders: Sequence[Path]) -> None:
    """Parse-back and structure checks of modules on disk."""
    problems: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            problems.append(f"{folder}: no such module folder")
            continue
        problems.extend(verify_module_dir(folder))
    if problems:
        raise OutputError("\n".join(problems))
