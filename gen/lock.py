"""One writer per output folder: an exclusive `fcntl.flock` on `OUT/.ecsgen.lock`.

The lock file holds the holder's pid and host, so that a render that gives up waiting can say
who holds it. The lock dies with its process (the kernel releases a `flock` when the holder
exits or is killed), so a killed render never leaves a folder locked; the file it leaves is
reused by the next render and removed when that one is done. A waiter that locked a file the
previous holder had just removed sees that the path no longer names its file and tries again.
A file at that path that ecsgen did not write (other content, not a regular file) is refused,
never truncated or removed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockError, OutputWriteError
from .load import display_path

__all__ = ["LOCK_NAME", "LOCK_WAIT", "output_lock"]

LOCK_NAME = ".ecsgen.lock"
LOCK_WAIT = 60.0  # seconds a render waits for another render of the same folder
_POLL = 0.05


def _holder(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return "another ecsgen render"
    try:
        text = os.read(fd, 200).decode("utf-8", errors="replace").strip()
    finally:
        os.close(fd)
    return text or "another ecsgen render (starting up)"


_CONTENT = re.compile(rb"(pid [0-9]+ on host [^\n]*\n)?")


def _foreign(fd: int) -> str:
    """Why the open file `fd` is not an ecsgen lock file (not a regular file, or holding other
    text than ecsgen writes there), or "" when it is one (empty: just created, or a render
    was starting)."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_size > 300 or not _CONTENT.fullmatch(os.pread(fd, 300, 0)):
        return "a file of someone else's"
    return ""


@contextmanager
def output_lock(out: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the exclusive lock of `out` (created if missing) for the `with` block.

    Waits up to `wait` seconds; raises `LockError` (exit 2) naming the holder after that."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(
            f"cannot create the output folder {display_path(out)}: {exc.strerror}"
        ) from exc
    path = out / LOCK_NAME
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputWriteError(
                f"cannot create the lock file {display_path(path)}: {exc.strerror}; "
                "ecsgen needs write access to the output folder"
            ) from exc
        foreign = _foreign(fd)
        if foreign:
            os.close(fd)
            raise OutputWriteError(
                f"{display_path(path)}: {foreign}, not ecsgen's lock file; the name is reserved "
                "for it (ecsgen creates and removes it). Move it away and run again"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputWriteError(f"cannot lock {display_path(path)}: {exc.strerror}") from exc
            if time.monotonic() >= deadline:
                raise LockError(
                    f"{display_path(out)}: another render holds the lock {display_path(path)} "
                    f"({_holder(path)}); "
                    f"gave up after waiting {wait:g}s. Run renders of one folder one at a time"
                ) from None
            time.sleep(_POLL)
            continue
        try:
            same = os.fstat(fd).st_ino == os.lstat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file between our open and our lock
            os.close(fd)
            continue
        break
    try:
        os.ftruncate(fd, 0)
        import socket  # noqa: PLC0415 - only a render that takes the lock names its host

        os.write(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode())
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
