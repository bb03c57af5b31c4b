"""Running one function over many teams on several processes.

The work items (validated team configurations, module folders) are handed to the workers by
`fork`: the parent sets them in this module before the pool starts, so nothing but an index
crosses the pipe on the way in, and only each item's (small) result on the way back. Results come
back in the order of the items whatever order the workers finish in, so the output does not
depend on `--jobs`. Where `fork` is not available, or one process is asked for, the items are
processed in this process.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["default_jobs", "run", "shares", "split"]

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
    assert _work is not None, "parallel.run sets the work before the pool forks"
    func, items = _work
    return [(index, func(items[index])) for index in range(*bounds)]


def run(
    func: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    advance: Callable[[int], None] | None = None,
) -> list[R]:
    """`[func(item) for item in items]`, on up to `jobs` processes; `advance(n)` as items finish.

    `func` runs in forked children: it must return its result (picklable) rather than change
    the parent's state. An exception it raises is raised here."""
    global _work  # noqa: PLW0603 - the fork hands the work to the children through this
    size = max(1, min(_CHUNK, len(items) // (4 * jobs)))
    workers = min(jobs, len(items))
    if workers > 1:
        import multiprocessing  # noqa: PLC0415 - only parallel runs pay for its import

        if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover
            workers = 1
    if workers <= 1:
        results = []
        for item in items:
            results.append(func(item))
            if advance is not None:
                advance(1)
        return results
    chunks = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    out: list[Any] = [None] * len(items)
    _work = (func, items)
    gc.freeze()  # the children inherit the parent's objects: keep their collector off those pages
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for done in pool.imap_unordered(_chunk, chunks):
                for index, result in done:
                    out[index] = result
                if advance is not None:
                    advance(len(done))
    finally:
        _work = None
        gc.unfreeze()
    return out


def shares(items: Sequence[T], count: int) -> list[Sequence[T]]:
    """`items` cut into `count` contiguous shares (at least one), as even as can be, in order."""
    count = max(1, count)
    bounds = [len(items) * i // count for i in range(count + 1)]
    return [items[bounds[i] : bounds[i + 1]] for i in range(count)]


def split(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`[func(item) for item in items]` for many quick items: the items are cut into up to
    `jobs` contiguous shares, the parent takes the first itself and a forked child each of the
    others, whose results come back pickled through a pipe (no pool, no message per item).

    `func` must return its result (picklable) rather than change the parent's state. The first
    exception (in item order) is raised here; a child that dies is a `RuntimeError`."""
    parts = shares(items, min(jobs, len(items)))
    children: list[tuple[int, int]] = []  # (pid, read end)
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()  # the children inherit the parent's objects: keep their collector off those pages
    try:
        for share in parts[1:]:
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
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as channel:
                try:
                    outcomes.append(pickle.load(channel))  # noqa: S301 - our own child
                except EOFError:
                    outcomes.append((False, RuntimeError(f"worker process {pid} died")))
            os.waitpid(pid, 0)
    results: list[R] = []
    for ok, body in outcomes:
        if not ok:
            assert isinstance(body, BaseException)
            raise body
        assert isinstance(body, list)
        results.extend(body)
    return results
