"""How sections share the machine's cores: where one episode's sections run in parallel.

``produce_sections`` runs a build's sections on a pool of ``jobs`` threads:
identical sections once, the longest first, the first failure cancelling the
others. A thread with no section left to run is lent (``spare``) to the parts
of a long section, which ``run_parts`` encodes on as many threads as it can
borrow. Neither knows what producing a section means: the caller passes the
function (``produce.produce_section``), so the scheduling can be read, and
tested, on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, Protocol, Self, TypeVar


class Cancelled(Exception):
    """Another section failed: stop this one at the next safe point."""


@dataclass(frozen=True)
class Progress:
    """A progress event: ``done`` of ``total`` sections, and what just happened."""

    done: int
    total: int
    section: str
    action: str  # "synthesized", "reused" (or, in a batch, "failed")


Report = Callable[[Progress], None]


class Job(Protocol):
    """What the scheduler reads of a section (``keys.SectionPlan``)."""

    @property
    def index(self) -> int: ...

    @property
    def segment_key(self) -> str: ...

    @property
    def characters(self) -> int: ...


class Made(Protocol):
    """What the scheduler reads of a produced segment (``keys.SegmentRecord``)."""

    @property
    def synthesized(self) -> bool: ...

    def reused(self) -> Self: ...


S = TypeVar("S", bound=Job)
R = TypeVar("R", bound=Made)
T = TypeVar("T")


def produce_sections(
    sections: Sequence[S],
    produce: Callable[[S, threading.Event, threading.Semaphore], R],
    *,
    jobs: int,
    on_done: Callable[[S, str], None] | None = None,
) -> list[R]:
    """Every section's ``produce(section, cancel, spare)``, ``jobs`` at a time,
    in section order.

    Identical sections (same segment key) share one segment: it is produced
    once and the copies get it as reused. The first failure cancels the
    others (``cancel`` is set; they raise ``Cancelled`` at their next safe
    point) and is raised. ``on_done(section, "synthesized" | "reused")``
    reports each section, under a lock.

    Raises:
        Exception: the first section that failed.
    """
    cancel = threading.Event()
    results: dict[int, R] = {}
    lock = threading.Lock()
    copies: dict[str, list[S]] = {}
    for sp in sections:
        copies.setdefault(sp.segment_key, []).append(sp)

    # A core with no section left to run is lent to a long section's parts.
    spare = threading.Semaphore(max(0, jobs - len(copies)))
    started = 0

    def task(sp: S) -> None:
        nonlocal started
        with lock:
            started += 1
        try:
            record = produce(sp, cancel, spare)
        finally:
            with lock:
                idle = started == len(copies)
            if idle:
                spare.release()  # this thread has no section left to run
        with lock:
            for i, same in enumerate(copies[sp.segment_key]):
                results[same.index] = record if i == 0 else record.reused()
                if on_done is not None:
                    fresh = record.synthesized and i == 0
                    on_done(same, "synthesized" if fresh else "reused")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="narrator")
    try:
        # Longest first: the last section to finish then is a short one, so
        # neither core idles long at the end (a cold build's tail).
        first = sorted(copies.values(), key=lambda g: g[0].characters, reverse=True)
        _await([pool.submit(task, group[0]) for group in first], cancel)
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[sp.index] for sp in sections]


def _await(futures: list[Future[None]], cancel: threading.Event) -> None:
    """Wait for every section; on the first failure, cancel the rest and raise it.

    Raises:
        Exception: the first failure that is not a cancellation.
    """
    wait(futures, return_when=FIRST_EXCEPTION)
    failed = [
        error
        for f in futures
        if f.done()
        and (error := f.exception()) is not None
        and not isinstance(error, Cancelled)
    ]
    if failed:
        cancel.set()
        for f in futures:
            f.cancel()
        wait(futures)
        raise failed[0]
    wait(futures)


def run_parts(
    encode: Callable[[int], T],
    count: int,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> list[T]:
    """``encode(k)`` for every part, borrowing a thread whenever one is spare.

    Before each part, the calling thread borrows from ``spare`` a thread per
    part left beyond its own: a build never runs more encoders than its jobs,
    and the bytes do not depend on how many ran.

    Raises:
        Cancelled: another section failed meanwhile.
        Exception: the first part that failed.
    """
    return _Parts(encode, count, cancel, spare).run()


class _Parts(Generic[T]):
    """The parts of one section, taken in order by its thread and the borrowed ones."""

    def __init__(
        self,
        encode: Callable[[int], T],
        count: int,
        cancel: threading.Event,
        spare: threading.Semaphore | None,
    ):
        self.encode = encode
        self.count = count
        self.cancel = cancel
        self.spare = spare
        self.results: dict[int, T] = {}
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.pending = iter(range(count))
        self.left = count
        self.helpers: list[threading.Thread] = []

    def run(self) -> list[T]:
        try:
            while (k := self.take()) is not None:
                self.borrow()
                if not self.encode_part(k):
                    break
        finally:
            for helper in self.helpers:
                helper.join()
        if self.errors:
            raise self.errors[0]
        if self.cancel.is_set() or len(self.results) != self.count:
            raise Cancelled()
        return [self.results[k] for k in range(self.count)]

    def take(self) -> int | None:
        """The next part to encode; None when done, failed or cancelled."""
        with self.lock:
            if self.errors or self.cancel.is_set():
                return None
            k = next(self.pending, None)
            if k is not None:
                self.left -= 1
            return k

    def encode_part(self, k: int) -> bool:
        """Encode part ``k``; False if it failed (its owner re-raises the error)."""
        try:
            self.results[k] = self.encode(k)
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)
            return False
        return True

    def borrowed(self) -> None:
        """A borrowed thread: parts until none is left, then the thread goes back."""
        try:
            while (k := self.take()) is not None and self.encode_part(k):
                pass
        finally:
            if self.spare is not None:
                self.spare.release()

    def borrow(self) -> None:
        """Start a borrowed thread per part left beyond the running ones."""
        spare = self.spare
        while (
            spare is not None
            and sum(h.is_alive() for h in self.helpers) < self.left
            and spare.acquire(blocking=False)
        ):
            helper = threading.Thread(target=self.borrowed, name="narrator-part")
            try:
                helper.start()
            except RuntimeError:  # no thread to be had: carry on alone
                spare.release()
                return
            self.helpers.append(helper)
