"""A progress bar over the teams, for people at a terminal.

It appears only when the stream is a terminal and the work has already taken `delay` seconds
(short runs stay quiet), redraws at most ten times a second, and erases itself at the end. When
the stream is not a terminal (CI logs, pipes) it writes nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

__all__ = ["DELAY", "Progress"]

DELAY = 1.0  # seconds of work before a bar is worth showing
_WIDTH = 30


class Progress:
    """`advance(n)` as items finish; use as a context manager so the bar is erased at the end."""

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO,
        delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream
        self.delay = DELAY if delay is None else delay
        self.clock = clock
        self.done = 0
        self.enabled = total > 0 and _isatty(stream)
        self.started = clock()
        self.drawn_at: float | None = None

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self.drawn_at is not None and now - self.drawn_at < 0.1 and self.done < self.total:
            return
        filled = _WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (_WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} teams")
        self.stream.flush()
        self.drawn_at = now

    def close(self) -> None:
        if self.drawn_at is not None:
            self.stream.write("\r\x1b[2K")  # erase the bar's line
            self.stream.flush()
            self.drawn_at = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
