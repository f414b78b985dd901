"""Rebuild on every save (`narrator watch`): which files count, how a change is
seen, and the loop.

The loop is given the rebuild to run and what to do with each outcome, so it
knows nothing of settings, builds or the terminal: the CLI passes a build of
its options and prints the lines. A failed rebuild is handed over and
watching goes on; Ctrl-C (KeyboardInterrupt) ends it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

R = TypeVar("R")

# One file's state: (mtime_ns, size, inode, content digest or None); None if missing.
FileState = tuple[int, int, int, str | None] | None
Fingerprint = tuple[FileState, ...]

# The input's content is hashed up to this size (an edit that keeps the size
# within the file system's timestamp granularity is still seen).
DIGEST_MAX_BYTES = 16 << 20


def watched_paths(input_path: Path, *given: Path | None) -> list[Path]:
    """The files whose change changes the episode: the input first, then
    narrator.toml beside it, then each ``given`` file (the --lexicon, --cover,
    --intro and --outro typed on the command line; None when not given)."""
    paths = [input_path, input_path.parent / "narrator.toml"]
    paths += [path for path in given if path is not None]
    return paths


def fingerprint(paths: Sequence[Path]) -> Fingerprint:
    """What identifies the current state of ``paths``; None for a missing file.

    stat() covers an editor's atomic save (a rename gives a new inode) and most
    edits; the input's content digest also catches an edit that keeps its size
    within the file system's timestamp granularity.
    """
    states: list[FileState] = []
    for i, path in enumerate(paths):
        try:
            st = path.stat()
            digest = (
                hashlib.sha256(path.read_bytes()).hexdigest()
                if i == 0 and st.st_size <= DIGEST_MAX_BYTES
                else None
            )
        except OSError:
            states.append(None)
            continue
        states.append((st.st_mtime_ns, st.st_size, st.st_ino, digest))
    return tuple(states)


def settle(
    paths: Sequence[Path], current: Fingerprint, interval: float, debounce: float
) -> Fingerprint:
    """Wait until nothing changes for ``debounce`` seconds (editors write in
    bursts: truncate, write, rename); the state it settled in."""
    settled = time.monotonic() + debounce
    while time.monotonic() < settled:
        time.sleep(min(interval, debounce))
        again = fingerprint(paths)
        if again != current:
            current = again
            settled = time.monotonic() + debounce
    return current


def watch(
    paths: Sequence[Path],
    rebuild: Callable[[], R],
    *,
    interval: float,
    debounce: float,
    max_builds: int = 0,
    on_missing: Callable[[], None],
    on_built: Callable[[R, bool, float], None],
    on_failed: Callable[[Exception], None],
) -> None:
    """Run ``rebuild`` at start and after every settled change of ``paths``.

    ``paths[0]`` is the input: while it is missing, ``on_missing()`` is
    called (once per change) instead of a rebuild. After a rebuild,
    ``on_built(result, first, seconds)`` (``first``: no rebuild succeeded
    before) or, when it raised, ``on_failed(error)``, called inside the
    ``except`` block so that the traceback is at hand. Stops after
    ``max_builds`` rebuilds when that is not 0; else runs until interrupted.
    """
    builds = 0
    built = False  # "built" for the first successful build, then "rebuilt"
    last: Fingerprint | None = None
    while True:
        current = fingerprint(paths)
        if current != last:
            current = settle(paths, current, interval, debounce)
            last = current
            if current[0] is None:
                on_missing()
                continue
            started = time.monotonic()
            try:
                result = rebuild()
            except Exception as exc:  # a failed build, or a bug, ends no watch
                on_failed(exc)
            else:
                on_built(result, not built, time.monotonic() - started)
                built = True
            builds += 1
            if max_builds and builds >= max_builds:
                return
        time.sleep(interval)
