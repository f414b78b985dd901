"""The feed and the pages beside it written as one set, by one publish at a time.

A publish reads the feed, changes one item and writes the feed and every page
back. Two publishes that overlap would each write the feed they read plus their
own item, and one of the items would be lost; so a publish holds the feed
folder's lock (``narrator.locks``, in the per-user lock folder, never in the
folder users upload) from reading the feed to the last rename.

Writing. Every new file is first written in full to a staging folder beside
the feed (``.narrator-publish/``, on the same filesystem, so renames are
atomic) and flushed. Then a journal naming each rename and each page to delete
is written and renamed into the staging folder: that rename is the commit
point. Then the pages are renamed into place, the index after the episode
pages, the feed last (a reader never finds the feed naming a page that is not
there), the stale pages deleted, and the staging folder removed.

A publish killed before the journal's rename has changed nothing a reader
sees: the next publish (under the lock) deletes its staging folder. One killed
after it has committed: the next publish finishes the journal's renames before
it reads the feed, so the killed publish's item is neither lost nor half
there. Only the renames themselves (a few system calls, no data written) are a
window in which pages and feed can disagree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from narrator import atomic, locks
from narrator.errors import FeedError, InputError, LockError

STAGING = ".narrator-publish"
_JOURNAL = "journal.json"

# How long a publish waits for another one on the same feed folder by default:
# a publish holds the lock for about a second, a large site's for a few.
DEFAULT_LOCK_WAIT_S = 120.0


@contextlib.contextmanager
def publish_lock(
    feed_path: Path,
    *,
    lock_dir: Path | None = None,
    wait_s: float = DEFAULT_LOCK_WAIT_S,
) -> Iterator[None]:
    """Hold the lock of the feed's folder (its feed and pages), waiting ``wait_s``.

    The lock covers the folder, not the feed file: two feeds in one folder
    write the same ``index.html``.

    Raises:
        LockError: another publish held it for all of ``wait_s``.
        InputError: the lock folder cannot be created.
    """

    def busy(holder: str, waited_s: float) -> LockError:
        return LockError(
            f"another narrator (pid {holder}) is publishing to {feed_path}; "
            f"waited {waited_s:.0f} s. Try again when it is done, or give "
            "--lock-wait more seconds."
        )

    path = locks.lock_path(feed_path.parent, lock_dir, kind="publish")
    with locks.exclusive(path, wait_s=wait_s, busy=busy):
        yield


def recover(folder: Path) -> None:
    """Finish a committed publish that was killed, or drop an uncommitted one.

    Call with the publish lock held: the staging folder is then nobody's.

    Raises:
        FeedError: the journal is unreadable, or the staging folder cannot be
            cleaned up.
        InputError: a file is where the staging folder belongs.
    """
    staging = folder / STAGING
    if not staging.exists():
        return
    journal = staging / _JOURNAL
    if journal.is_file():
        try:
            plan = json.loads(journal.read_text("utf-8"))
            renames = [(str(a), str(b)) for a, b in plan["renames"]]
            deletes = [str(n) for n in plan["delete"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FeedError(
                f"{journal}: the journal of an interrupted publish is unreadable "
                f"({exc}); remove {staging} and publish again."
            ) from exc
        _apply(folder, staging, renames, deletes)
    _remove_staging(staging)


def write_set(
    folder: Path, files: Mapping[str, bytes], *, delete: Iterable[str] = ()
) -> list[Path]:
    """Write ``files`` (name to bytes, in rename order) and delete ``delete``.

    The last of ``files`` is renamed last: pass the feed there. ``delete``
    names pages of episodes no longer in the feed, which the caller found
    to be narrator's. Returns the paths written, in order.

    Raises:
        FeedError: a file cannot be written (nothing a reader sees changed),
            or one cannot be renamed into place (the next publish finishes).
        InputError: a file is where the staging folder belongs.
    """
    staging = folder / STAGING
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_staging(staging)
        staging.mkdir()
        renames = []
        for name, data in files.items():
            staged = atomic.write_temp(staging, "file-", data)
            renames.append((staged.name, name))
        deletes = [n for n in delete if n not in files]
        plan = json.dumps({"renames": renames, "delete": deletes}).encode("utf-8")
        journal = atomic.write_temp(staging, "journal-", plan)
        _fsync_folder(staging)
        atomic.replace(journal, staging / _JOURNAL)  # the commit point
    except OSError as exc:
        with contextlib.suppress(FeedError):
            _remove_staging(staging)
        raise FeedError(
            f"{folder}: cannot write the feed and pages ({exc.strerror or exc}); "
            "the previous ones are unchanged."
        ) from exc
    _apply(folder, staging, renames, deletes)
    _remove_staging(staging)
    return [folder / name for name in files]


def _apply(
    folder: Path,
    staging: Path,
    renames: list[tuple[str, str]],
    deletes: list[str],
) -> None:
    """Carry out a committed journal; what is already done is skipped.

    Raises:
        FeedError: a rename or a deletion fails.
    """
    try:
        for staged, name in renames:
            source = staging / staged
            if source.exists():  # else renamed before the publish was killed
                atomic.replace(source, folder / name)
        for name in deletes:
            (folder / name).unlink(missing_ok=True)
        _fsync_folder(folder)
    except OSError as exc:
        raise FeedError(
            f"{folder}: cannot put the new feed and pages in place "
            f"({exc.strerror or exc}); publish again to finish."
        ) from exc


def _remove_staging(staging: Path) -> None:
    """Delete the staging folder (a killed publish's leftovers).

    Raises:
        FeedError: it exists and cannot be deleted.
        InputError: it is a file, not narrator's folder.
    """
    if not staging.exists():
        return
    if not staging.is_dir():
        raise InputError(
            f"{staging}: narrator stages the feed and pages there, but it is a "
            "file; move it away."
        )
    try:
        shutil.rmtree(staging)
    except OSError as exc:
        raise FeedError(
            f"{staging}: cannot remove an interrupted publish's files "
            f"({exc.strerror or exc}); remove the folder and publish again."
        ) from exc


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entries: the renames survive a power cut in order."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["DEFAULT_LOCK_WAIT_S", "STAGING", "publish_lock", "recover", "write_set"]
