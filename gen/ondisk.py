"""`ecsgen validate`: checks of modules already on disk (ownership, interrupted renders, files
Terraform could not read, parse-back and the module rules of `gen.verify`, orphans whose spec is
gone), one module folder a worker, on `jobs` processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from . import parallel
from .errors import Finding, OutputError, UnreadableOutputError
from .load import display_path
from .orphans import missing_spec
from .progress import Progress
from .write import MANIFEST_NAME, inspect_module

__all__ = ["module_folders", "validate_dirs"]

ProgressFactory = Callable[[int, str], Progress]


def verify_module_dir(folder: Path) -> list[str]:
    """`gen.verify.verify_module_dir`."""
    from .verify import verify_module_dir as structure  # noqa: PLC0415

    return structure(folder)


def _findings(folder: Path, problems: Sequence[str]) -> list[Finding]:
    """Split `verify_module_dir`'s messages (`<path>: <reason>`) into findings."""
    out = []
    prefix = str(folder)
    for problem in problems:
        start = len(prefix) if problem.startswith(prefix) else 0
        cut = problem.find(": ", start)
        path, reason = (problem[:cut], problem[cut + 2 :]) if cut >= 0 else (prefix, problem)
        out.append(Finding(folder.name, path, _validate_code(reason), reason))
    return out


def _validate_code(reason: str) -> str:
    """The report code of one `validate` problem (`gen.report.CODES`)."""
    for words, code in (
        ("edited by hand", "edited"),
        ("interrupted", "interrupted"),
        ("is not in .ecsgen-manifest.json", "stale"),
        ("an orphaned module", "orphaned"),
    ):
        if words in reason:
            return code
    return "invalid"


def _inspected(folder: Path) -> tuple[list[str], list[str]]:
    """(problems, unreadable) of one module folder: ownership, interrupted renders, parse-back."""
    if not folder.is_dir():
        return [f"{folder}: no such module folder"], []
    owned, cannot_read, generated = inspect_module(folder)
    problems = [*owned, *filter(None, [missing_spec(folder)])]
    if generated and not cannot_read:
        problems.extend(verify_module_dir(folder))
    return problems, list(cannot_read)


def validate_dirs(
    folders: Sequence[Path],
    jobs: int | None = None,
    progress: ProgressFactory | None = None,
) -> None:
    """Ownership, parse-back and structure checks of modules on disk, on `jobs` processes."""
    jobs = jobs or parallel.default_jobs()
    if progress is None:
        results = parallel.run(_inspected, folders, jobs, name=display_path)
    else:
        with progress(len(folders), "ecsgen validate") as bar:
            results = parallel.run(_inspected, folders, jobs, bar.advance, display_path)
    problems = [p for found, _ in results for p in found]
    unreadable = [u for _, found in results for u in found]
    if unreadable:
        raise UnreadableOutputError("\n".join(unreadable + problems))
    if problems:
        pairs = zip(folders, results, strict=True)
        findings = [f for folder, (found, _) in pairs for f in _findings(folder, found)]
        raise OutputError("\n".join(problems), findings)


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
