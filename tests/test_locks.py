"""``narrator.locks``: an exclusive ``flock`` with a bounded wait."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from narrator import locks
from narrator.errors import LockError, NarratorError


def _busy(holder: str, waited_s: float) -> NarratorError:
    return LockError(f"held by {holder}; waited {waited_s:.1f} s")


def test_a_waiting_lock_gets_it_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = locks.lock_path(tmp_path / "feed.xml", tmp_path / "locks", kind="publish")
    held = threading.Event()
    order: list[str] = []

    def holder() -> None:
        with locks.exclusive(path, wait_s=0, busy=_busy):
            held.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    with locks.exclusive(path, wait_s=10, busy=_busy):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def test_a_lock_held_too_long_raises_the_callers_error(tmp_path: Path) -> None:
    path = locks.lock_path(tmp_path / "out.mp3", tmp_path / "locks")
    with locks.exclusive(path, wait_s=0, busy=_busy):
        start = time.monotonic()
        with (
            pytest.raises(LockError, match=r"held by \d+; waited 0\.[2-9]"),
            locks.exclusive(path, wait_s=0.25, busy=_busy),
        ):
            pass
        assert 0.25 <= time.monotonic() - start < 2
        with (
            pytest.raises(LockError, match="waited 0.0 s"),
            locks.exclusive(path, wait_s=0, busy=_busy),
        ):
            pass
    with locks.exclusive(path, wait_s=0, busy=_busy):  # free again
        pass


def test_locks_of_different_targets_and_kinds_differ(tmp_path: Path) -> None:
    folder = tmp_path / "locks"
    assert locks.lock_path(tmp_path / "a", folder) != locks.lock_path(
        tmp_path / "b", folder
    )
    assert locks.lock_path(tmp_path / "a", folder) != locks.lock_path(
        tmp_path / "a", folder, kind="publish"
    )
    assert locks.lock_path(tmp_path / "a").parent == locks.default_lock_dir()
