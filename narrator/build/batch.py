"""Build a show folder in one run: every document, one pool of sections, one feed.

A batch plans every document first (``plan.plan_file``), so an
unchanged one costs a tag read and an edited one keys only its changed
sections. The sections of all documents that need work then go to one
*runner*: a thread pool here (``LocalRunner``), or a Dask cluster
(``narrator.build.distributed``). One pool for everything means one document's
synthesis overlaps another's encoding, and a network engine's request limit
holds for the whole batch rather than per document. As soon as every section
of a document is ready, it is placed, tagged and written with the pipeline's
own steps (``commit.commit``), while the runner keeps working on the rest.

A document that fails (bad input, an engine error) is reported and the
others still build. With a feed, every new or changed episode is then
published into it (``publish.publish_episode``), in episode order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from narrator.build.commit import BuildResult, check_current, commit
from narrator.build.episode import Note, episode_tags
from narrator.build.keys import (
    BuildPlan,
    Extras,
    SegmentRecord,
    pinned,
    read_previous,
)
from narrator.build.plan import plan_file
from narrator.build.produce import make_extras, produce_section, reread
from narrator.build.schedule import Cancelled, Progress, Report
from narrator.build.tasks import Outcome, Runner, SectionTask
from narrator.cache import Cache, default_cache_dir
from narrator.config import Settings, default_jobs
from narrator.container.tags import TXXX_GUID
from narrator.engines import choose_engine
from narrator.engines.base import Engine
from narrator.errors import InputError, NarratorError
from narrator.publish.feed_reader import parse_existing_feed
from narrator.publish.podcast import publish_episode

DOCUMENT_SUFFIXES = (".txt", ".md")
SETTINGS_FILES = ("podcast.toml", "narrator.toml")


def produce_task(task: SectionTask) -> SegmentRecord:
    """A batch task's segment, produced here, in the plan's cache.

    Raises:
        EngineError: synthesis failed.
        Cancelled: every document that needed it failed meanwhile.
    """
    plan = task.plan
    return produce_section(
        plan.cache, plan.engine, task.section, plan.mastering, task.cancel
    )


@dataclass(frozen=True)
class FeedTarget:
    """Where a batch publishes: the feed file, its URL, the show's settings."""

    feed_path: Path
    base_url: str
    config_path: Path | None = None  # default: podcast.toml beside the feed
    site: bool = True
    feed_url: str | None = None


@dataclass(frozen=True)
class Episode:
    """One document's outcome: its build result, or the error that stopped it."""

    source: Path
    output: Path
    result: BuildResult | None = None
    error: str | None = None
    published: str | None = None  # "added" or "updated" when published

    def to_json(self) -> dict[str, object]:
        r = self.result
        return {
            "source": str(self.source),
            "output": str(self.output),
            "up_to_date": bool(r and r.up_to_date),
            "sections_synthesized": r.sections_synthesized if r else 0,
            "sections_reused": r.sections_reused if r else 0,
            "utterances_synthesized": r.utterances_synthesized if r else 0,
            "duration_s": round(r.duration_s, 3) if r else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class BatchResult:
    episodes: tuple[Episode, ...]
    workers: int  # the workers (threads' process, or Dask workers) that did work

    @property
    def failed(self) -> int:
        return sum(e.error is not None for e in self.episodes)

    @property
    def up_to_date(self) -> int:
        return sum(
            e.error is None and e.result is not None and e.result.up_to_date
            for e in self.episodes
        )

    @property
    def built(self) -> int:
        return len(self.episodes) - self.failed - self.up_to_date

    def to_json(self) -> dict[str, object]:
        return {
            "episodes": [e.to_json() for e in self.episodes],
            "built": self.built,
            "up_to_date": self.up_to_date,
            "failed": self.failed,
            "workers": self.workers,
        }


class LocalRunner:
    """A thread pool over the sections of every document (``jobs`` at a time)."""

    def __init__(self, jobs: int):
        self.jobs = max(1, jobs)
        self._worked = False

    def run(
        self, tasks: Sequence[SectionTask]
    ) -> Iterator[tuple[SectionTask, Outcome]]:
        pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="narrator-batch")
        futures: dict[Future[SegmentRecord], SectionTask] = {}
        try:
            for task in tasks:
                futures[pool.submit(produce_task, task)] = task
            for job in as_completed(futures):
                error = job.exception()
                if error is None:
                    self._worked = True
                    yield futures[job], job.result()
                elif isinstance(error, NarratorError | Cancelled):
                    yield futures[job], _as_narrator_error(error)
                else:
                    raise error
        finally:
            for task in tasks:
                task.cancel.set()  # no-op for finished ones; stops the rest on errors
            pool.shutdown(wait=True, cancel_futures=True)

    def workers(self) -> int:
        return int(self._worked)


def _as_narrator_error(error: BaseException) -> NarratorError:
    if isinstance(error, NarratorError):
        return error
    return NarratorError("cancelled: another section of this document failed.")


# -- finding and planning documents ------------------------------------------------


def find_documents(folder: Path) -> list[Path]:
    """The folder's episodes: every visible ``*.txt`` and ``*.md`` but the settings.

    Raises:
        InputError: the folder does not exist or holds no document.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder; give the show's folder.")
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in DOCUMENT_SUFFIXES
        and p.name not in SETTINGS_FILES
    )
    if not found:
        raise InputError(f"{folder}: no .txt or .md document to build.")
    return found


@dataclass
class _Doc:
    """A document during the batch: its plan, then its records as they arrive."""

    source: Path
    output: Path
    settings: Settings
    plan: BuildPlan | None = None
    extras: Extras | None = None
    records: dict[int, SegmentRecord] = field(default_factory=dict)
    episode: Episode | None = None  # set once it is done (built, current, failed)

    def fail(self, error: NarratorError | str) -> None:
        if self.episode is None:
            message = str(error)
            self.episode = Episode(self.source, self.output, error=message)


class _Engines:
    """One engine per (pinned engine, voice): ``auto`` probes once, not per file."""

    def __init__(self, settings: Settings, note: Note | None):
        self.settings = settings
        self.note = note
        self.made: dict[tuple[str | None, str | None], Engine] = {}
        self.lock = threading.Lock()

    def for_output(self, output: Path) -> Engine:
        engine, voice = pinned(read_previous(output))
        key = (engine, voice) if self.settings.engine == "auto" else (None, None)
        with self.lock:
            if key not in self.made:
                self.made[key] = choose_engine(
                    self.settings.engine,
                    self.settings.engine_options,
                    pinned=engine,
                    pinned_voice=voice,
                    output_path=output,
                    note=self.note,
                )
            return self.made[key]


def _plan(
    docs: list[_Doc], settings: Settings, engine: Engine | None, note: Note | None
) -> None:
    """Plan every document; settle those that are up to date or fail to plan."""
    engines = _Engines(settings, note)
    outputs: dict[Path, Path] = {}
    for doc in docs:
        other = outputs.setdefault(doc.output, doc.source)
        if other != doc.source:
            doc.fail(f"{doc.source}: same output {doc.output} as {other}; rename one.")
            continue
        try:
            chosen = engine or engines.for_output(doc.output)
            plan = plan_file(doc.source, doc.settings, chosen, _named(note, doc))
            current = check_current(plan)
            if current is not None:
                doc.episode = Episode(doc.source, doc.output, result=current)
                continue
            doc.plan, doc.extras = plan, make_extras(plan)
        except NarratorError as exc:
            doc.fail(exc)


def _named(note: Note | None, doc: _Doc) -> Note | None:
    """The note callback, naming the document (warnings of many files interleave)."""
    if note is None:
        return None
    say, name = note, doc.source.name
    return lambda message: say(message if name in message else f"{name}: {message}")


def _tasks(docs: list[_Doc]) -> list[SectionTask]:
    """One task per distinct segment of the documents still to build."""
    tasks: dict[str, SectionTask] = {}
    for i, doc in enumerate(docs):
        if doc.plan is None or doc.episode is not None:
            continue
        for sp in doc.plan.sections:
            task = tasks.get(sp.segment_key)
            if task is None:
                tasks[sp.segment_key] = SectionTask(
                    sp.segment_key,
                    doc.plan,
                    sp,
                    doc.settings.engine_options,
                    ((i, sp.index),),
                )
            else:
                tasks[sp.segment_key] = replace(
                    task, users=(*task.users, (i, sp.index)), cancel=task.cancel
                )
    return list(tasks.values())


# -- the batch ---------------------------------------------------------------------


def run_batch(
    folder: Path,
    settings: Settings,
    *,
    outdir: Path,
    runner: Runner | None = None,
    engine: Engine | None = None,
    feed: FeedTarget | None = None,
    report: Report | None = None,
    note: Note | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """Build every document of ``folder`` into ``outdir``, then publish to ``feed``.

    ``engine`` speaks every document (default: chosen per output, as ``build``
    does, one engine per pinned engine and voice).

    Failures of single documents are in the result (``Episode.error``); only
    a failure of the whole batch raises.

    Raises:
        InputError: no such folder, or no document in it.
        NarratorError: the runner failed as a whole (e.g. a refused worker).
    """
    kind = batch_format(settings, note)
    one = replace(settings, formats=(kind,))
    docs = [
        _Doc(source, out, replace(one, output_path=out))
        for source in find_documents(folder)
        for out in [outdir / f"{source.stem}.{kind}"]
    ]
    # Registered as a running build, so that a prune spares what it uses.
    with Cache(settings.cache_dir or default_cache_dir()).running():
        _plan(docs, settings, engine, note)
        tasks = _tasks(docs)
        if runner is None:
            engines = [d.plan.engine for d in docs if d.plan is not None]
            local = all(e.local for e in engines)
            runner = LocalRunner(settings.jobs or default_jobs(local))
        if tasks:
            _produce(docs, tasks, runner, report)
    for doc in docs:
        doc.fail("not built")  # cannot happen; a document is never left unsettled
    episodes = [d.episode for d in docs if d.episode is not None]
    if feed is not None:
        episodes = publish_all(episodes, feed, now=now, lock_dir=settings.lock_dir)
    return BatchResult(tuple(episodes), runner.workers())


def batch_format(settings: Settings, note: Note | None = None) -> str:
    """The one format a batch writes each document in: the first of
    ``[build] format`` (mp3 when none), the file a feed gets.

    One file per document keeps one episode per document in the report and
    the feed; the other formats listed are said to be left out.
    """
    if not settings.formats:
        return "mp3"
    kind = settings.formats[0]
    if len(settings.formats) > 1 and note is not None:
        left = ", ".join(settings.formats[1:])
        note(f"batch writes one format per document: {kind} ({left} left out).")
    return kind


def _produce(
    docs: list[_Doc],
    tasks: list[SectionTask],
    runner: Runner,
    report: Report | None,
) -> None:
    """Run every task; write each document as soon as its last section is in."""
    total = sum(len(t.users) for t in tasks)
    done = 0
    for task, outcome in runner.run(tasks):
        for n, (i, index) in enumerate(task.users):
            doc = docs[i]
            done += 1
            if isinstance(outcome, NarratorError):
                action = "failed"
                if doc.episode is None:
                    doc.fail(outcome)
                    _cancel_orphans(docs, tasks)
            else:
                fresh = outcome.synthesized and n == 0
                doc.records[index] = replace(outcome, synthesized=fresh)
                action = "synthesized" if fresh else "reused"
            if report is not None:
                report(Progress(done, total, task.section.title, action))
            plan = doc.plan
            if doc.episode is None and plan and len(doc.records) == len(plan.sections):
                _finish(doc)


def _cancel_orphans(docs: list[_Doc], tasks: list[SectionTask]) -> None:
    """Stop the tasks that only failed documents still need."""
    for task in tasks:
        if all(docs[i].episode is not None for i, _ in task.users):
            task.cancel.set()


def _finish(doc: _Doc) -> None:
    """Place, tag and write the document's episode from its produced records."""
    plan, extras = doc.plan, doc.extras
    assert plan is not None and extras is not None

    def records(locked: BuildPlan) -> list[SegmentRecord]:
        # As the cache holds them now: another build may have rewritten an
        # entry since it was produced.
        return [
            reread(plan.cache, plan.engine, sp, plan.mastering, doc.records[sp.index])
            for sp in plan.sections
        ]

    try:
        result = commit(plan, records, lambda locked: extras)
    except NarratorError as exc:
        doc.fail(exc)
        return
    doc.episode = Episode(doc.source, doc.output, result=result)


# -- publishing --------------------------------------------------------------------


def episode_order(episode: Episode) -> tuple[float, str, str]:
    """Front matter ``episode``, then ``date``, then the file name."""
    number: float = float("inf")
    date = "\uffff"
    try:
        tags = episode_tags(episode.output)
    except NarratorError:
        return number, date, episode.source.name
    if tags.episode:
        try:
            number = int(tags.episode.split("/")[0])
        except ValueError:
            pass
    return number, tags.date or date, episode.source.name


def publish_all(
    episodes: Sequence[Episode],
    feed: FeedTarget,
    *,
    now: datetime | None = None,
    lock_dir: Path | None = None,
) -> list[Episode]:
    """Publish every new or changed episode into the feed, in episode order.

    An episode is published when it was built in this batch or its guid is
    not in the feed yet. New items get dates one second apart in episode
    order, so the feed lists them in that order. Each publish takes the feed's
    lock (``lock_dir``) in turn with any other command publishing there.
    """
    in_feed = _feed_guids(feed.feed_path)
    start = now or datetime.now(tz=UTC)
    ready = sorted(
        (e for e in episodes if e.error is None and e.result is not None),
        key=episode_order,
    )
    published: dict[Path, Episode] = {}
    for n, episode in enumerate(ready):
        assert episode.result is not None
        if episode.result.up_to_date and _guid(episode.output) in in_feed:
            continue
        try:
            result = publish_episode(
                episode.output,
                feed_path=feed.feed_path,
                base_url=feed.base_url,
                config_path=feed.config_path,
                now=start + timedelta(seconds=n),
                feed_url=feed.feed_url,
                site=feed.site,
                lock_dir=lock_dir,
            )
        except NarratorError as exc:
            published[episode.source] = replace(episode, error=f"publish: {exc}")
            continue
        published[episode.source] = replace(episode, published=result.action)
    return [published.get(e.source, e) for e in episodes]


def _feed_guids(feed_path: Path) -> set[str]:
    if not feed_path.is_file():
        return set()
    try:
        return {i.guid for i in parse_existing_feed(feed_path).items}
    except NarratorError:
        return set()  # publish reports the unreadable feed


def _guid(output: Path) -> str | None:
    previous = read_previous(output)
    return previous.get(TXXX_GUID) if previous is not None else None


__all__ = [
    "BatchResult",
    "Episode",
    "FeedTarget",
    "LocalRunner",
    "find_documents",
    "publish_all",
    "run_batch",
]
