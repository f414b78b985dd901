"""Advisory file locks (``flock``): who writes an output, a feed, who is running.

One primitive for the three places narrator must not race with itself: a build
holds its output's lock while it writes the episode, a publish holds its feed
folder's lock across the whole read-modify-write of the feed and pages, and a
running build holds the lock on its registration in the cache so that a prune
can tell it is alive. ``flock`` is the proof of life: the kernel drops the lock
when the process dies, however it dies, and a reused pid holds no lock.

The lock files of outputs and feeds live in a per-user folder outside the
output (users upload that folder as their site), keyed by the absolute path of
what they protect.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from narrator.errors import InputError, NarratorError

# How often a waiting lock tries again, at first and at most.
_POLL_FIRST_S = 0.005
_POLL_MAX_S = 0.1


def default_lock_dir() -> Path:
    """Where locks live unless NARRATOR_LOCK_DIR says: a per-user temp folder.

    Not the cache: two builds of one output with different ``--cache-dir``
    must still exclude each other. Not the output folder: users upload it.
    """
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"narrator-{uid}" / "locks"


def lock_path(target: Path, lock_dir: Path | None = None, *, kind: str = "") -> Path:
    """The lock file of ``target``, keyed by its absolute path (and ``kind``)."""
    key = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:32]
    suffix = f".{kind}" if kind else ""
    return (lock_dir or default_lock_dir()) / f"{key}{suffix}.lock"


def try_lock(fd: int, *, shared: bool = False) -> bool:
    """Take the lock on ``fd`` without waiting; tell whether it was free."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking at all
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_lock_file(path: Path) -> int:
    """Open (creating it and its folder) the lock file ``path``.

    Raises:
        InputError: the folder or the file cannot be created.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise InputError(
            f"{path.parent}: cannot create the lock ({exc.strerror}); "
            "set NARRATOR_LOCK_DIR to a writable folder."
        ) from exc


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file, or "?"."""
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
    except OSError:
        return "?"


@contextlib.contextmanager
def exclusive(
    path: Path,
    *,
    wait_s: float,
    busy: Callable[[str, float], NarratorError],
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``, waiting up to ``wait_s`` for it.

    ``wait_s`` 0 tries once. When the lock stays taken, ``busy(holder pid,
    seconds waited)`` makes the error raised. The holder writes its pid into
    the file, for the next one's message.

    Raises:
        NarratorError: what ``busy`` returns, when the wait runs out.
        InputError: the lock file cannot be created.
    """
    fd = _open_lock_file(path)
    try:
        start = time.monotonic()
        pause = _POLL_FIRST_S
        while not try_lock(fd):
            waited = time.monotonic() - start
            if waited >= wait_s:
                raise busy(_holder(fd), waited)
            time.sleep(min(pause, max(0.0, wait_s - waited)))
            pause = min(pause * 2, _POLL_MAX_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


__all__ = ["default_lock_dir", "exclusive", "lock_path", "try_lock"]
