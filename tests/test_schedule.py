"""The scheduler on its own: sections are stand-ins, producing is a function.

What it promises: every section's record in section order, identical
sections produced once, the longest first, the first failure cancelling the
rest, and a thread with nothing left to run lent to a long section's parts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import pytest

from narrator.build.schedule import Cancelled, produce_sections, run_parts

WAIT_S = 10.0


@dataclass(frozen=True)
class Job:
    index: int
    segment_key: str
    characters: int


@dataclass(frozen=True)
class Made:
    key: str
    synthesized: bool = True

    def reused(self) -> Made:
        return replace(self, synthesized=False)


def jobs(*sizes: int) -> list[Job]:
    return [Job(i, f"k{i}", size) for i, size in enumerate(sizes)]


def test_one_thread_runs_the_longest_first_and_returns_section_order() -> None:
    order: list[int] = []

    def produce(job: Job, cancel: threading.Event, spare: object) -> Made:
        order.append(job.index)
        return Made(job.segment_key)

    sections = jobs(10, 300, 20, 300, 5)
    made = produce_sections(sections, produce, jobs=1)
    assert order == [1, 3, 2, 0, 4]  # by length, ties in section order
    assert [m.key for m in made] == ["k0", "k1", "k2", "k3", "k4"]


def test_identical_sections_are_produced_once() -> None:
    calls: list[int] = []
    done: list[tuple[int, str]] = []

    def produce(job: Job, cancel: threading.Event, spare: object) -> Made:
        calls.append(job.index)
        return Made(job.segment_key)

    sections = [Job(0, "a", 5), Job(1, "b", 5), Job(2, "a", 5)]
    made = produce_sections(
        sections, produce, jobs=2, on_done=lambda j, a: done.append((j.index, a))
    )
    assert sorted(calls) == [0, 1]
    assert [m.key for m in made] == ["a", "b", "a"]
    assert [m.synthesized for m in made] == [True, True, False]
    assert sorted(done) == [(0, "synthesized"), (1, "synthesized"), (2, "reused")]


def test_the_first_failure_cancels_the_others_and_is_raised() -> None:
    started = threading.Barrier(2, timeout=WAIT_S)
    stopped: list[int] = []
    done: list[int] = []

    def produce(job: Job, cancel: threading.Event, spare: object) -> Made:
        if job.index < 2:
            started.wait()  # both run at once
        if job.index == 0:
            raise ValueError("section 0 failed")
        if not cancel.wait(WAIT_S):
            raise AssertionError("never cancelled")
        stopped.append(job.index)
        raise Cancelled()

    with pytest.raises(ValueError, match="section 0 failed"):
        produce_sections(
            jobs(50, 40, 30), produce, jobs=2, on_done=lambda j, a: done.append(0)
        )
    assert 1 in stopped and set(stopped) <= {1, 2}  # the third, if it started
    assert done == []


def test_a_thread_left_without_sections_is_lent_to_a_long_sections_parts() -> None:
    long_started = threading.Event()
    short_done = threading.Event()
    helped = threading.Event()
    threads: dict[int, str] = {}

    def produce(job: Job, cancel: threading.Event, spare: threading.Semaphore) -> Made:
        if job.index == 1:
            assert long_started.wait(WAIT_S)
            return Made(job.segment_key)  # the short one: done at once
        long_started.set()

        def encode(k: int) -> int:
            threads[k] = threading.current_thread().name
            if k == 0:  # by now no thread is spare: both run a section
                assert short_done.wait(WAIT_S)
            elif threading.current_thread().name == "narrator-part":
                helped.set()
            else:
                helped.wait(WAIT_S)
            return k

        assert run_parts(encode, 4, cancel, spare) == [0, 1, 2, 3]
        return Made(job.segment_key)

    def on_done(job: Job, action: str) -> None:
        if job.index == 1:
            short_done.set()

    produce_sections(jobs(900, 10), produce, jobs=2, on_done=on_done)
    assert threads[0] != "narrator-part"
    assert "narrator-part" in threads.values()


def test_parts_run_on_the_calling_thread_when_none_is_spare() -> None:
    names: list[str] = []

    def encode(k: int) -> int:
        names.append(threading.current_thread().name)
        return k * 10

    assert run_parts(encode, 3, threading.Event(), None) == [0, 10, 20]
    assert set(names) == {threading.current_thread().name}
    spare = threading.Semaphore(0)
    assert run_parts(encode, 2, threading.Event(), spare) == [0, 10]


def test_parts_borrow_as_many_threads_as_are_spare_and_give_them_back() -> None:
    spare = threading.Semaphore(2)
    together = threading.Barrier(3, timeout=WAIT_S)

    def encode(k: int) -> int:
        if k < 3:
            together.wait()  # three threads at once: the caller and two lent
        return k

    assert run_parts(encode, 5, threading.Event(), spare) == [0, 1, 2, 3, 4]
    assert spare.acquire(blocking=False) and spare.acquire(blocking=False)
    assert not spare.acquire(blocking=False)


def test_a_failed_part_is_raised_and_a_cancel_stops_the_parts() -> None:
    def failing(k: int) -> int:
        if k == 1:
            raise OSError("disk full")
        return k

    with pytest.raises(OSError, match="disk full"):
        run_parts(failing, 3, threading.Event(), None)

    cancel = threading.Event()
    encoded: list[int] = []

    def cancelling(k: int) -> int:
        encoded.append(k)
        cancel.set()  # another section failed meanwhile
        return k

    with pytest.raises(Cancelled):
        run_parts(cancelling, 3, cancel, None)
    assert encoded == [0]
