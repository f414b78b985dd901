"""One section's encoded segment, through the clip and segment caches.

A *segment* is one section's audio mastered and encoded on its own to CBR MP3
frames, cached under a key that covers its text, the engine identity and every
rendering parameter. A *clip* is the section's raw synthesized audio, cached
under the engine identity and the exact texts, so a change of pauses or
loudness re-masters without re-synthesizing. When a section's clip is not
cached, the last clip of a section with its title and voice (the cache's
``latest``) gives the utterances whose text did not change: a one-word edit
synthesizes one sentence (``reuse``). Intro and outro jingles are segments too.

What runs in parallel, and when, is ``schedule``'s business: a section here
is produced on the calling thread, its parts on the threads ``spare`` lends.
``container.encode`` is called through its module: tests count and time its
calls. The audio stage gets what it needs (``keys.Mastering``: the preset, the
pauses, the loudness target), never the settings.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from narrator.audio import aacpeak
from narrator.audio.clip import Clip
from narrator.audio.decode import ClipWriter
from narrator.audio.render import (
    PCM_FORMAT,
    PRESETS,
    SEGMENT_OVERHEAD,
    RenderPlan,
    SegmentLayout,
    codec_preset,
    codec_target,
    load_jingle,
    plan_render,
    render_jingle,
    render_part,
)
from narrator.build import reuse
from narrator.build.episode import generated_cover
from narrator.build.keys import (
    BuildPlan,
    Extras,
    Mastering,
    SectionPlan,
    SegmentRecord,
    file_digest,
)
from narrator.build.schedule import Cancelled, run_parts
from narrator.cache import Cache, Entry, make_key
from narrator.container import aac, encode
from narrator.container.frames import EncodedSegment, Mp3Format
from narrator.engines.base import Engine, SectionRef
from narrator.errors import AudioError, EngineError, InputError, NarratorError
from narrator.model import Audio, WordTiming

log = logging.getLogger(__name__)
Render = Callable[[SegmentLayout], Iterator[bytes]]

# About this many seconds of a section per part: the edit of one ordinary
# section (~3 minutes) keeps two cores busy, and a part costs one ffmpeg start.
PART_S = 90.0


# -- the clip ---------------------------------------------------------------------


def _cached_clip(
    cache: Cache, sp: SectionPlan, stack: contextlib.ExitStack
) -> Clip | None:
    """The section's clip from the cache, None if absent or unusable."""
    entry = cache.get("clips", sp.clip_key)
    if entry is None:
        return None
    try:
        return reuse.open_clip(stack, entry)
    except (NarratorError, OSError, KeyError, TypeError, ValueError) as exc:
        log.warning(
            "cached clip for %r is unusable (%s); re-synthesizing", sp.title, exc
        )
        return None


def _call(engine: Engine, sp: SectionPlan, texts: list[str]) -> list[Audio]:
    """One engine call: one Audio per text.

    Raises:
        EngineError: the engine failed or answered with another count.
    """
    try:
        audios = engine.synthesize(texts, section=SectionRef(sp.index, sp.title))
    except EngineError as exc:
        raise exc.with_section(sp.title) from exc
    if len(audios) != len(texts):
        raise EngineError(
            f"the engine returned {len(audios)} clips for {len(texts)} utterances.",
            engine=engine.name,
            section=sp.title,
        )
    return audios


def _synthesize(
    cache: Cache,
    engine: Engine,
    sp: SectionPlan,
    cancel: threading.Event,
    stack: contextlib.ExitStack,
) -> tuple[Clip, int]:
    """Make the section's clip into the clip cache: the utterances the latest
    clip of its title has, copied; the others synthesized. The clip, and how
    many utterances the engine spoke.

    Raises:
        EngineError: the engine failed (named after the section).
        Cancelled: another section failed meanwhile.
    """
    texts = [u.text for u in sp.utterances]
    digests = reuse.text_digests(texts)
    tmp = cache.tmp_dir() / f"clip-{sp.clip_key[:16]}-{uuid.uuid4().hex[:8]}.pcm"
    try:
        with contextlib.ExitStack() as donor_stack, tmp.open("wb") as out:
            donor = reuse.latest_clip(cache, sp.latest_key, donor_stack)
            writer = ClipWriter(out)
            speak = functools.partial(_call, engine, sp)
            spoken = reuse.write_utterances(
                writer, texts, digests, speak, cancel, donor
            )
        # The clip is read from the file it was written to, held open: the
        # cache entry may be pruned or replaced before the section is rendered.
        handle = stack.enter_context(tmp.open("rb"))
        meta = writer.meta()
        cache.put("clips", sp.clip_key, payload_path=tmp, meta=meta)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    reuse.remember(cache, sp.latest_key, sp.clip_key, digests)
    size = os.fstat(handle.fileno()).st_size
    return Clip.from_file(handle.fileno(), 0, size, meta), spoken


# -- the segment ------------------------------------------------------------------


def _encode_and_store(
    cache: Cache,
    key: str,
    render: Render,
    mastering: Mastering,
    words: Sequence[Sequence[WordTiming]] = (),
) -> Entry:
    """Encode the PCM ``render(layout)`` yields; store it as segment ``key``.

    Each utterance's span is where its trimmed audio lies in the segment; when
    the engine gave word timings, the span is narrowed to the first word's
    start and the last word's end, so transcript cues follow the voice.
    """
    layout = SegmentLayout()
    tmp = cache.tmp_dir() / f"seg-{key[:16]}-{uuid.uuid4().hex[:8]}.{mastering.codec}"
    try:
        fmt = PRESETS[mastering.preset].fmt
        encoded = _encode(mastering.codec, render, layout, fmt, tmp)
        return _store(cache, key, encoded, layout.utterances or [], words, mastering)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _encode(
    codec: str, render: Render, layout: SegmentLayout, fmt: Mp3Format, path: Path
) -> EncodedSegment | aac.AacSegment:
    """MP3 in one pass; AAC decoded within -1 dBTP (see ``audio.aacpeak``)."""
    if codec != "aac":
        return encode.encode_segment(
            render(layout), fmt, path, sample_format=PCM_FORMAT
        )
    code = functools.partial(
        aac.encode_segment, fmt=fmt, out_path=path, sample_format=PCM_FORMAT
    )

    def again() -> Iterator[bytes]:  # each attempt fills the layout anew
        layout.samples, layout.utterances = 0, []
        return render(layout)

    return aacpeak.encode_within_peak(code, again, fmt, path)


def _store(
    cache: Cache,
    key: str,
    encoded: EncodedSegment | aac.AacSegment,
    spans: Sequence[tuple[int, int]],
    words: Sequence[Sequence[WordTiming]],
    mastering: Mastering,
) -> Entry:
    """Store MP3 frames, or AAC access units and where their sound is."""
    rate = PRESETS[mastering.preset].fmt.sample_rate
    if isinstance(encoded, aac.AacSegment):
        frames, crc16, sound = encoded.units, None, encoded.sound
    else:
        frames, crc16, sound = encoded.frames, encoded.crc16, None
    return cache.put(
        "segments",
        key,
        payload_path=encoded.path,
        meta=SegmentRecord.meta(
            frames, encoded.samples, crc16, _word_spans(spans, words, rate), sound
        ),
    )


def _word_spans(
    spans: Sequence[tuple[int, int]],
    words: Sequence[Sequence[WordTiming]],
    sample_rate: int,
) -> list[tuple[int, int]]:
    """Utterance spans narrowed to their words (ms from the trimmed start)."""
    narrowed = []
    for i, (start, end) in enumerate(spans):
        timed = words[i] if i < len(words) else ()
        if timed and end > start:
            first = start + timed[0].start_ms * sample_rate // 1000
            last = start + timed[-1].end_ms * sample_rate // 1000
            if start <= first < last <= end:
                start, end = first, last
        narrowed.append((start, end))
    return narrowed


def produce_section(
    cache: Cache,
    engine: Engine,
    sp: SectionPlan,
    mastering: Mastering,
    cancel: threading.Event,
    spare: threading.Semaphore | None = None,
) -> SegmentRecord:
    """One section's segment: from the cache, else (synthesize,) master and encode.

    A long section is encoded in parts (see ``audio.render.RenderPlan``); a part
    runs on a thread of its own while ``spare`` lends one (a core the build
    does not use), else after the previous part.

    Raises:
        EngineError: synthesis failed.
        Cancelled: another section failed meanwhile.
    """
    # A reused segment's header and length are checked, its payload is not
    # hashed: a one-section edit would otherwise read the whole episode again.
    entry = cache.get("segments", sp.segment_key, verify=False)
    if entry is not None:
        return SegmentRecord.from_entry(entry)
    with contextlib.ExitStack() as stack:
        clip = _cached_clip(cache, sp, stack)
        synthesized, spoken = clip is None, 0
        if clip is None:
            clip, spoken = _synthesize(cache, engine, sp, cancel, stack)
        if cancel.is_set():
            raise Cancelled()
        entry = _render_section(cache, sp, clip, mastering, cancel, spare)
    return replace(SegmentRecord.from_entry(entry, synthesized), spoken=spoken)


def _render_section(
    cache: Cache,
    sp: SectionPlan,
    clip: Clip,
    mastering: Mastering,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> Entry:
    """Master and encode the section's clip, in parts when long; store the segment."""
    pauses = mastering.pauses
    preset = codec_preset(mastering.preset, mastering.codec)
    plan = plan_render(
        clip,
        [u.pause for u in sp.utterances],
        preset,
        pauses,
        lead_ms=pauses.lead_ms,
        tail_ms=(
            pauses.tail_ms if sp.last else max(0, pauses.section_ms - pauses.lead_ms)
        ),
        target_lufs=codec_target(preset, mastering.loudness_lufs, mastering.codec),
        part_s=PART_S,
    )
    if len(plan.parts) > 1:
        return _render_parts(cache, sp, clip, plan, mastering, cancel, spare)

    def render(layout: SegmentLayout) -> Iterator[bytes]:
        return render_part(clip, plan, 0, preset, layout)

    return _encode_and_store(cache, sp.segment_key, render, mastering, clip.words)


def _render_parts(
    cache: Cache,
    sp: SectionPlan,
    clip: Clip,
    plan: RenderPlan,
    mastering: Mastering,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> Entry:
    """Encode each part to its own file, then join them into the segment.

    Within the segment a part spans ``SEGMENT_OVERHEAD`` samples more than
    its PCM (its own LAME delay and padding): the spans of later parts move
    by that much, and the segment's length counts it. AAC parts are joined
    at the same places (``container.aac.join``), so both formats time a
    section alike.
    """
    preset = codec_preset(mastering.preset, mastering.codec)
    ext = mastering.codec
    stem = f"seg-{sp.segment_key[:16]}-{uuid.uuid4().hex[:8]}"
    paths = [cache.tmp_dir() / f"{stem}.{k}.{ext}" for k in range(len(plan.parts))]
    joined = cache.tmp_dir() / f"{stem}.{ext}"
    layouts = [SegmentLayout() for _ in plan.parts]

    def encode_part(k: int) -> EncodedSegment | aac.AacSegment:
        render = functools.partial(render_part, clip, plan, k, preset)
        return _encode(ext, render, layouts[k], preset.fmt, paths[k])

    try:
        parts = run_parts(encode_part, len(plan.parts), cancel, spare)
        spans: list[tuple[int, int]] = []
        offset = 0
        for part, layout in zip(parts, layouts, strict=True):
            spans += [(a + offset, b + offset) for a, b in layout.utterances or []]
            offset += part.samples + SEGMENT_OVERHEAD
        samples = offset - SEGMENT_OVERHEAD
        words = clip.words
        if ext == "aac":
            units = [p for p in parts if isinstance(p, aac.AacSegment)]
            silent = aac.silent_unit(preset.fmt, cache.tmp_dir() / f"{stem}.silent.aac")
            segment = aac.join(units, preset.fmt, joined, silent)
            return _store(cache, sp.segment_key, segment, spans, words, mastering)
        frames = [p for p in parts if isinstance(p, EncodedSegment)]
        mp3 = encode.join_parts(frames, preset.fmt, joined, samples)
        return _store(cache, sp.segment_key, mp3, spans, words, mastering)
    finally:
        for path in (*paths, joined):
            with contextlib.suppress(OSError):
                path.unlink()


def produce_jingle(
    cache: Cache,
    mastering: Mastering,
    params: Mapping[str, object],
    path: Path,
    role: str,
) -> SegmentRecord:
    """The intro's or outro's segment, loudness-matched and faded, cached by content.

    ``params`` are the build's rendering parameters (``plan.segment_params``):
    the jingle's key holds them as a section's does.

    Raises:
        InputError: ffmpeg cannot read the file.
    """
    key = make_key(
        {
            "kind": "jingle",
            "role": role,
            "file": file_digest(path),
            "params": dict(params),
        }
    )
    entry = cache.get("segments", key)
    if entry is not None:
        return SegmentRecord.from_entry(entry)
    preset = codec_preset(mastering.preset, mastering.codec)
    try:
        target = codec_target(preset, mastering.loudness_lufs, mastering.codec)
        x = load_jingle(path, preset, target)
    except AudioError as exc:
        raise InputError(
            f"{path}: --{role} is not audio ffmpeg can read ({exc})"
        ) from exc
    pauses = mastering.pauses
    gap = pauses.section_ms - pauses.tail_ms  # after the last section
    lead = 0 if role == "intro" else max(0, gap)
    tail = pauses.section_ms - pauses.lead_ms if role == "intro" else pauses.tail_ms

    def render(layout: SegmentLayout) -> Iterator[bytes]:
        return render_jingle(x, preset, lead_ms=lead, tail_ms=tail, layout=layout)

    return SegmentRecord.from_entry(_encode_and_store(cache, key, render, mastering))


def make_extras(plan: BuildPlan) -> Extras:
    """The generated cover and the intro/outro segments (cached), for ``commit``.

    Made before the sections run: the 3000 px cover while memory is low, and
    a jingle ffmpeg cannot read fails before any synthesis.

    Raises:
        InputError: ffmpeg cannot read the intro or outro.
    """
    cover = generated_cover(plan.info, plan.cache) if plan.info.cover is None else None
    writing = plan.writing
    intro = outro = None
    if writing.intro_path is not None:
        intro = produce_jingle(
            plan.cache, plan.mastering, plan.params, writing.intro_path, "intro"
        )
    if writing.outro_path is not None:
        outro = produce_jingle(
            plan.cache, plan.mastering, plan.params, writing.outro_path, "outro"
        )
    return Extras(cover, intro, outro)


def reread(
    cache: Cache,
    engine: Engine,
    sp: SectionPlan,
    mastering: Mastering,
    record: SegmentRecord,
) -> SegmentRecord:
    """The section's segment as the cache holds it now, just before splicing.

    Header and size only: the payload was verified or written moments ago,
    but another build sharing this cache may have rewritten the entry
    meanwhile, so offsets and frame counts must come from the file as it is.
    An entry that vanished (a prune, a user clearing the cache) or is no
    longer a readable file is a miss: the segment is made again.

    Raises:
        EngineError: synthesis failed when the segment had to be made again.
    """
    entry = cache.get("segments", sp.segment_key, verify=False)
    if entry is not None:
        found = SegmentRecord.from_entry(entry, record.synthesized)
        return replace(found, spoken=record.spoken)
    log.warning(
        "the cached audio of section %r vanished (a cache prune?); making it again",
        sp.title,
    )
    again = produce_section(cache, engine, sp, mastering, threading.Event())
    return replace(
        again,
        synthesized=again.synthesized or record.synthesized,
        spoken=again.spoken + record.spoken,
    )
