"""What a render would change in each team folder (`plan`), the refusals that protect hand
edits, the fast up-to-date check, and the text diff `check` prints (`drift`)."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import WriteConflictError
from ..write.ownership import (
    MANIFEST_NAME,
    _digest,
    _folder_state,
    _journaled,
    _Link,
    _load_manifest,
    _p,
    _pending,
    _read,
    _read_fd,
    has_exact_header,
    manifest_text,
    seal,
)


@dataclass(frozen=True, slots=True)
class TeamPlan:
    """What rendering one team changes on disk, decided from the folder's manifest."""

    folder: Path
    files: Mapping[str, str]  # everything the render writes, the manifest included
    write: tuple[str, ...]  # files whose bytes on disk differ (the manifest last)
    remove: Mapping[str, str]  # owned files no longer generated -> their SHA-256
    edited: tuple[str, ...]  # owned files changed by hand since ecsgen wrote them
    left: tuple[str, ...] = ()  # files in the folder ecsgen leaves alone and the user should know
    pending: tuple[str, ...] = ()  # leftovers of an interrupted render
    old: Mapping[str, bytes] = field(default_factory=dict)  # current bytes of files to change
    stale: tuple[str, ...] = ()  # files with ecsgen's exact header the render no longer makes
    recorded: tuple[str, ...] = ()  # files to change that still have the bytes ecsgen wrote

    def changed(self) -> list[str]:
        """Names of files whose content on disk differs from the render."""
        return list(self.write)


def _recorded_inputs(data: bytes | _Link | None) -> str | None:
    """The `"inputs"` value of a manifest's bytes, if it has one."""
    if not isinstance(data, bytes):
        return None
    try:
        found = json.loads(data.decode("utf-8")).get("inputs")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def plan(
    out: Path,
    team: str,
    files: Mapping[str, str],
    *,
    force: bool = False,
    inputs: str | None = None,
) -> TeamPlan:
    """Plan one team's writes; refuse (WriteConflictError) to touch a file ecsgen did not write.

    Files edited by hand are listed in `edited`; with `force` they are overwritten (an edited
    file that is no longer generated is left in place and dropped from the manifest). `inputs`
    is the team's inputs digest: the manifest written records it (sealed with the file list),
    but a manifest on disk that differs from the render only in its `"inputs"` value (or lacks
    it) is not by itself a change."""
    folder = out / team
    wanted = {name: text.encode("utf-8") for name, text in files.items()}
    digests = {name: _digest(data) for name, data in wanted.items()}
    key = seal(inputs, digests) if inputs is not None else None
    everything = {**files, MANIFEST_NAME: manifest_text(files, digests, key)}
    if not _folder_state(folder):
        return TeamPlan(folder, everything, (*sorted(files), MANIFEST_NAME), {}, ())
    entries = set(os.listdir(folder))
    on_disk = _read(folder / MANIFEST_NAME) if MANIFEST_NAME in entries else None
    manifest = _load_manifest(folder, on_disk)
    in_flight = _journaled(folder, entries)  # an interrupted render's files: old or new bytes
    conflicts: list[str] = []
    edited: list[str] = []
    write: list[str] = []
    left: list[str] = []
    as_written: list[str] = []
    old: dict[str, bytes] = {}
    for name in sorted(files):
        path = folder / name
        data = _read(path) if name in entries else None
        want = wanted[name]
        if data is None:
            write.append(name)
            continue
        if isinstance(data, _Link):
            conflicts.append(
                f"{_p(path)} (a symbolic link or special file; ecsgen never writes through"
            )
            conflicts[-1] += " links)"
            continue
        if name in in_flight:
            pass
        elif manifest is not None:
            if name not in manifest:
                conflicts.append(f"{_p(path)} (not in {MANIFEST_NAME}: ecsgen did not write it)")
                continue
            unchanged = data == want and manifest[name] == digests[name]
            if not unchanged and _digest(data) != manifest[name]:
                edited.append(name)
            elif not unchanged:
                as_written.append(name)
        elif not has_exact_header(data):
            conflicts.append(f"{_p(path)} (no ecsgen header)")
            continue
        if data != want:
            write.append(name)
            old[name] = data
    if conflicts:
        raise WriteConflictError(
            "refusing to overwrite files that ecsgen did not generate: "
            + ", ".join(conflicts)
            + "; move them away or choose another --out"
        )
    remove: dict[str, str] = {}
    for name, digest in sorted((manifest or {}).items()):
        if name in files:
            continue
        data = _read(folder / name)
        if not isinstance(data, bytes):
            continue  # already gone, or replaced by a link: not ours any more
        if name in in_flight:
            remove[name] = digest
            old[name] = data
            continue
        if _digest(data) == digest:
            remove[name] = digest
            old[name] = data
        elif force:
            left.append(
                f"{_p(folder / name)}: edited by hand and no longer generated; left in place "
                "(Terraform still reads it: delete it, or move what you need into a file of your "
                "own without the header; `ecsgen check` and `ecsgen validate` report it until then)"
            )
        else:
            edited.append(name)
    stale = _stale(folder, entries, files, remove, edited)
    for entry in stale:
        if manifest is None:
            left.append(
                f"{_p(folder / entry)}: has an ecsgen header, but the render does not make "
                f"it and no {MANIFEST_NAME} records it; left in place (delete it if stale: "
                "`ecsgen check` and `ecsgen validate` report it until it is gone)"
            )
        elif entry not in (manifest or {}):
            left.append(_stale_note(folder / entry))
    recorded = on_disk == everything[MANIFEST_NAME].encode("utf-8") or (
        isinstance(on_disk, bytes)
        and on_disk == manifest_text(files, digests, _recorded_inputs(on_disk)).encode("utf-8")
    )
    if not recorded or write or remove:
        write.append(MANIFEST_NAME)
        if isinstance(on_disk, bytes):
            old[MANIFEST_NAME] = on_disk
    return TeamPlan(
        folder,
        everything,
        tuple(write),
        remove,
        tuple(sorted(edited)),
        tuple(left),
        tuple(_pending(folder, entries)),
        old,
        stale,
        tuple(as_written),
    )


def _stale(
    folder: Path,
    entries: set[str],
    files: Mapping[str, str],
    remove: Mapping[str, str],
    edited: list[str],
) -> tuple[str, ...]:
    """Files in `folder` with ecsgen's exact header that the render does not make and that
    this render does not remove or report as edited: a job renamed since, an edited file kept
    by `--force`, a copy saved under another name. Terraform still reads each of them."""
    found = []
    for entry in sorted(entries):
        if entry in files or entry in remove or entry in edited:
            continue
        if not entry.endswith((".tf", ".md")):
            continue
        data = _read(folder / entry)
        if isinstance(data, bytes) and has_exact_header(data):
            found.append(entry)
    return tuple(found)


def _stale_note(path: Path) -> str:
    return (
        f"{_p(path)}: has ecsgen's header but the render no longer makes it; left in place "
        "(Terraform still reads it: delete it, or move what you need into a file of your own "
        "without the header; `ecsgen check` and `ecsgen validate` report it until then)"
    )


def refuse_edits(plans: Iterable[TeamPlan], command: str = "ecsgen render") -> None:
    """`WriteConflictError` naming every generated file edited by hand, with what works for
    each: an edited file the render still makes is overwritten by `--force` (the edit is
    lost); one it no longer makes is kept even by `--force`, so deleting it is the way.
    `command` is the render as the caller would repeat it."""
    kept: list[str] = []
    lost: list[str] = []
    for team in plans:
        for name in team.edited:
            (lost if name in team.files else kept).append(_p(team.folder / name))
    parts = []
    if lost:
        parts.append(
            "refusing to overwrite generated files edited by hand since ecsgen wrote them: "
            + ", ".join(lost)
            + "; move the change into the spec (or a hand-written file beside the module), "
            f"or run `{command} --force` to discard it"
        )
    if kept:
        parts.append(
            "generated files edited by hand that the render no longer makes: "
            + ", ".join(kept)
            + "; keep what you need in a file of your own (without the header), then delete "
            "them (`--force` would leave them in place, where Terraform still reads them)"
        )
    if parts:
        raise WriteConflictError("\n".join(parts))


def up_to_date(folder: Path, inputs: str) -> bool:
    """True when `folder` provably holds the render of a team whose inputs digest is `inputs`:
    its manifest is exactly what this ecsgen version writes and records these inputs (sealed
    with the file list), nothing is pending, the folder holds nothing but the listed files and
    the manifest, and every listed file (a regular file, links not followed) has the listed
    SHA-256. Anything else, or any doubt, is False: the caller renders the team."""
    try:  # the folder itself, never through a link; its files are opened relative to it
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return _up_to_date_at(folder_fd, inputs)
    except OSError:
        return False
    finally:
        os.close(folder_fd)


def _read_at(folder_fd: int, name: str) -> bytes | None:
    """The bytes of the regular file `name` in the folder open as `folder_fd` (links not
    followed); None when it is missing or anything but a regular file."""
    try:
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder_fd
        )
    except OSError:
        return None
    try:
        return _read_fd(fd)
    finally:
        os.close(fd)


def _up_to_date_at(folder_fd: int, inputs: str) -> bool:
    entries = set(os.listdir(folder_fd))
    data = _read_at(folder_fd, MANIFEST_NAME)
    if data is None:
        return False
    try:
        doc = json.loads(data.decode("utf-8"))
        files = doc["files"]
    except (ValueError, KeyError, TypeError):
        return False
    if (
        not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        or doc.get("version") != __version__
        or doc.get("inputs") != seal(inputs, files)
        or entries != {*files, MANIFEST_NAME}  # so each listed name is a plain entry here
        or data != manifest_text(files, files, doc["inputs"]).encode("utf-8")
    ):
        return False
    for name, digest in files.items():
        body = _read_at(folder_fd, name)
        if body is None or _digest(body) != digest:
            return False
    return True


def unified_diff(old: str, new: str, fromfile: str, tofile: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=fromfile,
            tofile=tofile,
        )
    )


def drift(plans: Iterable[TeamPlan]) -> list[str]:
    """Unified diffs (disk -> render) of every changed, missing, stale or hand-edited file, and a
    line for each interrupted render."""
    diffs: list[str] = []
    for team in plans:
        diffs.extend(f"# {line}; run `ecsgen render` to finish it\n" for line in team.pending)
        diffs.extend(
            f"# {_p(team.folder / name)}: edited by hand since ecsgen wrote it\n"
            for name in team.edited
        )
        diffs.extend(
            f"# {_p(team.folder / name)}: has ecsgen's header but the render no longer makes "
            "it; delete it (Terraform still reads it)\n"
            for name in team.stale
        )
        for name in team.write:
            path = _p(team.folder / name)
            old = team.old.get(name)
            shown = old.decode("utf-8", errors="replace") if old is not None else ""
            source = f"{path} (on disk)" if old is not None else "/dev/null"
            diffs.append(unified_diff(shown, team.files[name], source, f"{path} (rendered)"))
        for name in team.remove:
            path = _p(team.folder / name)
            old_text = team.old[name].decode("utf-8", errors="replace")
            diffs.append(
                unified_diff(old_text, "", f"{path} (on disk)", "/dev/null (no longer generated)")
            )
    return diffs
