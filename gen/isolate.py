"""Running spec files in one child process, so that spec code cannot move or fake the work.

A spec is Python run with the caller's rights (like `setup.py` or `conftest.py`); ecsgen does not
sandbox it. What the child process guards against is a spec that, by accident or carelessness,
changes the process ecsgen runs in: `os.chdir` (output paths are resolved before the child
starts and the parent's working directory never changes), `sys.path` or `sys.modules` edits,
`print` (the child's stdout goes to stderr, never into `check`'s diff), and `os._exit`,
`sys.exit`, `GeneratorExit` or a signal (the parent only accepts the child's final message,
with one team per spec file; anything less is a spec error, exit 2).

One child loads and validates all the specs (forked, so it starts in about a millisecond with
every module already imported); only the validated, plain-data `TeamConfig`s come back, pickled
through a pipe. Rendering, parse-back and writing happen in the parent.
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
from pathlib import Path
from typing import BinaryIO

from gen.errors import EcsgenError, Problem, SpecError
from gen.load import display_path, find_spec_files, load_all
from gen.validate import TeamConfig, validate

__all__ = ["load_and_validate"]


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
    """Load and validate every spec; the last message is ("result", ...) or ("crash", ...).

    `progress` (memory shared with the parent) holds the index of the spec being loaded, so
    that the parent can name it if the process dies there."""
    index = {p: i for i, p in enumerate(paths)}

    def starting(path: Path) -> None:
        progress[:8] = index[path].to_bytes(8, "little")

    try:
        os.dup2(2, 1)  # raw writes to fd 1 (os.write, subprocesses) land on stderr too
        sys.stdout = _Relay(channel)
        loaded, problems = load_all(paths, starting)
        teams: list[TeamConfig] = []
        try:
            teams = validate(loaded)
        except SpecError as exc:
            problems.extend(exc.problems)
        _send(channel, ("result", (teams, problems)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, never a traceback here
        text = "".join(traceback.format_exception(exc))
        with contextlib.suppress(BaseException):
            _send(channel, ("crash", f"{type(exc).__name__}: {exc}\n{text}"))


def load_and_validate(specs: Sequence[Path]) -> list[TeamConfig]:
    """Load and validate `specs` in one child process; the validated teams, or a `SpecError`
    listing every problem of every file (in file order)."""
    paths = find_spec_files(specs)
    order = {display_path(p): i for i, p in enumerate(paths)}
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    progress = mmap.mmap(-1, 8)
    progress[:8] = (2**64 - 1).to_bytes(8, "little")
    gc.freeze()  # the child's garbage collections skip the parent's objects: no copy-on-write
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        try:
            with os.fdopen(write_fd, "wb") as channel:
                _child(paths, channel, progress)
        finally:
            os._exit(0)
    gc.unfreeze()
    os.close(write_fd)
    outcome: tuple[str, object] | None = None
    with os.fdopen(read_fd, "rb") as channel:
        while True:
            try:
                kind, body = pickle.load(channel)  # noqa: S301 - from our own child process
            except EOFError:
                break
            except Exception:  # noqa: BLE001 - a spec wrote garbage into the channel
                outcome = None
                break
            if kind == "print":
                sys.stderr.write(str(body))
            else:
                outcome = (kind, body)
    _, status = os.waitpid(pid, 0)
    last = int.from_bytes(progress[:8], "little")
    started = display_path(paths[last]) if last < len(paths) else None
    if outcome is not None and outcome[0] == "crash":
        raise EcsgenError(f"internal error while loading the specs (please report): {outcome[1]}")
    if outcome is None or outcome[0] != "result":
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise SpecError(
            [
                Problem(
                    started or ", ".join(order),
                    None,
                    None,
                    "",
                    f"the process loading this spec {how} before the spec's team was read "
                    "(os._exit, a signal, or a crash in spec code); a spec must only define "
                    "`team`, so nothing was rendered",
                )
            ]
        )
    result = outcome[1]
    assert isinstance(result, tuple)
    teams: list[TeamConfig] = result[0]
    problems: list[Problem] = result[1]
    if problems:
        rank = {id(p): (order.get(p.file, len(order)), i) for i, p in enumerate(problems)}
        raise SpecError(sorted(problems, key=lambda p: rank[id(p)]))
    if len(teams) != len(paths):
        raise SpecError(
            [Problem(", ".join(order), None, None, "", "not every spec file gave its team")]
        )
    return list(teams)
