"""Writing modules safely: never touch a file ecsgen did not generate, and write atomically.

A team's files are first staged next to their targets (same folder, so the final rename is
atomic); only when every file is staged are they renamed into place and the generated files
that the render no longer produces removed. A failure while staging leaves the previous output
whole.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gen.errors import WriteConflictError
from gen.render import GENERATED_MARKERS

__all__ = ["TEMP_SUFFIX", "TeamPlan", "apply", "drift", "is_generated", "plan"]

TEMP_SUFFIX = ".ecsgen-tmp"  # staged files; one left by a killed run is removed by the next


def is_generated(path: Path) -> bool:
    """True when `path` is a file that starts with ecsgen's generated-file header."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64).decode("utf-8", errors="replace")
    except OSError:
        return False
    return head.startswith(GENERATED_MARKERS)


@dataclass(frozen=True, slots=True)
class TeamPlan:
    """What rendering one team changes on disk."""

    folder: Path
    files: Mapping[str, str]
    stale: tuple[Path, ...]

    def changed(self) -> list[str]:
        """Names of files whose content on disk differs from the render."""
        out = []
        for name, text in self.files.items():
            path = self.folder / name
            if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                out.append(name)
        return out


def plan(out: Path, team: str, files: Mapping[str, str]) -> TeamPlan:
    """Plan the writes for one team; refuse if a target exists and is not ecsgen's."""
    folder = out / team
    if folder.exists() and not folder.is_dir():
        raise WriteConflictError(
            f"{folder}: exists and is not a folder; ecsgen will not replace it"
        )
    conflicts = [
        str(folder / name)
        for name in files
        if (folder / name).exists() and not is_generated(folder / name)
    ]
    if conflicts:
        raise WriteConflictError(
            "refusing to overwrite files that ecsgen did not generate (no ecsgen header): "
            + ", ".join(conflicts)
            + "; move them away or choose another --out"
        )
    stale: list[Path] = []
    if folder.is_dir():
        stale = [
            p
            for p in sorted(folder.iterdir())
            if p.is_file()
            and p.name not in files
            and (p.suffix in (".tf", ".md") or p.name.endswith(TEMP_SUFFIX))
            and is_generated(p)
        ]
    return TeamPlan(folder, dict(files), tuple(stale))


def apply(plans: list[TeamPlan]) -> list[Path]:
    """Write every planned team; returns the paths written or removed."""
    staged: list[tuple[Path, Path]] = []
    try:
        for team in plans:
            team.folder.mkdir(parents=True, exist_ok=True)
            for name in team.changed():
                target = team.folder / name
                fd, temp_name = tempfile.mkstemp(
                    dir=team.folder, prefix=f".{name}.", suffix=TEMP_SUFFIX
                )
                temp = Path(temp_name)
                staged.append((temp, target))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(team.files[name].encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())
                temp.chmod(0o644)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    touched = []
    for temp, target in staged:
        temp.replace(target)
        touched.append(target)
    for team in plans:
        for path in team.stale:
            path.unlink()
            touched.append(path)
    return touched


def drift(plans: list[TeamPlan]) -> list[str]:
    """Unified diffs (disk -> render) of every changed, missing or stale file."""
    diffs: list[str] = []
    for team in plans:
        for name in team.changed():
            path = team.folder / name
            old = path.read_text(encoding="utf-8") if path.is_file() else ""
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        team.files[name].splitlines(keepends=True),
                        fromfile=f"{path} (on disk)" if path.is_file() else "/dev/null",
                        tofile=f"{path} (rendered)",
                    )
                )
            )
        for path in team.stale:
            old = path.read_text(encoding="utf-8")
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        [],
                        fromfile=f"{path} (on disk)",
                        tofile="/dev/null (no longer generated)",
                    )
                )
            )
    return diffs
