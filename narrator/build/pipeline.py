"""Run a build: plan, produce the segments, place them, tag, write.

The pipeline orchestrates and reads top to bottom; each step is owned by a
module named after it: ``episode`` (the document, its speech and tags),
``engines`` (which engine), ``segments`` (each section's encoded audio,
through the caches), ``splice`` (the splice plan), ``timeline`` (chapter and
cue times), ``tags`` (the ID3 tag) and ``output`` (the lock, the previous
build, the files). It never prints and never reads options: the CLI passes
Settings, a ``report`` callback for progress and a ``note`` callback for
warnings.

Incremental design. An edit re-synthesizes and re-encodes only the sections it
touched; a tag-only change re-splices cached frames; an unchanged build is
detected from the build hash stored in the output's tags (and the sidecars'
digest) and rewrites nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from narrator import __version__
from narrator.build.episode import (
    Note,
    episode_guid,
    episode_info,
    generated_cover,
    prepare,
    read_document,
    transcript,
)
from narrator.build.output import (
    PreviousBuild,
    clean_stale_temps,
    output_lock,
    read_previous,
    write_episode,
)
from narrator.build.segments import (
    SectionPlan,
    SegmentRecord,
    file_digest,
    plan_sections,
    produce_jingle,
    produce_sections,
    segment_params,
)
from narrator.cache import Cache, default_cache_dir, make_key
from narrator.config import Settings, default_jobs, default_output
from narrator.container.sidecars import sidecars_digest, sidecars_on_disk_digest
from narrator.engines import Engine, choose_engine
from narrator.errors import ConfigError, InputError, NarratorError, SummaryError
from narrator.model import Chapter, Document, EpisodeInfo, Timeline, Utterance
from narrator.speech.lexicon import load_user_lexicon

if TYPE_CHECKING:
    from narrator.container.frames import Mp3Format
    from narrator.container.splice import SpliceResult

# An ID3 CTOC lists at most 255 chapters (8-bit count).
MAX_SECTIONS = 255


@dataclass(frozen=True)
class Progress:
    """A progress event: ``done`` of ``total`` sections, and what just happened."""

    done: int
    total: int
    section: str
    action: str  # "synthesized" or "reused"


Report = Callable[[Progress], None]


@dataclass(frozen=True)
class BuildPlan:
    """Everything a build will do, decided before any audio is made."""

    source_path: Path
    output_path: Path
    document: Document
    engine: Engine
    sections: tuple[SectionPlan, ...]
    info: EpisodeInfo
    build_key: str
    cache: Cache
    previous: PreviousBuild | None  # what the MP3 already at the output says
    # Sections made speakable while planning, stored when the plan is run.
    speech: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class BuildResult:
    output: Path
    duration_s: float
    engine: str
    sections_synthesized: int
    sections_reused: int
    chapters: tuple[Chapter, ...]
    up_to_date: bool = False
    timeline: Timeline | None = None
    sidecars: tuple[Path, ...] = ()
    synthesized_titles: tuple[str, ...] = ()  # sections that were (re)synthesized

    def to_json(self) -> dict[str, object]:
        return {
            "output": str(self.output),
            "duration_s": round(self.duration_s, 3),
            "engine": self.engine,
            "sections_synthesized": self.sections_synthesized,
            "sections_reused": self.sections_reused,
            "up_to_date": self.up_to_date,
            "chapters": [
                {
                    "title": c.title,
                    "start_s": round(c.start_ms / 1000, 3),
                    "end_s": round(c.end_ms / 1000, 3),
                }
                for c in self.chapters
            ],
        }


# -- planning --------------------------------------------------------------


def plan_build(
    source_path: Path,
    settings: Settings,
    engine: Engine | None = None,
    note: Note | None = None,
) -> BuildPlan:
    """Parse and key everything without synthesizing: what a build would do.

    Raises:
        NarratorError: bad input, options or engine.
    """
    return plan_episode(source_path, read_document(source_path), settings, engine, note)


def _check_preset(settings: Settings) -> None:
    from narrator.audio.render import PRESETS

    if settings.preset not in PRESETS:
        raise ConfigError(
            f"unknown preset {settings.preset!r}; use {', '.join(PRESETS)}."
        )


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
    _check_preset(settings)
    if len(document.sections) > MAX_SECTIONS:
        raise SummaryError(
            f"has {len(document.sections)} sections; an episode holds at most "
            f"{MAX_SECTIONS} chapters: split the document.",
            path=str(source_path),
        )
    output = settings.output_path or default_output(source_path)
    if output.is_dir():
        raise InputError(f"{output} is a folder; pass -o FOLDER/NAME.mp3.")
    previous = read_previous(output)
    if engine is None:
        from narrator.container.tags import TXXX_ENGINE, TXXX_VOICE

        engine = choose_engine(
            settings.engine,
            settings.engine_options,
            pinned=previous.get(TXXX_ENGINE) if previous is not None else None,
            pinned_voice=previous.get(TXXX_VOICE) if previous is not None else None,
            output_path=output,
            note=note,
        )
    lexicon = load_user_lexicon(source_path, settings.lexicon_path)
    cache = Cache(settings.cache_dir or default_cache_dir())
    speech: list[tuple[str, bytes]] = []
    prepared, warnings = prepare(document, engine.profile, lexicon, cache, speech)
    if not prepared:
        unread = "; ".join(w.split(": ", 1)[1] for w in warnings if "left out" in w)
        raise SummaryError(
            "has no speakable text"
            + (f" ({unread})" if unread else "")
            + "; add French sentences under the headings.",
            path=str(source_path),
        )
    for warning in warnings:
        if note is not None:
            note(warning)
    params = segment_params(settings)
    sections = plan_sections(prepared, engine.identity(), params, cache)
    info = episode_info(source_path, document, settings, note)
    build_key = _build_key(sections, info, params, settings)
    return BuildPlan(
        source_path,
        output,
        document,
        engine,
        sections,
        info,
        build_key,
        cache,
        previous,
        tuple(speech),
    )


def _build_key(
    sections: tuple[SectionPlan, ...],
    info: EpisodeInfo,
    params: dict[str, object],
    settings: Settings,
) -> str:
    """One hash of every input of the file: equal keys mean an identical episode."""
    jingles = {
        name: file_digest(p)
        for name, p in (("intro", settings.intro_path), ("outro", settings.outro_path))
        if p is not None
    }
    return make_key(
        {
            "kind": "build",
            "narrator": __version__,
            "segments": [s.segment_key for s in sections],
            "titles": [s.title for s in sections],
            "displays": [[u.display for u in s.utterances] for s in sections],
            "jingles": jingles,
            "params": params,
            "info": {
                "title": info.title,
                "author": info.author,
                "podcast": info.podcast,
                "date": info.date,
                "episode": info.episode,
                "description": info.description,
                "language": info.language,
                "cover": hashlib.sha256(info.cover).hexdigest()
                if info.cover
                else "generated-v1",
            },
            "id3": settings.id3_version,
            "sidecars": settings.sidecars,
        }
    )


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

    Raises:
        NarratorError: bad input (exit 2) or a failure while building (exit 1);
            the previous output is left intact and finished sections stay cached.
    """
    return run_plan(plan_build(source_path, settings, engine, note), settings, report)


def run_plan(
    plan: BuildPlan, settings: Settings, report: Report | None = None
) -> BuildResult:
    """Carry out ``plan`` under the output's lock, unless the episode is up to date.

    Raises:
        NarratorError: a failure while building; the previous output is left
            intact and finished sections stay cached.
    """
    current = check_current(plan, settings)
    if current is not None:
        return current
    return commit(plan, settings, lambda locked: _produce(locked, settings, report))


def check_current(plan: BuildPlan, settings: Settings) -> BuildResult | None:
    """The existing episode if it is up to date (unless ``force``), else None.

    Creates the output folder. Checked before locking too: an unchanged episode
    in a folder we cannot write (or that another build is rewriting) is still
    up to date.

    Raises:
        InputError: the output folder cannot be created.
    """
    # The plan is being carried out: keep the sections planning made speakable
    # (a dry run, which stops at the plan, writes nothing).
    for key, data in plan.speech:
        try:
            plan.cache.put("speech", key, data)
        except (NarratorError, OSError):
            break  # a cache we cannot write only costs speed
    out = plan.output_path
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{out.parent}: cannot create the output folder: {exc.strerror}."
        ) from exc
    if settings.force:
        return None
    return _up_to_date(plan, plan.previous, settings)


Produce = Callable[[BuildPlan], list[SegmentRecord]]


@dataclass(frozen=True)
class Extras:
    """What a build makes besides its sections: the generated cover, the jingles."""

    cover: bytes | None
    intro: SegmentRecord | None
    outro: SegmentRecord | None


def make_extras(plan: BuildPlan, settings: Settings) -> Extras:
    """The generated cover and the intro/outro segments (cached).

    Made before the sections run: the 3000 px cover while memory is low, and
    a jingle ffmpeg cannot read fails before any synthesis.

    Raises:
        InputError: ffmpeg cannot read the intro or outro.
    """
    cover = generated_cover(plan.info, plan.cache) if plan.info.cover is None else None
    intro = outro = None
    if settings.intro_path is not None:
        intro = produce_jingle(plan.cache, settings, settings.intro_path, "intro")
    if settings.outro_path is not None:
        outro = produce_jingle(plan.cache, settings, settings.outro_path, "outro")
    return Extras(cover, intro, outro)


def commit(
    plan: BuildPlan,
    settings: Settings,
    produce: Produce,
    extras: Extras | None = None,
) -> BuildResult:
    """Under the output's lock, unless up to date: produce the segments and write.

    ``produce`` gives the plan's segment records, one per section in order
    (a batch passes records it produced beforehand).

    Raises:
        NarratorError: a failure while building; the previous output is left
            intact and finished sections stay cached.
    """
    out = plan.output_path
    with output_lock(out, settings.lock_dir):
        clean_stale_temps(out, plan.cache.tmp_dir())
        previous = read_previous(out)  # another build may have written it
        if not settings.force:
            current = _up_to_date(plan, previous, settings)
            if current is not None:
                return current
        plan.cache.clean_tmp()
        return _run(replace(plan, previous=previous), settings, produce, extras)


def _up_to_date(
    plan: BuildPlan, previous: PreviousBuild | None, settings: Settings
) -> BuildResult | None:
    """The existing episode, if it was built from these inputs with these sidecars."""
    from narrator.container.tags import (
        TXXX_BUILD,
        TXXX_ENGINE,
        TXXX_SIDECARS,
        read_chapters,
    )

    out = plan.output_path
    if previous is None or previous.get(TXXX_BUILD) != plan.build_key:
        return None
    if settings.sidecars and (
        previous.get(TXXX_SIDECARS) != sidecars_on_disk_digest(out)
    ):
        return None  # sidecars missing, or not the ones this MP3 was built with
    chapters, duration_s = read_chapters(out)  # not the cover, not the transcript
    return BuildResult(
        output=out,
        duration_s=duration_s,
        engine=previous.get(TXXX_ENGINE) or plan.engine.name,
        sections_synthesized=0,
        sections_reused=len(plan.sections),
        chapters=chapters,
        up_to_date=True,
    )


def _run(
    plan: BuildPlan, settings: Settings, produce: Produce, extras: Extras | None
) -> BuildResult:
    """Produce the segments, place them, tag the episode and write it."""
    from narrator.audio.render import PRESETS
    from narrator.container.splice import plan_splice

    fmt = PRESETS[settings.preset].fmt
    if extras is None:
        extras = make_extras(plan, settings)
    cover, intro, outro = extras.cover, extras.intro, extras.outro
    records = produce(plan)
    segments = [r for r in (intro, *records, outro) if r is not None]
    placed = plan_splice([s.encoded() for s in segments], fmt)
    timeline = _timeline(plan, records, placed, first=int(intro is not None), fmt=fmt)

    info = replace(plan.info, transcript=transcript(_spoken(plan)))
    if info.cover is None:
        info = replace(info, cover=cover, cover_mime="image/jpeg")
    sidecars: dict[Path, bytes] = {}
    if settings.sidecars:
        from narrator.container.sidecars import render_sidecars

        sidecars = render_sidecars(
            plan.output_path,
            timeline,
            title=info.title,
            podcast=info.podcast,
            author=info.author,
        )
    id3 = _render_tag(plan, info, timeline, sidecars, settings)
    _write(plan, segments, fmt, id3, sidecars)

    pairs = zip(plan.sections, records, strict=True)
    synthesized = [sp.title for sp, record in pairs if record.synthesized]
    return BuildResult(
        output=plan.output_path,
        duration_s=placed.duration_samples / fmt.sample_rate,
        engine=plan.engine.name,
        sections_synthesized=len(synthesized),
        sections_reused=len(records) - len(synthesized),
        chapters=timeline.chapters,
        timeline=timeline,
        sidecars=tuple(sidecars),
        synthesized_titles=tuple(synthesized),
    )


def _produce(
    plan: BuildPlan, settings: Settings, report: Report | None
) -> list[SegmentRecord]:
    """Every section's segment, reporting each as it is done."""
    total = len(plan.sections)
    done = 0

    def on_done(sp: SectionPlan, action: str) -> None:
        nonlocal done
        done += 1  # called under produce_sections' lock
        if report is not None:
            report(Progress(done, total, sp.title, action))

    return produce_sections(
        plan.cache,
        plan.engine,
        plan.sections,
        settings,
        jobs=settings.jobs or default_jobs(plan.engine.local),
        on_done=on_done,
    )


def _spoken(plan: BuildPlan) -> list[tuple[str, tuple[Utterance, ...]]]:
    return [(sp.title, sp.utterances) for sp in plan.sections]


def _timeline(
    plan: BuildPlan,
    records: list[SegmentRecord],
    placed: SpliceResult,
    *,
    first: int,
    fmt: Mp3Format,
) -> Timeline:
    from narrator.container.frames import DECODER_DELAY, LAME_ENCODER_DELAY
    from narrator.container.timeline import PlacedSection, build_timeline

    return build_timeline(
        [
            PlacedSection(sp.title, sp.utterances, record.spans)
            for sp, record in zip(plan.sections, records, strict=True)
        ],
        placed.segment_starts,
        first_segment=first,
        duration_samples=placed.duration_samples,
        sample_rate=fmt.sample_rate,
        stream_offset=LAME_ENCODER_DELAY + DECODER_DELAY,
    )


def _render_tag(
    plan: BuildPlan,
    info: EpisodeInfo,
    timeline: Timeline,
    sidecars: dict[Path, bytes],
    settings: Settings,
) -> bytes:
    """The ID3 tag: the episode's tags, its chapters, and what the next build checks."""
    from narrator.container.tags import (
        TXXX_BUILD,
        TXXX_ENGINE,
        TXXX_GUID,
        TXXX_SIDECARS,
        TXXX_SOURCE,
        TXXX_TITLE,
        TXXX_VOICE,
        render_id3,
    )

    extra = {
        TXXX_GUID: episode_guid(plan.previous, plan.source_path.name, info.title),
        TXXX_ENGINE: plan.engine.name,
        TXXX_BUILD: plan.build_key,
        TXXX_SOURCE: plan.source_path.name,
        TXXX_TITLE: info.title,
    }
    if plan.engine.voice:
        extra[TXXX_VOICE] = plan.engine.voice
    if sidecars:
        extra[TXXX_SIDECARS] = sidecars_digest(sidecars)
    return render_id3(
        info,
        timeline.chapters,
        version=settings.id3_version,
        extra=extra,
        encoder=f"narrator {__version__}",
    )


def _write(
    plan: BuildPlan,
    segments: list[SegmentRecord],
    fmt: Mp3Format,
    id3: bytes,
    sidecars: dict[Path, bytes],
) -> None:
    from narrator.container.splice import splice

    def write_mp3(handle: BinaryIO) -> None:
        splice([s.encoded() for s in segments], fmt, handle, id3=id3)

    write_episode(
        plan.output_path, write_mp3, sidecars, scratch_dir=plan.cache.tmp_dir()
    )
