"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file narrator leaves for others to read (episode, sidecars, feed, site,
covers, settings starters) is written to a temporary name on the same
filesystem, flushed to disk, then renamed over the target. ``replace`` is the
one rename all of them go through, so a test can interrupt a build at any
rename and check what is left.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Files are published on static hosts: readable by everyone (mkstemp gives 0600).
PUBLIC_MODE = 0o644


def replace(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` (atomic on one filesystem)."""
    os.replace(source, target)


def write_temp(folder: Path, prefix: str, data: bytes) -> Path:
    """Write ``data`` to a new, flushed temporary file in ``folder``; return it."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(name, PUBLIC_MODE)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path.parent, f".{path.name}.", data)
    try:
        replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see ``write_bytes_atomic``)."""
    write_bytes_atomic(path, text.encode("utf-8"))
