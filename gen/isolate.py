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
import selectors
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .errors import InternalError, Problem, SpecError
from .load import display_path, find_spec_files, load_all
from .parallel import default_jobs, shares
from .validate import Checked, TeamConfig, check_each, combine

__all__ = ["MIN_SHARE", "SPEC_TIMEOUT", "load_and_validate"]

MIN_SHARE = 64  # spec files a loading child takes at least: below that one child loads them all
SPEC_TIMEOUT = 60.0  # seconds one spec may take to load (real specs take milliseconds)
_CHECK_EVERY = 1.0  # seconds between looks at the loaders' clocks, at most


class _Relay(io.TextIOBase):
    """The child's `sys.stdout`: what a spec prints goes to the parent's stderr."""

    def __init__(self, channel: BinaryIO) -> None:
        self.channel = channel

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        _send(self.channel, ("print", str(text)))
        return len(text)


_FRAME = struct.Struct("<Q")
_PROGRESS = struct.Struct("<Qd")  # the index of the spec being loaded, and since when
_NONE = 2**64 - 1


def _send(channel: BinaryIO, message: tuple[str, object]) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    channel.write(_FRAME.pack(len(data)) + data)
    channel.flush()


def _child(paths: Sequence[Path], channel: BinaryIO, progress: mmap.mmap) -> None:
    """Load and check every spec; the last message is ("result", ...) or ("crash", ...).

    `progress` (memory shared with the parent) holds the index of the spec being loaded and
    when it started (`time.monotonic`, one clock for every process), so that the parent can
    name it if the process dies there, and stop it when it runs past the time limit."""
    index = {p: i for i, p in enumerate(paths)}

    def starting(path: Path) -> None:
        progress[: _PROGRESS.size] = _PROGRESS.pack(index[path], time.monotonic())

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
    channel: int  # the read end of the child's pipe
    progress: mmap.mmap
    outcome: tuple[str, object] | None = None
    status: int = 0
    buffer: bytearray = field(default_factory=bytearray)
    prints: list[str] = field(default_factory=list)  # relayed once the loaders before are done
    done: bool = False

    def started(self) -> Path | None:
        """The spec the child was loading when it stopped, if it stopped inside one."""
        last, _ = _PROGRESS.unpack(self.progress[: _PROGRESS.size])
        return self.paths[last] if last < len(self.paths) else None

    def since(self) -> float | None:
        """When the child started loading its current spec (None before the first)."""
        last, when = _PROGRESS.unpack(self.progress[: _PROGRESS.size])
        return when if last < len(self.paths) else None


def _fork(paths: Sequence[Path], inherited: Sequence[_Loader]) -> _Loader:
    read_fd, write_fd = os.pipe()
    progress = mmap.mmap(-1, _PROGRESS.size)
    progress[: _PROGRESS.size] = _PROGRESS.pack(_NONE, 0.0)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            _die_with_parent()
            os.close(read_fd)
            for other in inherited:  # the other children's channels are theirs
                os.close(other.channel)
            with os.fdopen(write_fd, "wb") as channel:
                _child(paths, channel, progress)
        finally:
            os._exit(0)
    os.close(write_fd)
    return _Loader(paths, pid, read_fd, progress)


def _die_with_parent() -> None:
    """End this loading child when its parent is gone (a CI step timeout that kills ecsgen must
    not leave an endless spec spinning): a daemon thread looks every half second. (It runs
    beside spec code, which holds the interpreter at most a few milliseconds at a time.)"""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="ecsgen-parent-watch", daemon=True).start()


def _messages(loader: _Loader, data: bytes) -> list[tuple[str, object]]:
    """The whole messages in the loader's buffer once `data` is added to it."""
    loader.buffer += data
    found = []
    while len(loader.buffer) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(loader.buffer)
        if len(loader.buffer) < _FRAME.size + size:
            break
        body = bytes(loader.buffer[_FRAME.size : _FRAME.size + size])
        del loader.buffer[: _FRAME.size + size]
        message = pickle.loads(body)  # noqa: S301 - from our own child process
        if not (isinstance(message, tuple) and len(message) == 2):
            raise ValueError("not a message")
        found.append(message)
    return found


def _stop(loaders: Sequence[_Loader]) -> None:
    for loader in loaders:
        if not loader.done:
            with contextlib.suppress(OSError):
                os.kill(loader.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(loader.channel)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(loader.pid, 0)
            loader.done = True


def _overdue(loaders: Sequence[_Loader], limit: float) -> tuple[_Loader | None, float]:
    """The first loader (in file order) past the time limit on its current spec, and the
    seconds until the next one could be."""
    now = time.monotonic()
    wait = _CHECK_EVERY
    for loader in loaders:
        since = None if loader.done else loader.since()
        if since is None:
            continue
        if now - since > limit:
            return loader, 0.0
        wait = min(wait, since + limit - now)
    return None, max(wait, 0.01)


def _receive(loaders: Sequence[_Loader], limit: float) -> None:
    """Relay the children's prints to stderr (in file order) until they end; keep each one's
    last message and status. A child whose current spec runs past `limit` seconds is stopped
    (with every other), and its spec named: `SpecError`."""
    try:
        with selectors.DefaultSelector() as selector:
            for loader in loaders:
                selector.register(loader.channel, selectors.EVENT_READ, loader)
            while selector.get_map():
                overdue, wait = _overdue(loaders, limit)
                if overdue is not None:
                    raise _timed_out(overdue, limit)
                for key, _ in selector.select(wait):
                    loader = key.data
                    data = os.read(loader.channel, 1 << 16)
                    try:
                        messages = _messages(loader, data) if data else []
                    except Exception:  # noqa: BLE001 - a spec wrote garbage into the channel
                        loader.outcome, data, messages = None, b"", []
                        os.kill(loader.pid, signal.SIGKILL)
                    for kind, body in messages:
                        if kind == "print":
                            loader.prints.append(str(body))
                        else:
                            loader.outcome = (kind, body)
                    if not data:
                        selector.unregister(loader.channel)
                        os.close(loader.channel)
                        _, loader.status = os.waitpid(loader.pid, 0)
                        loader.done = True
                _relay(loaders)
    finally:
        _stop(loaders)
        _relay(loaders, everything=True)


def _relay(loaders: Sequence[_Loader], *, everything: bool = False) -> None:
    """Write the prints of each loader whose predecessors have all ended (all at the end)."""
    for loader in loaders:
        if loader.prints:
            sys.stderr.write("".join(loader.prints))
            loader.prints.clear()
        if not (loader.done or everything):
            break


def _timed_out(loader: _Loader, limit: float) -> SpecError:
    started = loader.started()
    shown = display_path(started) if started is not None else ", ".join(map(str, loader.paths))
    return SpecError(
        [
            Problem(
                shown,
                None,
                None,
                "",
                f"loading this spec took longer than the spec time limit ({limit:g}s), so it was "
                "stopped and nothing was rendered (an endless loop or a long wait in the spec or "
                "a module it imports?). A spec that truly needs longer: --spec-timeout SECONDS, "
                "or spec-timeout in [tool.ecsgen]",
                "spec-timeout",
            )
        ]
    )


def _shares(paths: Sequence[Path], jobs: int | None) -> list[Sequence[Path]]:
    """`paths` cut into contiguous shares, one a child: up to `jobs` (default: one per CPU),
    each of at least `MIN_SHARE` files."""
    return shares(paths, min(jobs or default_jobs(), len(paths) // MIN_SHARE))


def load_and_validate(
    specs: Sequence[Path], jobs: int | None = None, timeout: float = SPEC_TIMEOUT
) -> list[TeamConfig]:
    """Load and validate `specs` in child processes (up to `jobs`, each loading a contiguous
    share of the files, for big fleets); the validated teams, or a `SpecError` listing every
    problem of every file (in file order). The result does not depend on `jobs`: what the
    children print is relayed in file order, and the first child (in file order) that fails
    is reported, as one child loading every file would have stopped there. A spec that takes
    longer than `timeout` seconds to load is stopped and named (`SpecError`)."""
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
    _receive(loaders, timeout)
    failed = next((x for x in loaders if x.outcome is None or x.outcome[0] != "result"), None)
    if failed is not None and failed.outcome is not None and failed.outcome[0] == "crash":
        raise InternalError(
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
