"""The builds running on a cache: registered, alive, and told apart from the dead.

A running build registers itself in the cache's ``builds/`` folder with a file
``<pid>-<start>-<random>.json`` (its pid, start time and host) and holds an
``flock`` on it for as long as it runs. The lock is the proof of life: the
kernel drops it when the process dies, however it dies, and a new process that
reuses the pid holds no lock on the old file. A prune asks which builds are
alive before deleting anything they may be using (``cache.Cache.prune``).

The file is written under a ``.part`` name and locked before it is renamed in,
so nobody ever sees a registration of a live build unlocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A registration is renamed in microseconds after it is made: a ``.part`` file
# this old was left by a process killed in between.
_PART_MAX_AGE_S = 60.0


@dataclass(frozen=True)
class RunningBuild:
    """A build registered in the cache and still alive (its lock is held)."""

    pid: int
    start: float  # time.time() when it registered
    host: str


@contextlib.contextmanager
def registered(folder: Path) -> Iterator[None]:
    """Register this process in ``folder`` as a running build while the block runs.

    A cache that cannot be written is not an error here: the build says so
    when it first stores something.
    """
    fd, path = _register(folder)
    try:
        yield
    finally:
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
        if fd is not None:
            os.close(fd)


def _register(folder: Path) -> tuple[int | None, Path | None]:
    """Write and lock this process's registration; (None, None) if impossible."""
    name = f"{os.getpid()}-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    record = {"pid": os.getpid(), "start": time.time(), "host": socket.gethostname()}
    part = folder / f"{name}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError:
        return None, None
    try:
        _try_lock(fd)  # a new file: nobody else holds it
        os.write(fd, json.dumps(record).encode("utf-8"))
        final = folder / f"{name}.json"
        os.replace(part, final)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            part.unlink()
        return None, None
    return fd, final


def alive(folder: Path) -> list[RunningBuild]:
    """The builds registered in ``folder`` and alive; dead ones' files are removed."""
    try:
        paths = sorted(folder.iterdir())
    except OSError:
        return []
    found = []
    for path in paths:
        if path.suffix == ".part" and not _stale_part(path):
            continue  # being registered: its build has not started work yet
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # unregistered meanwhile
        try:
            if _try_lock(fd):  # nobody holds it: its process is gone
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if path.suffix == ".json":
                found.append(_read(fd))
        finally:
            os.close(fd)
    return found


def _try_lock(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; tell if it was free.

    ``locks.try_lock`` again, here because this module is a leaf: the cache
    imports it, and every build's import chain runs through the cache.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: every build looks dead
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _stale_part(path: Path) -> bool:
    """Tell whether a half-made registration is old enough to be a dead one's."""
    try:
        return path.stat().st_mtime < time.time() - _PART_MAX_AGE_S
    except OSError:
        return False


def _read(fd: int) -> RunningBuild:
    """What a live build wrote about itself (its file's time when unreadable)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return RunningBuild(int(data["pid"]), float(data["start"]), str(data["host"]))
    except (OSError, ValueError, KeyError, TypeError):
        try:
            start = os.fstat(fd).st_mtime
        except OSError:
            start = time.time()
        return RunningBuild(0, start, "?")


__all__ = ["RunningBuild", "alive", "registered"]
