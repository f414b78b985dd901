"""Run a batch's sections on a Dask distributed cluster (``--scheduler``).

Imported only with ``--scheduler``: Dask is an optional extra
(``pip install 'narrator[dask]'``). The unit of work is one section
(synthesize, master, encode), so a single long episode spreads over the
cluster too. A worker produces the segment in a cache of its own and returns
its bytes with the segment's metadata; the client stores them in its cache
under the same key and splices, so a later local build reuses them. Workers
need narrator only; they never see the document, the output or the feed.

Every task carries the client's narrator version and a digest of its code: a
worker running anything else refuses the task, because its segments would be
stored under keys that promise the client's rendering. The client checks
every connected worker before submitting anything, so a mismatch stops the
batch with one clear error instead of failing every document.

A worker lost mid-run costs only its current tasks: Dask reschedules them
on the others (and gives up on a task after its allowed failures, which
fails that task's documents only).
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import narrator
from narrator.build.keys import Mastering, SectionPlan, SegmentRecord
from narrator.build.produce import produce_section
from narrator.build.tasks import Outcome, SectionTask
from narrator.cache import Cache
from narrator.config import environment
from narrator.engines import get_engine
from narrator.engines.base import Engine
from narrator.errors import ConfigError, NarratorError, WorkerMismatch
from narrator.heap import bound_heap

# Where a worker keeps its clips and segments: NARRATOR_WORKER_CACHE_DIR
# (config.environment), else the worker's own scratch folder (dropped when the
# worker stops).


@dataclass(frozen=True)
class SectionWork:
    """What travels to a worker for one section."""

    version: str
    code: str
    engine: str
    options: Mapping[str, str]
    identity: Mapping[str, str]  # the client's engine identity: keys depend on it
    section: SectionPlan
    mastering: Mastering  # what the audio stage needs: no settings travel


@dataclass(frozen=True)
class SectionBytes:
    """What comes back: the encoded segment and the metadata its entry holds."""

    key: str
    payload: bytes
    meta: Mapping[str, object]
    synthesized: bool
    worker: str


@functools.cache
def code_digest() -> str:
    """SHA-256 of narrator's own Python files: versions alone miss local edits."""
    root = Path(narrator.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def fingerprint() -> tuple[str, str]:
    """This process's narrator: (version, code digest)."""
    return narrator.__version__, code_digest()


def _describe(version: str, code: str) -> str:
    return f"narrator {version} (code {code[:12]})"


def check_fingerprint(version: str, code: str, where: str) -> None:
    """Refuse work from a client that runs another narrator.

    Raises:
        WorkerMismatch: the versions or the code differ.
    """
    mine = fingerprint()
    if mine != (version, code):
        raise WorkerMismatch(
            f"Dask worker {where} runs {_describe(*mine)}, this client "
            f"{_describe(version, code)}: install the same narrator on every worker "
            "and restart them."
        )


# -- on a worker --------------------------------------------------------------------

_engines: dict[tuple[str, tuple[tuple[str, str], ...]], Engine] = {}
_engines_lock = threading.Lock()


def _engine(name: str, options: Mapping[str, str]) -> Engine:
    """One engine per (name, options) in a worker process, shared by its threads."""
    key = (name, tuple(sorted(options.items())))
    with _engines_lock:
        if key not in _engines:
            _engines[key] = get_engine(name, options)
        return _engines[key]


def _worker() -> tuple[str, Path]:
    """This worker's address and cache folder (outside a worker: local, temp)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        address, scratch = str(worker.address), Path(worker.local_directory)
    except ValueError:
        address, scratch = "local", Path(tempfile.gettempdir())
    configured = environment().worker_cache_dir
    return address, configured or scratch / "narrator-cache"


def produce_remote(work: SectionWork) -> SectionBytes:
    """On a worker: one section's segment, as bytes for the client to store.

    Raises:
        WorkerMismatch: this worker runs another narrator.
        NarratorError: the engine differs here, or synthesis failed.
    """
    bound_heap()  # the worker's process is narrator's only while it runs this
    address, cache_dir = _worker()
    check_fingerprint(work.version, work.code, address)
    engine = _engine(work.engine, work.options)
    if dict(engine.identity()) != dict(work.identity):
        raise WorkerMismatch(
            f"Dask worker {address}: its {work.engine} engine is "
            f"{dict(engine.identity())}, the client's {dict(work.identity)}; "
            "install the same engine and voices on every worker."
        )
    cache = Cache(cache_dir)
    with cache.running():  # a prune of the worker's cache spares this section
        record = produce_section(
            cache, engine, work.section, work.mastering, threading.Event()
        )
        with record.entry_path.open("rb") as f:
            f.seek(record.payload_offset)
            payload = f.read(record.size_bytes)
    meta = SegmentRecord.meta(record.frames, record.samples, record.crc16, record.spans)
    return SectionBytes(
        work.section.segment_key, payload, meta, record.synthesized, address
    )


# -- on the client ------------------------------------------------------------------


def _work(task: SectionTask) -> SectionWork:
    engine = task.plan.engine
    options = dict(task.options)
    if engine.voice and not options.get("voice"):
        options["voice"] = engine.voice  # a pinned voice
    version, code = fingerprint()
    return SectionWork(
        version,
        code,
        engine.name,
        options,
        dict(engine.identity()),
        task.section,
        task.plan.mastering,
    )


class DaskRunner:
    """Runs a batch's sections on the Dask cluster whose scheduler is ``address``."""

    def __init__(self, address: str, *, timeout_s: float = 20.0):
        """Connect and check every worker's narrator.

        Raises:
            ConfigError: Dask is not installed.
            NarratorError: the scheduler is unreachable or has no worker.
            WorkerMismatch: a worker runs another narrator.
        """
        try:
            from distributed import Client
        except ImportError as exc:
            raise ConfigError(
                "--scheduler needs Dask: pip install 'narrator[dask]'."
            ) from exc
        self.address = address
        self.used: set[str] = set()
        try:
            self.client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise NarratorError(
                f"cannot reach the Dask scheduler at {address} ({exc}); start one "
                "with `dask scheduler` and workers with `dask worker ADDRESS`."
            ) from exc
        try:
            self._check_workers(timeout_s)
        except BaseException:
            self.client.close()
            raise

    def _check_workers(self, timeout_s: float) -> None:
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError as exc:
            raise NarratorError(
                f"no Dask worker is connected to {self.address}; start one with "
                f"`dask worker {self.address}`."
            ) from exc
        found: dict[str, Any] = self.client.run(fingerprint)
        version, code = fingerprint()
        for address, theirs in sorted(found.items()):
            if tuple(theirs) != (version, code):
                raise WorkerMismatch(
                    f"Dask worker {address} runs {_describe(*theirs)}, this client "
                    f"{_describe(version, code)}: install the same narrator on "
                    "every worker and restart them."
                )

    def workers(self) -> int:
        return len(self.used)

    def close(self) -> None:
        self.client.close()

    def run(
        self, tasks: Sequence[SectionTask]
    ) -> Iterator[tuple[SectionTask, Outcome]]:
        """Submit every section not in the client's cache; yield each as it lands."""
        from distributed import as_completed

        cached: list[tuple[SectionTask, Outcome]] = []
        futures: dict[Any, SectionTask] = {}
        for task in tasks:
            entry = task.plan.cache.get("segments", task.key)
            if entry is not None:
                cached.append((task, SegmentRecord.from_entry(entry)))
                continue
            future = self.client.submit(produce_remote, _work(task), pure=False)
            futures[future] = task
        try:
            yield from cached
            for future in as_completed(list(futures), loop=self.client.loop):
                task = futures[future]
                outcome = self._receive(future, task)
                yield task, outcome
                if isinstance(outcome, NarratorError):
                    self._cancel_orphans(futures)
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def _receive(self, future: Any, task: SectionTask) -> Outcome:
        """Store what the worker sent in the client's cache, or say why it failed."""
        try:
            got: SectionBytes = future.result()
        except NarratorError as exc:
            return exc
        except Exception as exc:  # Dask's own: a task lost too often, cancelled
            return NarratorError(
                f'section "{task.section.title}" failed on the Dask cluster '
                f"({type(exc).__name__}: {exc})."
            )
        finally:
            future.release()
        entry = task.plan.cache.put("segments", got.key, got.payload, got.meta)
        self.used.add(got.worker)
        return SegmentRecord.from_entry(entry, got.synthesized)

    def _cancel_orphans(self, futures: Mapping[Any, SectionTask]) -> None:
        """Cancel the tasks that only failed documents need (the batch flagged them)."""
        stale = [f for f, t in futures.items() if t.cancel.is_set() and not f.done()]
        if stale:
            self.client.cancel(stale)


__all__ = [
    "DaskRunner",
    "SectionBytes",
    "SectionWork",
    "check_fingerprint",
    "code_digest",
    "fingerprint",
    "produce_remote",
]
