"""An episode on disk: its MP3 and its sidecars, the build lock, the writing.

An episode is the MP3 and its sidecars together. The sidecars' SHA-256 is
recorded in the MP3's tags (``TXXX:NARRATOR_SIDECARS``), so "up to date"
means: the MP3 says it was built from these inputs *and* the sidecars beside
it are the ones it was built with.

Writing order. Every file is first written in full to a temporary name on the
same filesystem and flushed; then the MP3 is renamed into place, then each
sidecar. An interruption before the MP3's rename leaves the previous MP3 with
its own sidecars; one after it leaves a new MP3 whose recorded digest does not
match the old sidecars, so the next build is not up to date and rewrites them
(from cached segments: seconds).

The output folder is what users upload as their podcast site, so nothing else
is left there: the lock lives in a per-user folder outside it, and temporary
files go to the cache's scratch folder when it is on the output's filesystem.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from narrator import atomic, locks
from narrator.container.sidecars import sidecar_paths
from narrator.errors import LockError, NarratorError

# -- the build lock -----------------------------------------------------------


def lock_path(output_path: Path, lock_dir: Path | None = None) -> Path:
    """The build lock file of one output, keyed by its absolute path."""
    return locks.lock_path(output_path, lock_dir)


@contextlib.contextmanager
def output_lock(output_path: Path, lock_dir: Path | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``output_path`` for the duration of a build.

    The lock is an ``flock`` on a file outside the output folder
    (``narrator.locks``); the kernel drops it when the process dies, however
    it dies. A second build of the same output fails at once rather than
    waiting: it would only redo the first one's work.

    Raises:
        LockError: another build holds it.
        InputError: the lock folder cannot be created.
    """

    def busy(holder: str, _waited_s: float) -> LockError:
        return LockError(
            f"{output_path}: another narrator build (pid {holder}) is writing it; "
            "wait for it to finish or choose another -o."
        )

    with locks.exclusive(lock_path(output_path, lock_dir), wait_s=0, busy=busy):
        yield


# -- writing --------------------------------------------------------------------


def _temp_token(output_path: Path) -> str:
    return hashlib.sha256(str(output_path.resolve()).encode()).hexdigest()[:16]


def scratch_folder(output_path: Path, scratch_dir: Path) -> Path:
    """Where to write the episode's temporary files before renaming them.

    The cache's scratch folder when it is on the output's filesystem (a kill
    leaves nothing in the folder users upload), else the output folder itself.
    """
    try:
        if scratch_dir.stat().st_dev == output_path.parent.stat().st_dev:
            return scratch_dir
    except OSError:
        pass
    return output_path.parent


def _temp_prefix(output_path: Path, name: str, folder: Path) -> str:
    if folder == output_path.parent:
        return f".{name}.narrator-"
    return f"episode-{_temp_token(output_path)}-"


def clean_stale_temps(output_path: Path, scratch_dir: Path) -> None:
    """Remove temporary files left by killed builds of this output.

    Call with the lock held: they are ours, and nobody else's.
    """
    names = [output_path.name] + [p.name for p in sidecar_paths(output_path).all()]
    stale = [
        *(output_path.parent.glob(f".{n}.narrator-*.tmp") for n in names),
        *(output_path.parent.glob(f".{n}.*.tmp") for n in names),  # older builds
        scratch_dir.glob(f"episode-{_temp_token(output_path)}-*.tmp"),
    ]
    for found in stale:
        for path in found:
            with contextlib.suppress(OSError):
                path.unlink()


def write_episode(
    output_path: Path,
    write_mp3: Callable[[BinaryIO], None],
    sidecars: Mapping[Path, bytes],
    *,
    scratch_dir: Path,
) -> None:
    """Write the MP3 (by ``write_mp3``) and its sidecars, then rename them in place.

    Raises:
        NarratorError: a file cannot be written; the previous episode is
            unchanged (or, past the MP3's rename, will not count as up to date).
    """
    folder = scratch_folder(output_path, scratch_dir)
    temps: list[Path] = []
    try:
        fd, name = tempfile.mkstemp(
            prefix=_temp_prefix(output_path, output_path.name, folder),
            suffix=".tmp",
            dir=folder,
        )
        mp3_tmp = Path(name)
        temps.append(mp3_tmp)
        with os.fdopen(fd, "wb") as handle:
            write_mp3(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(mp3_tmp, atomic.PUBLIC_MODE)
        renames = [(mp3_tmp, output_path)]
        for path, data in sidecars.items():
            prefix = _temp_prefix(output_path, path.name, folder)
            tmp = atomic.write_temp(folder, prefix, data)
            temps.append(tmp)
            renames.append((tmp, path))
        for tmp, target in renames:
            atomic.replace(tmp, target)
    except OSError as exc:
        raise NarratorError(
            f"{output_path}: cannot write the episode ({exc.strerror or exc}); the "
            "previous file is unchanged."
        ) from exc
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
