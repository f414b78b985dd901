"""Writing a planned episode: up to date or not, then place, tag and write.

The one commit path of every build: ``pipeline.run_plan`` (a build, ``say``),
a batch and a Dask batch all end in ``commit``, so an episode is placed,
tagged and written the same way whoever produced its segments. Each step is
owned by the module named after it: ``splice`` (the splice plan and the
splice), ``timeline`` (chapter and cue times), ``tags`` (the ID3 tag),
``sidecars`` and ``output`` (the lock, the files).

The container's modules are called through their module (``splice.splice``,
``sidecars.render_sidecars``): tests interrupt a build at those steps.

Incremental design. An unchanged build is detected from the build key stored
in the output's tags (and the sidecars' digest) and rewrites nothing; a
tag-only change re-splices cached frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from narrator import __version__
from narrator.audio.render import PRESETS
from narrator.build.episode import transcript
from narrator.build.keys import (
    BuildPlan,
    Extras,
    PreviousBuild,
    SegmentRecord,
    episode_guid,
    read_previous,
)
from narrator.build.output import (
    clean_stale_temps,
    output_lock,
    write_episode,
)
from narrator.container import sidecars, splice
from narrator.container.frames import (
    DECODER_DELAY,
    LAME_ENCODER_DELAY,
    EncodedSegment,
    Mp3Format,
)
from narrator.container.tags import (
    TXXX_BUILD,
    TXXX_ENGINE,
    TXXX_GUID,
    TXXX_SIDECARS,
    TXXX_SOURCE,
    TXXX_TITLE,
    TXXX_VOICE,
    read_chapters,
    render_id3,
)
from narrator.container.timeline import PlacedSection, build_timeline
from narrator.errors import InputError, NarratorError
from narrator.model import Chapter, EpisodeInfo, Timeline, Utterance


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


Produce = Callable[[BuildPlan], list[SegmentRecord]]
MakeExtras = Callable[[BuildPlan], Extras]


def check_current(plan: BuildPlan) -> BuildResult | None:
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
    if plan.writing.force:
        return None
    return _up_to_date(plan, plan.previous)


def commit(plan: BuildPlan, produce: Produce, extras: MakeExtras) -> BuildResult:
    """Under the output's lock, unless up to date: produce the segments and write.

    ``extras`` gives the cover and jingles (``produce.make_extras``), then
    ``produce`` the plan's segment records, one per section in order (a batch
    passes what it made beforehand).

    Raises:
        NarratorError: a failure while building; the previous output is left
            intact and finished sections stay cached.
    """
    out = plan.output_path
    with output_lock(out, plan.writing.lock_dir):
        clean_stale_temps(out, plan.cache.tmp_dir())
        previous = read_previous(out)  # another build may have written it
        if not plan.writing.force:
            current = _up_to_date(plan, previous)
            if current is not None:
                return current
        plan.cache.clean_tmp()
        return _run(replace(plan, previous=previous), produce, extras)


def _up_to_date(plan: BuildPlan, previous: PreviousBuild | None) -> BuildResult | None:
    """The existing episode, if it was built from these inputs with these sidecars."""
    out = plan.output_path
    if previous is None or previous.get(TXXX_BUILD) != plan.build_key:
        return None
    if plan.writing.sidecars and (
        previous.get(TXXX_SIDECARS) != sidecars.sidecars_on_disk_digest(out)
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


def _run(plan: BuildPlan, produce: Produce, extras: MakeExtras) -> BuildResult:
    """Produce the segments, place them, tag the episode and write it."""
    fmt = PRESETS[plan.mastering.preset].fmt
    made = extras(plan)
    cover, intro, outro = made.cover, made.intro, made.outro
    records = produce(plan)
    segments = [encoded(r) for r in (intro, *records, outro) if r is not None]
    placed = splice.plan_splice(segments, fmt)
    timeline = _timeline(plan, records, placed, first=int(intro is not None), fmt=fmt)

    info = replace(plan.info, transcript=transcript(_spoken(plan)))
    if info.cover is None:
        info = replace(info, cover=cover, cover_mime="image/jpeg")
    files: dict[Path, bytes] = {}
    if plan.writing.sidecars:
        files = sidecars.render_sidecars(
            plan.output_path,
            timeline,
            title=info.title,
            podcast=info.podcast,
            author=info.author,
        )
    id3 = _render_tag(plan, info, timeline, files)
    _write(plan, segments, fmt, id3, files)

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
        sidecars=tuple(files),
        synthesized_titles=tuple(synthesized),
    )


def encoded(record: SegmentRecord) -> EncodedSegment:
    """The segment as the splicer reads it."""
    return EncodedSegment(
        record.entry_path,
        record.frames,
        record.samples,
        record.size_bytes,
        crc16=record.crc16,
        offset=record.payload_offset,
    )


def _spoken(plan: BuildPlan) -> list[tuple[str, tuple[Utterance, ...]]]:
    return [(sp.title, sp.utterances) for sp in plan.sections]


def _timeline(
    plan: BuildPlan,
    records: list[SegmentRecord],
    placed: splice.SpliceResult,
    *,
    first: int,
    fmt: Mp3Format,
) -> Timeline:
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
    files: dict[Path, bytes],
) -> bytes:
    """The ID3 tag: the episode's tags, its chapters, and what the next build checks."""
    extra = {
        TXXX_GUID: episode_guid(plan.previous, plan.source_path.name, info.title),
        TXXX_ENGINE: plan.engine.name,
        TXXX_BUILD: plan.build_key,
        TXXX_SOURCE: plan.source_path.name,
        TXXX_TITLE: info.title,
    }
    if plan.engine.voice:
        extra[TXXX_VOICE] = plan.engine.voice
    if files:
        extra[TXXX_SIDECARS] = sidecars.sidecars_digest(files)
    return render_id3(
        info,
        timeline.chapters,
        version=plan.writing.id3_version,
        extra=extra,
        encoder=f"narrator {__version__}",
    )


def _write(
    plan: BuildPlan,
    segments: list[EncodedSegment],
    fmt: Mp3Format,
    id3: bytes,
    files: dict[Path, bytes],
) -> None:
    def write_mp3(handle: BinaryIO) -> None:
        splice.splice(segments, fmt, handle, id3=id3)

    write_episode(plan.output_path, write_mp3, files, scratch_dir=plan.cache.tmp_dir())
