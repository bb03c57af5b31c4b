"""Loading spec files: plain Python that defines `team`.

A folder holds one spec per `*.py` file; files whose name starts with `_` are shared modules
(defaults, helpers) that specs import like any module, never specs themselves, whether a folder
or a shell glob (`teams/*.py`) names them. Subfolders of a specs folder are not read; the CLI
names those that hold spec files (`skipped_subfolders`). A spec file that
does not parse or that raises becomes a `Problem` naming the file and line, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import CodeType

from .errors import Problem, SpecError, safe_text
from .spec import Team

__all__ = [
    "LoadedSpec",
    "display_path",
    "find_spec_files",
    "load_all",
    "load_specs",
    "skipped_subfolders",
    "spec_label",
]


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    """A spec file and the `team` it defined."""

    path: Path
    team: Team


@lru_cache(maxsize=8)
def _real_cwd(cwd: str) -> str:
    return os.path.realpath(cwd)


def _shown(real: str) -> str:
    """A resolved path relative to the working directory when it is below it."""
    cwd = _real_cwd(os.getcwd())  # noqa: PTH109 - a string: this runs for every spec
    if real == cwd:
        return "."
    prefix = cwd if cwd.endswith("/") else cwd + "/"
    return real[len(prefix) :] if real.startswith(prefix) else real


def display_path(path: Path | str) -> str:
    """`path` relative to the working directory when it is below it, for stable messages.

    (`Path.resolve` and `relative_to`, done on strings: this runs for every spec.)"""
    return _shown(os.path.realpath(path))


def spec_label(path: Path, anchor: Path) -> str:
    """How headers name the spec: relative to `anchor` (the output folder's parent) when below
    it, else by file name, so that the same spec renders the same bytes from any directory."""
    try:
        return path.relative_to(anchor.resolve()).as_posix()
    except ValueError:
        return path.name


def find_spec_files(paths: Sequence[Path]) -> list[Path]:
    """Spec files named by `paths` (files, or folders of `*.py`), sorted, without duplicates."""
    found: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.glob("*.py")) if not p.name.startswith("_"))
        elif path.is_file() and path.suffix == ".py":
            if not path.name.startswith("_"):  # a shared module, as in a folder
                found.append(path)
        else:
            problems.append(
                Problem(
                    display_path(path),
                    None,
                    None,
                    "",
                    "no such spec file or folder (give a .py spec file or a folder of them)",
                )
            )
    if problems:
        raise SpecError(problems)
    # Resolved as strings (this runs for every spec), sorted as the resolved Paths would be.
    by_real = {os.path.realpath(p): p for p in found}
    unique = [by_real[real] for real in sorted(by_real, key=lambda real: real.split("/"))]
    if not unique:
        raise SpecError(
            [
                Problem(
                    ", ".join(display_path(p) for p in paths),
                    None,
                    None,
                    "",
                    "no spec files found (a spec is a .py file defining `team`; files whose "
                    "name starts with _ are shared modules, not specs)",
                )
            ]
        )
    return unique


def skipped_subfolders(paths: Sequence[Path]) -> list[str]:
    """The subfolders (shown relative) of the folders in `paths` that hold spec files but are
    not read, because only a folder's own `*.py` files are specs; empty when each is named too."""
    named = {os.path.realpath(p) for p in paths if p.is_dir()}
    skipped: list[str] = []
    for path in paths:
        if not path.is_dir():
            continue
        for sub in sorted(p for p in path.iterdir() if p.is_dir()):
            if sub.name.startswith((".", "_")) or os.path.realpath(sub) in named:
                continue
            if any(not f.name.startswith("_") for f in sub.rglob("*.py")):
                skipped.append(display_path(sub))
    return skipped


@contextmanager
def _import_root(folder: Path) -> Iterator[None]:
    """Let a spec import its neighbours (shared defaults) for the time of its execution; the
    working directory, `sys.path` and `sys.stdout` are restored afterwards, whatever it did."""
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    saved_cwd = Path.cwd()
    saved_stdout = sys.stdout
    root = os.path.realpath(folder)
    inside = root if root.endswith("/") else root + "/"
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.stdout = saved_stdout
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in saved_modules.keys() - sys.modules.keys():  # a spec must not unload ecsgen
            sys.modules[name] = saved_modules[name]
        for name in set(sys.modules) - set(saved_modules):
            module = sys.modules[name]
            origin = getattr(module, "__file__", None) or ""
            if origin:
                real = os.path.realpath(origin)
                if real == root or real.startswith(inside):
                    del sys.modules[name]


def _spec_line(exc: BaseException, path: Path) -> int | None:
    """The deepest line of the traceback that lies in a spec folder file."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve().parent == path.resolve().parent:
            line = frame.lineno
    return line


@cache
def _code_cache() -> Path | None:
    """`<temp>/ecsgen-code-<uid>`: compiled specs kept between runs, in a folder only this user
    may use (created with mode 0700, refused unless it is a real folder of this user's with that
    mode, as Jinja does for its bytecode cache); None where there is no such folder."""
    if not hasattr(os, "getuid"):  # pragma: no cover - not on POSIX
        return None
    folder = Path(tempfile.gettempdir()) / f"ecsgen-code-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return None
    return folder if stat.S_IMODE(info.st_mode) == 0o700 else None


_CODE_KEY = importlib.util.MAGIC_NUMBER + (sys.implementation.cache_tag or "").encode()


def _compile(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, kept in `_code_cache()` under the SHA-256 of the
    Python bytecode version, the file name and the source (so an entry is only ever the code of
    those exact bytes, as a `.pyc` is); compiling 1000 specs is about a quarter of loading them.
    A missing, unreadable or damaged entry is compiled again; one that cannot be written is
    not kept."""
    folder = _code_cache()
    if folder is None:
        return compile(source, filename, "exec")
    parts = [_CODE_KEY, filename.encode("utf-8", "surrogatepass")]
    parts.append(source.encode("utf-8", "surrogatepass"))
    entry = folder / hashlib.sha256(b"\0".join(parts)).hexdigest()
    try:
        code = marshal.loads(entry.read_bytes())  # noqa: S302 - our own folder, mode 0700
        if isinstance(code, CodeType) and code.co_filename == filename:
            return code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    code = compile(source, filename, "exec")
    with contextlib.suppress(OSError):
        partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps(code))
        partial.replace(entry)  # whole or not at all, for a concurrent reader
    return code


def _load_one(path: Path) -> Team | Problem:
    real = os.path.realpath(path)
    shown = _shown(real)
    try:
        source = path.read_text(encoding="utf-8")
        code = _compile(source, str(path))
    except SyntaxError as exc:
        return Problem(shown, exc.lineno, None, "", f"the spec does not parse: {exc.msg}")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(shown, None, None, "", f"cannot read the spec: {exc}")
    name = f"ecsgen_spec_{abs(hash(Path(real)))}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    with _import_root(path.parent):
        try:
            exec(code, module.__dict__)  # noqa: S102 - running the user's spec is the point
        except SyntaxError as exc:
            where = display_path(exc.filename) if exc.filename else shown
            return Problem(
                where, exc.lineno, None, "", f"a module the spec imports does not parse: {exc.msg}"
            )
        except BaseException as exc:  # noqa: BLE001 - user code failing is a Problem
            # KeyboardInterrupt too: spec code runs in a loading child, and a real Ctrl-C
            # reaches ecsgen's own process, which stops ("Aborted!") whatever this reports.
            return Problem(
                shown,
                _spec_line(exc, path),
                None,
                "",
                f"the spec raised {type(exc).__name__}"
                + (f": {safe_text(exc)}" if safe_text(exc) else ""),
            )
    team = module.__dict__.get("team")
    if not isinstance(team, Team):
        got = "nothing" if team is None else type(team).__name__
        return Problem(
            shown,
            None,
            None,
            "team",
            f"a spec must define `team = Team(...)` (from ecsgen import Team); got {got}",
        )
    return team


def load_all(
    files: Sequence[Path], on_start: Callable[[Path], None] | None = None
) -> tuple[list[LoadedSpec], list[Problem]]:
    """Execute each spec file (from `find_spec_files`); the teams, and the files that failed."""
    loaded: list[LoadedSpec] = []
    problems: list[Problem] = []
    for path in files:
        if on_start is not None:
            on_start(path)
        result = _load_one(path)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            loaded.append(LoadedSpec(path, result))
    return loaded, problems


def load_specs(paths: Sequence[Path]) -> list[LoadedSpec]:
    """Execute each spec file and collect its team; all failures are reported together."""
    loaded, problems = load_all(find_spec_files(paths))
    if problems:
        raise SpecError(problems)
    return loaded
