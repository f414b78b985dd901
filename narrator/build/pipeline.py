"""Run a build: plan, produce the segments, commit.

The pipeline orchestrates and reads top to bottom; each step is owned by a
module named after it: ``plan`` (the document, its speech, its keys),
``engines`` (which engine), ``produce`` (a section's encoded audio, through
the caches), ``schedule`` (the sections on a pool) and ``commit`` (place,
tag, write). It never prints and never reads options: the CLI passes
Settings, a ``report`` callback for progress and a ``note`` callback for
warnings. Settings stop at the top (here, ``batch`` and ``plan``, whose
``episode.episode_info`` turns the tag options into the episode's tags): the
stages below get the plan's values (``keys.Mastering``, ``keys.Writing``).

Incremental design. An edit re-synthesizes and re-encodes only the sections it
touched; a tag-only change re-splices cached frames; an unchanged build is
detected from the build hash stored in the output's tags (and the sidecars'
digest) and rewrites nothing.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from narrator.build.commit import BuildResult, check_current, commit
from narrator.build.episode import Note
from narrator.build.keys import (
    BuildPlan,
    PreviousBuild,
    SectionPlan,
    SegmentRecord,
    pinned,
)
from narrator.build.plan import ChooseEngine, plan_document, plan_file
from narrator.build.produce import make_extras, produce_section, reread
from narrator.build.schedule import Progress, Report, produce_sections
from narrator.cache import Cache, default_cache_dir
from narrator.config import Settings, episode_outputs
from narrator.engines import choose_engine
from narrator.engines.base import Engine
from narrator.errors import InputError
from narrator.model import Document, Paragraph, Section
from narrator.text.sections import first_words

# -- planning --------------------------------------------------------------


def engine_chooser(settings: Settings, note: Note | None = None) -> ChooseEngine:
    """How a build picks its engine: the settings' one, or for ``auto`` the one
    the output's MP3 was built with, else the best that runs (the registry's
    ``choose_engine``)."""

    def choose(output: Path, previous: PreviousBuild | None) -> Engine:
        engine, voice = pinned(previous)
        return choose_engine(
            settings.engine,
            settings.engine_options,
            pinned=engine,
            pinned_voice=voice,
            output_path=output,
            note=note,
        )

    return choose


def plan_build(
    source_path: Path,
    settings: Settings,
    engine: Engine | None = None,
    note: Note | None = None,
) -> BuildPlan:
    """Parse and key everything without synthesizing: what a build would do.

    ``plan.plan_file``, the engine chosen by the registry when none is given
    (planning sits below the registry).

    Raises:
        NarratorError: bad input, options or engine.
    """
    choose = engine_chooser(settings, note)
    return plan_file(source_path, settings, engine, note, choose=choose)


def plan_episode(
    source_path: Path,
    document: Document,
    settings: Settings,
    engine: Engine | None = None,
    note: Note | None = None,
) -> BuildPlan:
    """Plan the episode of a parsed ``document`` (``source_path`` names it).

    Raises:
        NarratorError: bad input, options or engine.
    """
    choose = engine_chooser(settings, note)
    return plan_document(source_path, document, settings, engine, note, choose=choose)


def dry_run(plan: BuildPlan) -> list[tuple[str, str]]:
    """Per section, what a build would do: ("reuse" | "synthesize", title)."""
    return [(sp.action, sp.title) for sp in plan.sections]


# -- the build ---------------------------------------------------------------


def build(
    source_path: Path,
    settings: Settings,
    report: Report | None = None,
    *,
    engine: Engine | None = None,
    note: Note | None = None,
) -> BuildResult:
    """Build (or bring up to date) the episode for ``source_path``.

    The build is registered as running in its cache while it runs, so that a
    prune spares what it uses (``watch`` registers each rebuild this way).

    Raises:
        NarratorError: bad input (exit 2) or a failure while building (exit 1);
            the previous output is left intact and finished sections stay cached.
    """
    # Registered from the start: planning already stores speech in the cache.
    with Cache(settings.cache_dir or default_cache_dir()).running():
        return run_plan(plan_build(source_path, settings, engine, note), report)


def build_formats(
    source_path: Path,
    settings: Settings,
    report: Report | None = None,
    *,
    engine: Engine | None = None,
    note: Note | None = None,
) -> list[BuildResult]:
    """Build every file ``settings`` asks for (``config.episode_outputs``), one
    after the other: the first synthesizes, the others find every clip cached.

    Raises:
        NarratorError: as ``build``; files built before the failure stay.
    """
    said: set[str] = set()

    def once(message: str) -> None:  # the same warning for every format: once
        if note is not None and message not in said:
            said.add(message)
            note(message)

    return [
        build(
            source_path,
            replace(settings, output_path=out),
            report,
            engine=engine,
            note=once,
        )
        for out in episode_outputs(source_path, settings)
    ]


def run_plan(plan: BuildPlan, report: Report | None = None) -> BuildResult:
    """Carry out ``plan`` under the output's lock, unless the episode is up to date.

    Raises:
        NarratorError: a failure while building; the previous output is left
            intact and finished sections stay cached.
    """
    current = check_current(plan)
    if current is not None:
        return current
    return commit(plan, lambda locked: _produce(locked, report), make_extras)


def _produce(plan: BuildPlan, report: Report | None) -> list[SegmentRecord]:
    """Every section's segment, reporting each as it is done."""
    total = len(plan.sections)
    done = 0

    def on_done(sp: SectionPlan, action: str) -> None:
        nonlocal done
        done += 1  # called under produce_sections' lock
        if report is not None:
            report(Progress(done, total, sp.title, action))

    def produce(
        sp: SectionPlan, cancel: threading.Event, spare: threading.Semaphore
    ) -> SegmentRecord:
        return produce_section(
            plan.cache, plan.engine, sp, plan.mastering, cancel, spare
        )

    records = produce_sections(plan.sections, produce, jobs=plan.jobs, on_done=on_done)
    # Read every entry again just before splicing: another build sharing this
    # cache may have rewritten one meanwhile.
    return [
        reread(plan.cache, plan.engine, sp, plan.mastering, r)
        for sp, r in zip(plan.sections, records, strict=True)
    ]


# -- one phrase (`narrator say`) -----------------------------------------------


def say_text(text: str, settings: Settings) -> tuple[str, float]:
    """Synthesize ``text`` to ``settings.output_path``; return (spoken text, seconds).

    One phrase to an MP3, the `narrator say` quick listen, on the build's own
    path: the phrase becomes a one-section document without a heading and
    goes through ``plan_episode`` and ``run_plan`` like any summary (the same
    normalization, engine, caches, mastering, encoder and writer), so what
    you hear is what a build says, and saying it again costs nothing. It
    lives here, beside the two functions it calls, rather than in a module
    of its own above them: that module would be one more level on every
    import chain through it (the CLI's would be nine modules deep).

    Raises:
        NarratorError: empty text, engine or audio failure.
    """
    phrase = " ".join(text.split())
    if not phrase:
        raise InputError("nothing to say: give a non-empty phrase.")
    section = Section(first_words(phrase), (Paragraph(phrase),), has_heading=False)
    settings = replace(settings, title=phrase[:100], sidecars=False)
    # The lexicon of a narrator.toml in the current folder applies, as it
    # would to a summary saved there.
    with Cache(settings.cache_dir or default_cache_dir()).running():
        plan = plan_episode(Path("say.txt"), Document((section,)), settings)
        result = run_plan(plan)
    spoken = " ".join(u.text for sp in plan.sections for u in sp.utterances)
    return spoken, result.duration_s
