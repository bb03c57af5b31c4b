"""Running one function over many teams on several processes.

The work items (validated team configurations, module folders) are handed to the workers by
`fork`: the parent sets them in this module before the workers start, so nothing but a chunk's
bounds crosses a worker's pipe on the way in, and only each item's (small) result on the way
back. Each worker has a pipe of its own, so a worker that dies is noticed (its pipe closes) and
named with the items it held; the command then stops instead of waiting forever. Results come
back in the order of the items whatever order the workers finish in, so the output does not
depend on `--jobs`. Where `fork` is not available, or one process is asked for, the items are
processed in this process.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import WorkerError

__all__ = ["WorkerError", "default_jobs", "run", "shares", "split"]

T = TypeVar("T")
R = TypeVar("R")

_CHUNK = 8  # items per task at most: few enough to balance the workers and move a progress bar
_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _chunk(bounds: tuple[int, int]) -> list[tuple[int, Any]]:
    assert _work is not None, "parallel.run sets the work before the workers fork"
    func, items = _work
    return [(index, func(items[index])) for index in range(*bounds)]


_FRAME = struct.Struct("<Q")
_STOP = (-1, -1)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`; None at end of file (the other end closed: its process died)."""
    parts = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _send(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _FRAME.pack(len(data)) + data)


def _receive(fd: int) -> object | None:
    head = _read_exactly(fd, _FRAME.size)
    if head is None:
        return None
    body = _read_exactly(fd, _FRAME.unpack(head)[0])
    return None if body is None else pickle.loads(body)  # noqa: S301 - our own child


@dataclass(slots=True)
class _Worker:
    pid: int
    tasks: int  # write end: (start, stop) bounds, or _STOP
    results: int  # read end: (True, [(index, result), ...]) or (False, exception)
    chunk: int | None = None  # the chunk it is working on


def _serve(tasks: int, results: int) -> None:
    """A worker: take chunks until told to stop (or the parent is gone); never returns."""
    try:
        while True:
            message = _receive(tasks)
            if message is None or message == _STOP:
                break
            assert isinstance(message, tuple)
            try:
                outcome: tuple[bool, object] = (True, _chunk(message))
            except BaseException as exc:  # noqa: BLE001 - raised again in the parent
                outcome = (False, exc)
            try:
                _send(results, outcome)
            except Exception:  # noqa: BLE001 - a result or exception that does not pickle
                _send(results, (False, RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}")))
    finally:
        os._exit(0)


def _fork_worker(others: Sequence[_Worker]) -> _Worker:
    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(task_write)
            os.close(result_read)
            for other in others:  # the other workers' pipes are theirs
                os.close(other.tasks)
                os.close(other.results)
        finally:
            _serve(task_read, result_write)
    os.close(task_read)
    os.close(result_write)
    return _Worker(pid, task_write, result_read)


def _hand(worker: _Worker, task: tuple[int, int]) -> None:
    """Give `worker` its next task; a worker already gone is noticed when its pipe closes."""
    with contextlib.suppress(BrokenPipeError):
        _send(worker.tasks, task)


def _how(pid: int) -> str:
    """How a worker whose pipe closed ended: its exit status, waited for a few seconds."""
    deadline = time.monotonic() + 5.0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        if time.monotonic() > deadline:
            return "closed its pipe"
        time.sleep(0.01)


def _end(workers: Sequence[_Worker]) -> None:
    """Stop every worker still there (killed: nothing they hold may outlive the command)."""
    for worker in workers:
        for fd in (worker.tasks, worker.results):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(worker.pid, 0)


def run(
    func: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    advance: Callable[[int], None] | None = None,
    name: Callable[[T], str] = str,
) -> list[R]:
    """`[func(item) for item in items]`, on up to `jobs` processes; `advance(n)` as items finish.

    `func` runs in forked children: it must return its result (picklable) rather than change
    the parent's state. An exception it raises is raised here. A worker that dies (a signal, the
    OOM killer, `os._exit`) is a `WorkerError` naming (with `name`) the items it was working on;
    the other workers are then stopped, so nothing is left running."""
    global _work  # noqa: PLW0603 - the fork hands the work to the children through this
    size = max(1, min(_CHUNK, len(items) // (4 * jobs)))
    workers = min(jobs, len(items))
    if workers <= 1 or not hasattr(os, "fork"):
        results = []
        for item in items:
            results.append(func(item))
            if advance is not None:
                advance(1)
        return results
    chunks = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    out: list[Any] = [None] * len(items)
    pool: list[_Worker] = []
    sys.stdout.flush()
    sys.stderr.flush()
    _work = (func, items)
    gc.freeze()  # the children inherit the parent's objects: keep their collector off those pages
    try:
        for _ in range(workers):
            pool.append(_fork_worker(pool))
    finally:
        _work = None
        gc.unfreeze()
    try:
        todo = iter(range(len(chunks)))
        with selectors.DefaultSelector() as selector:
            for worker in pool:
                worker.chunk = next(todo, None)
                _hand(worker, chunks[worker.chunk] if worker.chunk is not None else _STOP)
                if worker.chunk is not None:
                    selector.register(worker.results, selectors.EVENT_READ, worker)
            while selector.get_map():
                for key, _ in selector.select():
                    worker = key.data
                    assert worker.chunk is not None
                    message = _receive(worker.results)
                    if message is None:
                        names = [name(items[i]) for i in range(*chunks[worker.chunk])]
                        raise WorkerError(
                            f"a worker process (pid {worker.pid}) {_how(worker.pid)} while "
                            f"working on {', '.join(names)}; the command stopped there and "
                            "wrote nothing (out of memory? a process killed from outside?)"
                        )
                    assert isinstance(message, tuple)
                    ok, body = message
                    if not ok:
                        assert isinstance(body, BaseException)
                        raise body
                    assert isinstance(body, list)
                    for index, result in body:
                        out[index] = result
                    if advance is not None:
                        advance(len(body))
                    worker.chunk = next(todo, None)
                    if worker.chunk is None:
                        selector.unregister(worker.results)
                        _hand(worker, _STOP)
                    else:
                        _hand(worker, chunks[worker.chunk])
    finally:
        _end(pool)
    return out


def shares(items: Sequence[T], count: int) -> list[Sequence[T]]:
    """`items` cut into `count` contiguous shares (at least one), as even as can be, in order."""
    count = max(1, count)
    bounds = [len(items) * i // count for i in range(count + 1)]
    return [items[bounds[i] : bounds[i + 1]] for i in range(count)]


def split(
    func: Callable[[T], R], items: Sequence[T], jobs: int, name: Callable[[T], str] = str
) -> list[R]:
    """`[func(item) for item in items]` for many quick items: the items are cut into up to
    `jobs` contiguous shares, the parent takes the first itself and a forked child each of the
    others, whose results come back pickled through a pipe (no pool, no message per item).

    `func` must return its result (picklable) rather than change the parent's state. The first
    exception (in item order) is raised here; a child that dies is a `WorkerError` naming (with
    `name`) the items of its share."""
    parts = shares(items, min(jobs, len(items)))
    children: list[tuple[int, int]] = []  # (pid, read end)
    shares_of: list[Sequence[T]] = []
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()  # the children inherit the parent's objects: keep their collector off those pages
    try:
        for share in parts[1:]:
            shares_of.append(share)
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                try:
                    os.close(read_fd)
                    for _, other in children:
                        os.close(other)
                    try:
                        outcome: tuple[bool, object] = (True, [func(item) for item in share])
                    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
                        outcome = (False, exc)
                    with os.fdopen(write_fd, "wb") as channel:
                        try:
                            pickle.dump(outcome, channel, protocol=pickle.HIGHEST_PROTOCOL)
                        except Exception:  # noqa: BLE001 - an exception that does not pickle
                            error = RuntimeError(f"{type(outcome[1]).__name__}: {outcome[1]}")
                            pickle.dump((False, error), channel)
                finally:
                    os._exit(0)
            os.close(write_fd)
            children.append((pid, read_fd))
    finally:
        gc.unfreeze()
    outcomes: list[tuple[bool, object]] = []
    try:
        try:
            outcomes.append((True, [func(item) for item in parts[0]]))
        except BaseException as exc:  # noqa: BLE001 - raised below, once the children are reaped
            outcomes.append((False, exc))
    finally:
        for (pid, read_fd), share in zip(children, shares_of, strict=True):
            with os.fdopen(read_fd, "rb") as channel:
                try:
                    outcomes.append(pickle.load(channel))  # noqa: S301 - our own child
                except EOFError:
                    names = ", ".join(name(item) for item in share)
                    died = WorkerError(
                        f"a worker process (pid {pid}) {_how(pid)} while working "
                        f"on {names}; the command stopped there and wrote nothing"
                    )
                    outcomes.append((False, died))
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    results: list[R] = []
    for ok, body in outcomes:
        if not ok:
            assert isinstance(body, BaseException)
            raise body
        assert isinstance(body, list)
        results.extend(body)
    return results
