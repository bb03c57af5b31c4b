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
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["default_jobs", "run"]

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
