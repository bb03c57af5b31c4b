"""The library entry points the CLI calls: spec files in, checked module files out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gen.errors import DriftError, OutputError, UnreadableOutputError, WriteConflictError
from gen.isolate import load_and_validate
from gen.load import display_path
from gen.lock import LOCK_WAIT, output_lock
from gen.model import build
from gen.render import render_module
from gen.settings import templates_setting
from gen.verify import verify_files, verify_module_dir
from gen.write import MANIFEST_NAME, apply, drift, inspect_module, plan, recover

__all__ = [
    "RenderResult",
    "check",
    "module_folders",
    "render",
    "render_in_memory",
    "validate_dirs",
]


@dataclass(frozen=True, slots=True)
class RenderResult:
    teams: tuple[str, ...]
    touched: tuple[Path, ...]
    removed: tuple[Path, ...] = ()  # generated files no longer produced, removed
    notes: tuple[str, ...] = ()  # recoveries and files left alone, one line each


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
    out: dict[str, dict[str, str]] = {}
    for team in teams:
        module = build(team, anchor, templates)
        files = render_module(module, templates)
        verify_files(module, files)
        out[team.name] = files
    return out


def render(
    specs: Sequence[Path],
    out: Path,
    templates: Path | None = None,
    *,
    force: bool = False,
    wait: float = LOCK_WAIT,
) -> RenderResult:
    """Render every team into `out/<team>/`; nothing is written unless everything checks out.

    `out` is resolved before any spec runs. The output lock is held from planning to the last
    write; an interrupted earlier render is finished or rolled back first. Files edited by hand
    stop the render (`WriteConflictError`) unless `force`."""
    out = out.resolve()
    rendered = render_in_memory(specs, anchor=out.parent, templates=templates)
    with output_lock(out, wait):
        notes = recover(out)
        plans = [plan(out, team, files, force=force) for team, files in rendered.items()]
        edited = [str(p.folder / name) for p in plans for name in p.edited]
        if edited and not force:
            raise WriteConflictError(
                "refusing to overwrite generated files edited by hand since ecsgen wrote them: "
                + ", ".join(display_path(e) for e in edited)
                + "; move the change into the spec (or a hand-written file beside the module), "
                "or run `ecsgen render --force` to discard it"
            )
        result = apply(plans)
    notes.extend(line for p in plans for line in p.left)
    return RenderResult(
        tuple(p.folder.name for p in plans),
        result.written + result.removed,
        result.removed,
        tuple(notes),
    )


def check(specs: Sequence[Path], out: Path, templates: Path | None = None) -> list[str]:
    """Diffs between the render and the disk; raises `DriftError` carrying them if any.

    Also reports files edited by hand and renders interrupted half-way. Writes nothing."""
    out = out.resolve()
    rendered = render_in_memory(specs, anchor=out.parent, templates=templates)
    diffs = drift(plan(out, team, files) for team, files in rendered.items())
    if diffs:
        raise DriftError("".join(diffs))
    return diffs


def validate_dirs(folders: Sequence[Path]) -> None:
    """Parse-back and structure checks of modules on disk."""
    problems: list[str] = []
    unreadable: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            problems.append(f"{folder}: no such module folder")
            continue
        owned, cannot_read, generated = inspect_module(folder)
        problems.extend(owned)
        unreadable.extend(cannot_read)
        if generated and not cannot_read:
            problems.extend(verify_module_dir(folder))
    if unreadable:
        raise UnreadableOutputError("\n".join(unreadable + problems))
    if problems:
        raise OutputError("\n".join(problems))


def module_folders(dirs: Sequence[Path]) -> list[Path]:
    """The module folders named by `dirs`: a folder with `.tf` files or a manifest is a module;
    any other folder stands for its subfolders (such as output/), or for itself when it has
    none (so that `validate` refuses it)."""
    folders: list[Path] = []
    for folder in dirs:
        if any(folder.glob("*.tf")) or (folder / MANIFEST_NAME).exists():
            folders.append(folder)
            continue
        subfolders = [
            p for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")
        ]
        folders.extend(subfolders or [folder])
    return folders
