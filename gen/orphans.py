"""Modules nobody owns any more: a team folder under `--out` that ecsgen provably wrote (its
manifest parses) from a spec inside what was given (a given spec folder, or a given spec file),
and that no given spec produces now: the spec file is gone, or it defines another team (a
renamed team). Folders made from specs outside what was given are left alone, so that checking
one folder of a bigger repository stays correct.

`check` reports an orphan (`orphaned`, exit 1), `render` says so on stderr and, with `--prune`,
removes an orphan whose every file still has the bytes ecsgen wrote (journaled, as any render
is), refusing one with hand edits unless `--force`. `validate`, which is given no specs, reports
a module whose header names a spec path that no longer exists (`missing_spec`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputWriteError, WriteConflictError
from .load import display_path
from .write import (
    MANIFEST_NAME,
    TeamPlan,
    header_spec,
    load_manifest,
    read_regular,
)

__all__ = ["Orphan", "find_orphans", "missing_spec", "prune", "prune_plan"]


@dataclass(frozen=True, slots=True)
class Orphan:
    folder: Path  # OUT/<team>
    spec: str  # as the headers name it (relative to the output folder's parent)
    why: str  # "no longer exists", "now defines team 'x'"
    files: Mapping[str, str]  # the manifest: name -> SHA-256 ecsgen wrote
    present: Mapping[str, str]  # listed files on disk: name -> SHA-256 of their bytes now
    edited: tuple[str, ...]  # listed files whose bytes differ from what ecsgen wrote

    @property
    def message(self) -> str:
        return (
            f"{display_path(self.folder)}/: an orphaned module: made from {self.spec}, which "
            f"{self.why}, and no spec given produces team {self.folder.name!r} any more. "
            f"Remove its module call from the infrastructure repository and apply there first "
            f"(that destroys its resources), then `ecsgen render --prune` removes the folder"
        )


def _spec_of(folder: Path, files: Mapping[str, str]) -> str | None:
    """The spec the module's headers name (the first listed file that has one)."""
    for name in sorted(files):
        data = read_regular(folder / name)
        if data is not None:
            spec = header_spec(data)
            if spec is not None:
                return spec
    return None


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def _in_scope(spec: Path, specs: Sequence[Path]) -> bool:
    """Whether the spec file `spec` (a real path) is one the given `specs` cover: a given file,
    or a spec file (`*.py`, not `_*`) directly in a given folder."""
    for given in specs:
        real = _real(given)
        if real.is_dir():
            if spec.parent == real and spec.suffix == ".py" and not spec.name.startswith("_"):
                return True
        elif real == spec:
            return True
    return False


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_orphans(out: Path, specs: Sequence[Path], produced: Mapping[str, Path]) -> list[Orphan]:
    """The orphaned module folders in `out` (resolved), in name order. `produced` maps each
    team the given `specs` produce to its spec file."""
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError:
        return []
    anchor = out.parent
    by_spec = {_real(path): team for team, path in produced.items()}
    found: list[Orphan] = []
    for entry in entries:
        folder = out / entry
        if entry.startswith(".") or entry in produced:
            continue
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                continue  # a file, or a link: never ecsgen's module folder
            files = load_manifest(folder)
        except (OSError, WriteConflictError, OutputWriteError):
            continue  # not provably ecsgen's
        if files is None:
            continue
        label = _spec_of(folder, files)
        if label is None:
            continue
        spec = _real(anchor / label)
        if not _in_scope(spec, specs):
            continue
        if not spec.exists():
            why = "no longer exists"
        elif spec in by_spec:
            why = f"now defines team {by_spec[spec]!r}"
        else:
            why = "no longer defines this team"
        present = {}
        for name in files:
            data = read_regular(folder / name)
            if data is not None:
                present[name] = _digest(data)
        edited = tuple(sorted(n for n, d in present.items() if d != files[n]))
        found.append(Orphan(folder, label, why, files, present, edited))
    return found


def prune_plan(orphan: Orphan, *, force: bool) -> TeamPlan:
    """The write plan that removes an orphan's files (each only while it still has the bytes
    seen now: the edited ones only with `force`) and, last, its manifest."""
    remove = {
        name: digest
        for name, digest in orphan.present.items()
        if force or name not in orphan.edited
    }
    manifest = read_regular(orphan.folder / MANIFEST_NAME)
    if manifest is not None:
        remove[MANIFEST_NAME] = _digest(manifest)
    return TeamPlan(orphan.folder, {}, (), remove, ())


def missing_spec(folder: Path) -> str | None:
    """For `validate`: a problem line when the module's headers name a spec path (relative to
    the output folder's parent) that no longer exists; None otherwise, or when it cannot tell
    (no manifest, or a spec named by its file name alone, which was outside that folder)."""
    try:
        files = load_manifest(folder)
    except (OSError, WriteConflictError, OutputWriteError):
        return None
    if not files:
        return None
    label = _spec_of(folder, files)
    if label is None or "/" not in label:
        return None
    anchor = folder.resolve().parent.parent
    if os.path.lexists(anchor / label):
        return None
    return (
        f"{display_path(folder)}: made from {label}, which no longer exists: an orphaned module "
        "(`ecsgen check` with the specs names it; `ecsgen render --prune` removes it once the "
        "infrastructure repository no longer calls it)"
    )


def prune(
    orphans: Sequence[Orphan], *, enabled: bool, force: bool
) -> tuple[list[TeamPlan], list[str]]:
    """What `render` does about `orphans`: without `enabled` (`--prune`), nothing but a note
    each; with it, the plans that remove them, refusing (`WriteConflictError`, before anything
    is written) an orphan with hand edits unless `force`."""
    if not enabled:
        return [], [f"{o.message} (left in place: run with --prune)" for o in orphans]
    edited = [o for o in orphans if o.edited and not force]
    if edited:
        listed = "; ".join(f"{display_path(o.folder)}/ ({', '.join(o.edited)})" for o in edited)
        raise WriteConflictError(
            f"refusing to prune orphaned modules with files edited by hand since ecsgen wrote "
            f"them: {listed}; keep what you need elsewhere, then run `ecsgen render --prune "
            "--force` (which removes them, edits included), or delete the folder yourself"
        )
    notes = [
        f"pruned the orphaned module {display_path(o.folder)}/ (made from {o.spec}, which {o.why})"
        for o in orphans
    ]
    return [prune_plan(o, force=force) for o in orphans], notes


def remove_empty(orphans: Sequence[Orphan]) -> list[str]:
    """Remove each pruned orphan's folder when nothing is left in it; notes for the others."""
    notes = []
    for orphan in orphans:
        try:
            orphan.folder.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            left = ", ".join(sorted(p.name for p in orphan.folder.iterdir()))
            notes.append(
                f"{display_path(orphan.folder)}/: kept, for the files ecsgen did not write: {left}"
            )
    return notes
