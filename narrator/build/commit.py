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

import contextlib
import shutil
import uuid
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
from narrator.container import aac, mp4file, mp4tags, sidecars, splice
from narrator.container.frames import (
    COPY_CHUNK_BYTES,
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
    utterances_synthesized: int = 0  # what the engine spoke (the rest was reused)

    def to_json(self) -> dict[str, object]:
        return {
            "output": str(self.output),
            "duration_s": round(self.duration_s, 3),
            "engine": self.engine,
            "sections_synthesized": self.sections_synthesized,
            "sections_reused": self.sections_reused,
            "utterances_synthesized": self.utterances_synthesized,
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
    for kind, entries in (("speech", plan.speech), ("pictures", plan.pictures)):
        try:
            for key, data in entries:
                plan.cache.put(kind, key, data)
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
    # Not the cover, not the transcript.
    if plan.writing.container == "mp3":
        chapters, duration_s = read_chapters(out)
    else:
        chapters, duration_s = mp4tags.read_chapters(out)
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
    if plan.writing.container != "mp3":
        return _run_mp4(plan, produce, extras)
    fmt = PRESETS[plan.mastering.preset].fmt
    made = extras(plan)
    cover, intro, outro = made.cover, made.intro, made.outro
    records = produce(plan)
    segments = [encoded(r) for r in (intro, *records, outro) if r is not None]
    placed = splice.plan_splice(segments, fmt)
    timeline = _timeline(plan, records, placed, first=int(intro is not None), fmt=fmt)

    info = _info(plan, cover)
    files = _sidecars(plan, info, timeline)
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
        utterances_synthesized=sum(r.spoken for r in records),
    )


def _info(plan: BuildPlan, cover: bytes | None) -> EpisodeInfo:
    """The episode's tags with its transcript and (generated) cover."""
    info = replace(plan.info, transcript=transcript(_spoken(plan)))
    if info.cover is None:
        info = replace(info, cover=cover, cover_mime="image/jpeg")
    return info


def _sidecars(
    plan: BuildPlan, info: EpisodeInfo, timeline: Timeline
) -> dict[Path, bytes]:
    if not plan.writing.sidecars:
        return {}
    return sidecars.render_sidecars(
        plan.output_path,
        timeline,
        title=info.title,
        podcast=info.podcast,
        author=info.author,
        file_name=plan.writing.sidecar_name,
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
    placed: splice.SpliceResult | aac.Placement,
    *,
    first: int,
    fmt: Mp3Format,
) -> Timeline:
    """Chapter and cue times: from the MP3's frames, for both containers (an
    M4A/M4B's sidecars are the MP3's, see ``container.aac``)."""
    if isinstance(placed, aac.Placement):
        starts, duration = placed.mp3_starts, placed.mp3_duration
    else:
        starts, duration = placed.segment_starts, placed.duration_samples
    return build_timeline(
        [
            PlacedSection(sp.title, sp.utterances, record.spans, sp.picture, sp.url)
            for sp, record in zip(plan.sections, records, strict=True)
        ],
        starts,
        first_segment=first,
        duration_samples=duration,
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
    return render_id3(
        info,
        timeline.chapters,
        version=plan.writing.id3_version,
        extra=_extra(plan, info, files),
        encoder=f"narrator {__version__}",
    )


def _extra(
    plan: BuildPlan, info: EpisodeInfo, files: dict[Path, bytes]
) -> dict[str, str]:
    """What the next build checks (TXXX frames, or MP4 freeform items)."""
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
    return extra


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


# -- M4A / M4B -----------------------------------------------------------------


def aac_segment(record: SegmentRecord) -> aac.AacSegment:
    """The AAC segment as the joiner reads it."""
    return aac.AacSegment(
        record.entry_path,
        record.frames,
        record.samples,
        record.size_bytes,
        record.sound,
        offset=record.payload_offset,
    )


def _run_mp4(plan: BuildPlan, produce: Produce, extras: MakeExtras) -> BuildResult:
    """The MP4 path of ``_run``: join the AAC segments, mux, finish, tag, write."""
    fmt = PRESETS[plan.mastering.preset].fmt
    made = extras(plan)
    records = produce(plan)
    segments = [
        aac_segment(r) for r in (made.intro, *records, made.outro) if r is not None
    ]
    placement = aac.place(segments, fmt)
    first = int(made.intro is not None)
    timeline = _timeline(plan, records, placement, first=first, fmt=fmt)
    info = _info(plan, made.cover)
    files = _sidecars(plan, info, timeline)
    rate = fmt.sample_rate
    # The MP3's chapter times, so both files and the sidecars agree (each start
    # lies in its section's lead silence, wherever the units put it).
    titles = [c.title for c in timeline.chapters]
    starts = [c.start_ms * rate // 1000 for c in timeline.chapters]

    def write_mp4(handle: BinaryIO) -> None:
        metadata = mp4file.chapters_in_samples(
            titles, starts, placement.duration_samples, rate
        )
        smpb = mp4tags.itunsmpb(
            aac.PRIMING, placement.padding, placement.duration_samples
        )
        flavour: mp4tags.Flavour = "m4b" if plan.writing.container == "m4b" else "m4a"

        def tag(path: Path) -> None:
            extra = _extra(plan, info, files)
            encoder = f"narrator {__version__}"
            mp4tags.write_mp4_tags(
                path, info, flavour=flavour, smpb=smpb, extra=extra, encoder=encoder
            )

        _write_mp4(plan, segments, placement, metadata, titles, handle, tag)

    write_episode(plan.output_path, write_mp4, files, scratch_dir=plan.cache.tmp_dir())
    synthesized = [
        sp.title for sp, r in zip(plan.sections, records, strict=True) if r.synthesized
    ]
    return BuildResult(
        output=plan.output_path,
        duration_s=placement.duration_samples / rate,
        engine=plan.engine.name,
        sections_synthesized=len(synthesized),
        sections_reused=len(records) - len(synthesized),
        chapters=timeline.chapters,
        timeline=timeline,
        sidecars=tuple(files),
        synthesized_titles=tuple(synthesized),
        utterances_synthesized=sum(r.spoken for r in records),
    )


def _write_mp4(
    plan: BuildPlan,
    segments: list[aac.AacSegment],
    placement: aac.Placement,
    metadata: str,
    titles: list[str],
    out: BinaryIO,
    tag: Callable[[Path], None],
) -> None:
    """Join the units, mux them with the chapters, finish the boxes, tag, copy
    to ``out`` (the episode's temporary file). The joined units and the MP4 are
    made in the cache's scratch folder and removed whatever happens."""
    fmt = PRESETS[plan.mastering.preset].fmt
    scratch = plan.cache.tmp_dir()
    stem = f"mp4-{uuid.uuid4().hex[:12]}"
    adts_path, mp4_path = scratch / f"{stem}.aac", scratch / f"{stem}.mp4"
    try:
        silent = aac.silent_unit(fmt, scratch / f"{stem}.silent.aac")
        with adts_path.open("wb") as joined:
            aac.write_units(segments, placement, silent, joined)
        mp4file.mux(adts_path, metadata, mp4_path, sample_rate=fmt.sample_rate)
        adts_path.unlink()
        mp4file.finish(
            mp4_path,
            units=placement.units,
            duration=placement.duration_samples,
            priming=aac.PRIMING,
            titles=titles,
        )
        tag(mp4_path)
        with mp4_path.open("rb") as source:
            shutil.copyfileobj(source, out, COPY_CHUNK_BYTES)
    finally:
        for path in (adts_path, mp4_path):
            with contextlib.suppress(OSError):
                path.unlink()
