"""Running spec files in child processes, so that spec code cannot move or fake the work.

A spec is Python run with the caller's rights (like `setup.py` or `conftest.py`); ecsgen does not
sandbox it. What the child process guards against is a spec that, by accident or carelessness,
changes the process ecsgen runs in: `os.chdir` (output paths are resolved before the child
starts and the parent's working directory never changes), `sys.path` or `sys.modules` edits,
`print` (the child's stdout goes to stderr, never into `check`'s diff), and `os._exit`,
`sys.exit`, `GeneratorExit` or a signal (the parent only accepts the child's final message,
with one team per spec file; anything less is a spec error, exit 2).

One child loads and validates all the specs (forked, so it starts in about a millisecond with
every module already imported); only the validated, plain-data `TeamConfig`s come back, pickled
through a pipe. A big fleet (`MIN_SHARE` files a child at least) is shared by up to `--jobs`
children, each loading a contiguous share of the files in order; the parent reads them in file
order and checks what spans files (team names unique), so the result, the relayed prints and the
errors are those of one child. Rendering, parse-back and writing happen in the parent.
"""

from __future__ import annotations

import contextlib
import gc
import io
import mmap
import os
import pickle
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gen.errors import EcsgenError, Problem, SpecError
from gen.load import display_path, find_spec_files, load_all
from gen.parallel import default_jobs, shares
from gen.validate import Checked, TeamConfig, check_each, combine

__all__ = ["MIN_SHARE", "load_and_validate"]

MIN_SHARE = 64  # spec files a loading child takes at least: below that one child loads them all


class _Relay(io.TextIOBase):
    """The child's `sys.stdout`: what a spec prints goes to the parent's stderr."""

    def __init__(self, channel: BinaryIO) -> None:
        self.channel = channel

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        _send(self.channel, ("print", str(text)))
        return len(text)


def _send(channel: BinaryIO, message: tuple[str, object]) -> None:
    pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
    channel.flush()


def _child(paths: Sequence[Path], channel: BinaryIO, progress: mmap.mmap) -> None:
    """Load and check every spec; the last message is ("result", ...) or ("crash", ...).

    `progress` (memory shared with the parent) holds the index of the spec being loaded, so
    that the parent can name it if the process dies there."""
    index = {p: i for i, p in enumerate(paths)}

    def starting(path: Path) -> None:
        progress[:8] = index[path].to_bytes(8, "little")

    try:
        os.dup2(2, 1)  # raw writes to fd 1 (os.write, subprocesses) land on stderr too
        sys.stdout = _Relay(channel)
        loaded, problems = load_all(paths, starting)
        _send(channel, ("result", (problems, check_each(loaded))))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, never a traceback here
        text = "".join(traceback.format_exception(exc))
        with contextlib.suppress(BaseException):
            _send(channel, ("crash", f"{type(exc).__name__}: {exc}\n{text}"))


@dataclass(slots=True)
class _Loader:
    """One child process loading a contiguous share of the spec files."""

    paths: Sequence[Path]
    pid: int
    channel: BinaryIO
    progress: mmap.mmap
    outcome: tuple[str, object] | None = None
    status: int = 0

    def started(self) -> Path | None:
        """The spec the child was loading when it stopped, if it stopped inside one."""
        last = int.from_bytes(self.progress[:8], "little")
        return self.paths[last] if last < len(self.paths) else None


def _fork(paths: Sequence[Path], inherited: Sequence[_Loader]) -> _Loader:
    read_fd, write_fd = os.pipe()
    progress = mmap.mmap(-1, 8)
    progress[:8] = (2**64 - 1).to_bytes(8, "little")
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_fd)
            for other in inherited:  # the other children's channels are theirs
                other.channel.close()
            with os.fdopen(write_fd, "wb") as channel:
                _child(paths, channel, progress)
        finally:
            os._exit(0)
    os.close(write_fd)
    return _Loader(paths, pid, os.fdopen(read_fd, "rb"), progress)


def _receive(loader: _Loader) -> None:
    """Relay the child's prints to stderr until it ends; keep its last message and status."""
    with loader.channel as channel:
        while True:
            try:
                kind, body = pickle.load(channel)  # noqa: S301 - from our own child process
            except EOFError:
                break
            except Exception:  # noqa: BLE001 - a spec wrote garbage into the channel
                loader.outcome = None
                break
            if kind == "print":
                sys.stderr.write(str(body))
            else:
                loader.outcome = (kind, body)
    _, loader.status = os.waitpid(loader.pid, 0)


def _shares(paths: Sequence[Path], jobs: int | None) -> list[Sequence[Path]]:
    """`paths` cut into contiguous shares, one a child: up to `jobs` (default: one per CPU),
    each of at least `MIN_SHARE` files."""
    return shares(paths, min(jobs or default_jobs(), len(paths) // MIN_SHARE))


def load_and_validate(specs: Sequence[Path], jobs: int | None = None) -> list[TeamConfig]:
    """Load and validate `specs` in child processes (up to `jobs`, each loading a contiguous
    share of the files, for big fleets); the validated teams, or a `SpecError` listing every
    problem of every file (in file order). The result does not depend on `jobs`: what the
    children print is relayed in file order, and the first child (in file order) that fails
    is reported, as one child loading every file would have stopped there."""
    paths = find_spec_files(specs)
    sys.stdout.flush()
    sys.stderr.flush()
    loaders: list[_Loader] = []
    gc.freeze()  # the children's garbage collections skip the parent's objects: no copy-on-write
    try:
        for share in _shares(paths, jobs):
            loaders.append(_fork(share, loaders))
    finally:
        gc.unfreeze()
    order = {display_path(p): i for i, p in enumerate(paths)}  # while the children work
    for loader in loaders:
        _receive(loader)
    failed = next((x for x in loaders if x.outcome is None or x.outcome[0] != "result"), None)
    if failed is not None and failed.outcome is not None and failed.outcome[0] == "crash":
        raise EcsgenError(
            f"internal error while loading the specs (please report): {failed.outcome[1]}"
        )
    if failed is not None:
        started = failed.started()
        code = os.waitstatus_to_exitcode(failed.status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise SpecError(
            [
                Problem(
                    display_path(started) if started is not None else ", ".join(order),
                    None,
                    None,
                    "",
                    f"the process loading this spec {how} before the spec's team was read "
                    "(os._exit, a signal, or a crash in spec code); a spec must only define "
                    "`team`, so nothing was rendered",
                )
            ]
        )
    problems: list[Problem] = []
    checked: list[Checked] = []
    for loader in loaders:
        assert loader.outcome is not None
        result = loader.outcome[1]
        assert isinstance(result, tuple)
        problems.extend(result[0])
        checked.extend(result[1])
    teams, invalid = combine(checked)
    problems.extend(invalid)
    if problems:
        rank = {id(p): (order.get(p.file, len(order)), i) for i, p in enumerate(problems)}
        raise SpecError(sorted(problems, key=lambda p: rank[id(p)]))
    if len(teams) != len(paths):
        raise SpecError(
            [Problem(", ".join(order), None, None, "", "not every spec file gave its team")]
        )
    return teams
