"""Applying plans all-or-nothing: staged files, the journal as the commit point, renames,
the manifest last; `recover` finishes or rolls back what a killed render left. The fault
injection hook of the tests (`ECSGEN_FAULT_AT`) ends the process at a chosen write step."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputWriteError, WriteConflictError
from ..write.ownership import (
    JOURNAL_NAME,
    MANIFEST_NAME,
    STAGING_NAME,
    _digest,
    _legacy_temps,
    _p,
    _read,
)
from ..write.plan import TeamPlan

# Fault injection for the tests: with ECSGEN_FAULT_AT=N the process ends (os._exit) at its Nth
# write step, exactly as a kill -9 would leave it. Unset in normal use.
FAULT_ENV = "ECSGEN_FAULT_AT"
FAULT_EXIT = 86
_steps = [0]


def _step(label: str) -> None:
    """A write step; the fault-injection hook of the tests ends the process at the chosen one."""
    target = os.environ.get(FAULT_ENV)
    if not target:
        return
    _steps[0] += 1
    if _steps[0] == int(target):
        os.write(2, f"ecsgen: fault injection: killed at step {_steps[0]} ({label})\n".encode())
        os._exit(FAULT_EXIT)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    written: tuple[Path, ...]
    removed: tuple[Path, ...]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes, label: str) -> None:
    _step(f"create {label}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # the same mode whatever the umask
        _step(f"write {label}")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_if_ours(path: Path, digest: str) -> bool:
    data = _read(path)
    if isinstance(data, bytes) and _digest(data) == digest:
        path.unlink()
        return True
    return False


def _stage(team: TeamPlan) -> bool:
    """Stage every changed file of `team`; True when the team folder was created here."""
    created = False
    if not os.path.lexists(team.folder):
        _step(f"mkdir {team.folder.name}")
        team.folder.mkdir(parents=True)
        created = True
    staging = team.folder / STAGING_NAME
    _step(f"mkdir {team.folder.name}/{STAGING_NAME}")
    staging.mkdir()
    for name in team.write:
        _write_new(staging / name, team.files[name].encode("utf-8"), f"{team.folder.name}/{name}")
    _fsync_dir(staging)
    return created


def _journal(team: TeamPlan) -> None:
    doc = {"write": list(team.write), "remove": dict(team.remove)}
    temp = team.folder / STAGING_NAME / JOURNAL_NAME
    _write_new(temp, (json.dumps(doc, indent=2) + "\n").encode(), f"{team.folder.name}/journal")
    _step(f"commit {team.folder.name}")
    os.replace(temp, team.folder / JOURNAL_NAME)
    _fsync_dir(team.folder)


def _finish(folder: Path, journal: Mapping[str, object]) -> list[Path]:
    """Roll a journaled team forward; idempotent, so a kill here is finished by the next run."""
    staging = folder / STAGING_NAME
    removed: list[Path] = []
    writes = journal.get("write", [])
    removes = journal.get("remove", {})
    assert isinstance(writes, list) and isinstance(removes, dict)
    for name in [n for n in writes if n != MANIFEST_NAME]:
        if isinstance(_read(staging / name), bytes):
            _step(f"rename {folder.name}/{name}")
            os.replace(staging / name, folder / name)
    for name, digest in sorted(removes.items(), key=lambda kv: (kv[0] == MANIFEST_NAME, kv[0])):
        _step(f"remove {folder.name}/{name}")
        if _remove_if_ours(folder / name, str(digest)):
            removed.append(folder / name)
    if MANIFEST_NAME in writes and isinstance(_read(staging / MANIFEST_NAME), bytes):
        _step(f"rename {folder.name}/{MANIFEST_NAME}")  # the manifest last
        os.replace(staging / MANIFEST_NAME, folder / MANIFEST_NAME)
    _fsync_dir(folder)
    _step(f"clean {folder.name}/{STAGING_NAME}")
    shutil.rmtree(staging, ignore_errors=True)
    _step(f"unjournal {folder.name}")
    (folder / JOURNAL_NAME).unlink(missing_ok=True)
    _fsync_dir(folder)
    return removed


def recover(out: Path) -> list[str]:
    """Finish (journal) or roll back (staging only) every interrupted team render in `out`.

    Call it holding the output lock. Returns what was done, one line each."""
    done: list[str] = []
    if not out.is_dir():
        return done
    for entry in sorted(os.listdir(out)):
        folder = out / entry
        if os.path.islink(folder) or not folder.is_dir():
            continue
        journal_path = folder / JOURNAL_NAME
        acted = False
        data = _read(journal_path)
        if isinstance(data, bytes):
            try:
                journal = json.loads(data.decode("utf-8"))
            except ValueError:
                journal = None
            if not isinstance(journal, dict):
                raise WriteConflictError(
                    f"{_p(journal_path)}: not a journal ecsgen can read; restore the folder "
                    "from version control"
                )
            removed = _finish(folder, journal)
            acted = True
            done.append(f"finished the interrupted render of {_p(folder)}")
            done.extend(f"removed {_p(p)} (no longer generated)" for p in removed)
        elif os.path.lexists(folder / STAGING_NAME):
            _step(f"rollback {folder.name}")
            shutil.rmtree(folder / STAGING_NAME, ignore_errors=True)
            acted = True
            done.append(
                f"rolled back the interrupted render of {_p(folder)} (removed its staged files)"
            )
        for name in _legacy_temps(folder):
            (folder / name).unlink()
            done.append(f"removed {_p(folder / name)} (a staged file of an interrupted render)")
        if acted and not os.listdir(folder):
            folder.rmdir()  # an empty team folder the interrupted render had created
    return done


def apply(plans: Iterable[TeamPlan]) -> ApplyResult:
    """Write every planned team: stage all teams, then commit each (journal, renames, removals,
    manifest). A failure while staging removes what was staged and changes nothing."""
    todo = [p for p in plans if p.write or p.remove]
    staged: list[tuple[TeamPlan, bool]] = []
    try:
        for team in todo:
            created = not os.path.lexists(team.folder)
            staged.append((team, created))
            _stage(team)
    except OSError as exc:
        for team, created in staged:
            shutil.rmtree(team.folder / STAGING_NAME, ignore_errors=True)
            if created and os.path.isdir(team.folder) and not os.listdir(team.folder):
                team.folder.rmdir()
        where = _p(exc.filename) if exc.filename else "the output folder"
        raise OutputWriteError(
            f"cannot write {where}: {exc.strerror or exc}; nothing was changed"
        ) from exc
    written: list[Path] = []
    removed: list[Path] = []
    for team, _ in staged:
        _journal(team)
        written.extend(team.folder / n for n in team.write if n != MANIFEST_NAME)
        removed.extend(_finish(team.folder, {"write": list(team.write), "remove": team.remove}))
    return ApplyResult(tuple(written), tuple(removed))
