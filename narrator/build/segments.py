"""Each section's encoded segment, through the clip and segment caches.

A *segment* is one section's audio mastered and encoded on its own to CBR MP3
frames, cached under a key that covers its text, the engine identity and every
rendering parameter. A *clip* is the section's raw synthesized audio, cached
under the engine identity and the exact texts, so a change of pauses or
loudness re-masters without re-synthesizing. Intro and outro jingles are
segments too. Producing the segments of a build is the only place where
sections run in parallel.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from narrator.cache import Cache, Entry, make_key
from narrator.config import Settings
from narrator.container.frames import EncodedSegment
from narrator.engines.base import Engine, SectionRef
from narrator.errors import ConfigError, EngineError, InputError, NarratorError
from narrator.model import Utterance, WordTiming

if TYPE_CHECKING:
    from narrator.audio.clip import Clip
    from narrator.audio.render import RenderPlan, SegmentLayout

log = logging.getLogger(__name__)

# Bump when rendering/encoding changes the bytes of a segment.
# 5: float32 PCM to LAME; 4: long sections in parts; 3: exact K-weighting, word cues
RENDER_VERSION = 5
CLIP_FORMAT = "pcm_s16le/mono/trimmed-v1"


@dataclass(frozen=True)
class SectionPlan:
    """One section of a build, keyed: what it will say and where it is cached."""

    index: int
    title: str
    utterances: tuple[Utterance, ...]
    clip_key: str
    segment_key: str
    cached: bool  # the clip is in the cache: no synthesis needed
    last: bool = False  # the episode's last section: its tail is the episode's end

    @property
    def action(self) -> str:
        return "reuse" if self.cached else "synthesize"


@dataclass(frozen=True)
class SegmentRecord:
    """A segment as its cache entry holds it: where its frames are and what they are.

    ``spans`` are the (start, end) samples of each utterance inside the segment.
    """

    entry_path: Path
    payload_offset: int
    size_bytes: int
    frames: int
    samples: int
    spans: tuple[tuple[int, int], ...]
    crc16: int | None = None
    synthesized: bool = False

    @staticmethod
    def meta(
        frames: int, samples: int, crc16: int | None, spans: Sequence[Sequence[int]]
    ) -> dict[str, object]:
        """The cache entry's metadata for a segment (what ``from_entry`` reads)."""
        return {
            "frames": frames,
            "samples": samples,
            "crc16": crc16,
            "utterances": [list(s) for s in spans],
        }

    @classmethod
    def from_entry(cls, entry: Entry, synthesized: bool = False) -> SegmentRecord:
        meta = entry.meta
        spans = cast("list[list[int]]", meta["utterances"])
        return cls(
            entry_path=entry.path,
            payload_offset=entry.payload_offset,
            size_bytes=entry.payload_bytes,
            frames=int(cast(int, meta["frames"])),
            samples=int(cast(int, meta["samples"])),
            spans=tuple((int(a), int(b)) for a, b in spans),
            crc16=cast("int | None", meta.get("crc16")),
            synthesized=synthesized,
        )

    def encoded(self) -> EncodedSegment:
        """The segment as the splicer reads it."""
        return EncodedSegment(
            self.entry_path,
            self.frames,
            self.samples,
            self.size_bytes,
            crc16=self.crc16,
            offset=self.payload_offset,
        )


class Cancelled(Exception):
    """Another section failed: stop this one at the next safe point."""


# -- keys -------------------------------------------------------------------------


def segment_params(settings: Settings) -> dict[str, object]:
    """Every rendering parameter that changes a segment's bytes."""
    from narrator.audio.render import ENCODING_LOSS_LU, PRESETS

    preset = PRESETS[settings.preset]
    return {
        "render": RENDER_VERSION,
        "preset": [
            preset.fmt.sample_rate,
            preset.fmt.channels,
            preset.fmt.bitrate_kbps,
        ],
        "target": settings.loudness_lufs
        if settings.loudness_lufs is not None
        else preset.target_lufs,
        "ceiling": preset.ceiling_dbtp,
        "encoding_loss": ENCODING_LOSS_LU,
        "pauses": vars(settings.pauses),
    }


def file_digest(path: Path) -> str:
    """SHA-256 of a file read in chunks.

    Raises:
        ConfigError: the file cannot be read.
    """
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}.") from exc
    return h.hexdigest()


def plan_sections(
    prepared: Sequence[tuple[str, tuple[Utterance, ...]]],
    identity: Mapping[str, str],
    params: Mapping[str, object],
    cache: Cache,
) -> tuple[SectionPlan, ...]:
    """Key each section: its clip by engine and texts, its segment by clip + layout."""
    sections = []
    last = len(prepared) - 1
    for i, (title, utterances) in enumerate(prepared):
        clip_key = make_key(
            {
                "kind": "clip",
                "engine": dict(identity),
                "format": CLIP_FORMAT,
                "texts": [u.text for u in utterances],
            }
        )
        segment_key = make_key(
            {
                "kind": "segment",
                "clip": clip_key,
                "params": dict(params),
                "pauses_after": [u.pause for u in utterances],
                "last": i == last,
            }
        )
        cached = cache.has("clips", clip_key)
        sections.append(
            SectionPlan(
                i, title, utterances, clip_key, segment_key, cached, last=i == last
            )
        )
    return tuple(sections)


# -- producing one segment ------------------------------------------------------


# Characters of text per call to the engine while synthesizing a section (about
# three minutes of speech): a batch's audio is decoded, trimmed and written to
# the clip file before the next is asked for, so synthesis holds one batch.
SYNTH_BATCH_CHARS = 3000


def _open_clip(stack: contextlib.ExitStack, entry: Entry) -> Clip:
    """The clip of ``entry``, read utterance by utterance from a descriptor
    held open (by ``stack``) until the section is rendered.

    Raises:
        NarratorError: the entry's metadata does not describe its payload.
        OSError: the entry cannot be opened.
    """
    from narrator.audio.clip import Clip

    handle = stack.enter_context(entry.path.open("rb"))
    # Another build may have replaced the entry since it was read: the same
    # payload, but its header (and so the payload's offset) may differ.
    head = handle.read(8)
    if len(head) != 8 or 8 + int.from_bytes(head[4:], "little") != entry.payload_offset:
        raise NarratorError("the clip's cache entry changed while it was opened")
    return Clip.from_file(
        handle.fileno(), entry.payload_offset, entry.payload_bytes, entry.meta
    )


def _cached_clip(
    cache: Cache, sp: SectionPlan, stack: contextlib.ExitStack
) -> Clip | None:
    """The section's clip from the cache, None if absent or unusable."""
    entry = cache.get("clips", sp.clip_key)
    if entry is None:
        return None
    try:
        return _open_clip(stack, entry)
    except (NarratorError, OSError, KeyError, TypeError, ValueError) as exc:
        log.warning(
            "cached clip for %r is unusable (%s); re-synthesizing", sp.title, exc
        )
        return None


def _batches(texts: Sequence[str]) -> Iterator[list[str]]:
    """``texts`` in runs of about ``SYNTH_BATCH_CHARS`` characters."""
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and size + len(text) > SYNTH_BATCH_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield batch


def _synthesize(
    cache: Cache,
    engine: Engine,
    sp: SectionPlan,
    cancel: threading.Event,
    stack: contextlib.ExitStack,
) -> Clip:
    """Synthesize the section's clip batch by batch into the clip cache.

    Raises:
        EngineError: the engine failed (named after the section).
        Cancelled: another section failed meanwhile.
    """
    from narrator.audio.decode import ClipWriter

    tmp = cache.tmp_dir() / f"clip-{sp.clip_key[:16]}-{uuid.uuid4().hex[:8]}.pcm"
    try:
        with tmp.open("wb") as out:
            writer = ClipWriter(out)
            for batch in _batches([u.text for u in sp.utterances]):
                if cancel.is_set():
                    raise Cancelled()
                try:
                    audios = engine.synthesize(
                        batch, section=SectionRef(sp.index, sp.title)
                    )
                except EngineError as exc:
                    raise exc.with_section(sp.title) from exc
                if len(audios) != len(batch):
                    raise EngineError(
                        f"the engine returned {len(audios)} clips for "
                        f"{len(batch)} utterances.",
                        engine=engine.name,
                        section=sp.title,
                    )
                writer.add(audios)
                del audios  # the encoded batch: free it before the next
        entry = cache.put("clips", sp.clip_key, payload_path=tmp, meta=writer.meta())
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return _open_clip(stack, entry)


def _encode_and_store(
    cache: Cache,
    key: str,
    render: Callable[[SegmentLayout], Iterator[bytes]],
    settings: Settings,
    words: Sequence[Sequence[WordTiming]] = (),
) -> Entry:
    """Encode the PCM ``render(layout)`` yields; store it as segment ``key``.

    Each utterance's span is where its trimmed audio lies in the segment; when
    the engine gave word timings, the span is narrowed to the first word's
    start and the last word's end, so transcript cues follow the voice.
    """
    from narrator.audio.render import PCM_FORMAT, PRESETS, SegmentLayout
    from narrator.container.encode import encode_segment

    layout = SegmentLayout()
    tmp = cache.tmp_dir() / f"seg-{key[:16]}-{uuid.uuid4().hex[:8]}.mp3"
    try:
        fmt = PRESETS[settings.preset].fmt
        encoded = encode_segment(render(layout), fmt, tmp, sample_format=PCM_FORMAT)
        return _store(cache, key, encoded, layout.utterances or [], words, settings)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _store(
    cache: Cache,
    key: str,
    encoded: EncodedSegment,
    spans: Sequence[tuple[int, int]],
    words: Sequence[Sequence[WordTiming]],
    settings: Settings,
) -> Entry:
    from narrator.audio.render import PRESETS

    rate = PRESETS[settings.preset].fmt.sample_rate
    return cache.put(
        "segments",
        key,
        payload_path=encoded.path,
        meta=SegmentRecord.meta(
            encoded.frames,
            encoded.samples,
            encoded.crc16,
            _word_spans(spans, words, rate),
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
    settings: Settings,
    cancel: threading.Event,
    spare: threading.Semaphore | None = None,
) -> SegmentRecord:
    """One section's segment: from the cache, else (synthesize,) master and encode.

    A long section is encoded in parts (see ``audio.RenderPlan``); a part
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
        synthesized = clip is None
        if clip is None:
            clip = _synthesize(cache, engine, sp, cancel, stack)
        if cancel.is_set():
            raise Cancelled()
        entry = _render_section(cache, sp, clip, settings, cancel, spare)
    return SegmentRecord.from_entry(entry, synthesized)


# About this many seconds of a section per part: the edit of one ordinary
# section (~3 minutes) keeps two cores busy, and a part costs one ffmpeg start.
PART_S = 90.0


def _render_section(
    cache: Cache,
    sp: SectionPlan,
    clip: Clip,
    settings: Settings,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> Entry:
    """Master and encode the section's clip, in parts when long; store the segment."""
    from narrator.audio.render import PRESETS, plan_render, render_part

    pauses = settings.pauses
    preset = PRESETS[settings.preset]
    plan = plan_render(
        clip,
        [u.pause for u in sp.utterances],
        preset,
        pauses,
        lead_ms=pauses.lead_ms,
        tail_ms=(
            pauses.tail_ms if sp.last else max(0, pauses.section_ms - pauses.lead_ms)
        ),
        target_lufs=settings.loudness_lufs,
        part_s=PART_S,
    )
    if len(plan.parts) > 1:
        return _render_parts(cache, sp, clip, plan, settings, cancel, spare)

    def render(layout: SegmentLayout) -> Iterator[bytes]:
        return render_part(clip, plan, 0, preset, layout)

    return _encode_and_store(cache, sp.segment_key, render, settings, clip.words)


def _render_parts(
    cache: Cache,
    sp: SectionPlan,
    clip: Clip,
    plan: RenderPlan,
    settings: Settings,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> Entry:
    """Encode each part to its own file, then join them into the segment.

    Within the segment a part spans ``SEGMENT_OVERHEAD`` samples more than
    its PCM (its own LAME delay and padding): the spans of later parts move
    by that much, and the segment's length counts it.
    """
    from narrator.audio.render import (
        PCM_FORMAT,
        PRESETS,
        SEGMENT_OVERHEAD,
        SegmentLayout,
        render_part,
    )
    from narrator.container.encode import encode_segment, join_parts

    preset = PRESETS[settings.preset]
    stem = f"seg-{sp.segment_key[:16]}-{uuid.uuid4().hex[:8]}"
    paths = [cache.tmp_dir() / f"{stem}.{k}.mp3" for k in range(len(plan.parts))]
    joined = cache.tmp_dir() / f"{stem}.mp3"
    layouts = [SegmentLayout() for _ in plan.parts]

    def encode(k: int) -> EncodedSegment:
        pcm = render_part(clip, plan, k, preset, layouts[k])
        return encode_segment(pcm, preset.fmt, paths[k], sample_format=PCM_FORMAT)

    try:
        parts = _run_parts(encode, len(plan.parts), cancel, spare)
        spans: list[tuple[int, int]] = []
        offset = 0
        for part, layout in zip(parts, layouts, strict=True):
            spans += [(a + offset, b + offset) for a, b in layout.utterances or []]
            offset += part.samples + SEGMENT_OVERHEAD
        segment = join_parts(parts, preset.fmt, joined, offset - SEGMENT_OVERHEAD)
        return _store(cache, sp.segment_key, segment, spans, clip.words, settings)
    finally:
        for path in (*paths, joined):
            with contextlib.suppress(OSError):
                path.unlink()


def _run_parts(
    encode: Callable[[int], EncodedSegment],
    count: int,
    cancel: threading.Event,
    spare: threading.Semaphore | None,
) -> list[EncodedSegment]:
    """``encode(k)`` for every part, borrowing a thread whenever one is spare.

    Before each part, the calling thread borrows from ``spare`` a thread per
    part left beyond its own: a build never runs more encoders than its jobs,
    and the bytes do not depend on how many ran.

    Raises:
        Cancelled: another section failed meanwhile.
        Exception: the first part that failed.
    """
    results: dict[int, EncodedSegment] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()
    pending = iter(range(count))
    left = [count]

    def take() -> int | None:
        with lock:
            if errors or cancel.is_set():
                return None
            k = next(pending, None)
            if k is not None:
                left[0] -= 1
            return k

    def work() -> None:
        while (k := take()) is not None:
            try:
                results[k] = encode(k)
            except BaseException as exc:  # re-raised by the part's owner
                with lock:
                    errors.append(exc)
                return

    def borrowed() -> None:
        try:
            work()
        finally:
            if spare is not None:
                spare.release()

    helpers: list[threading.Thread] = []

    def borrow() -> None:
        while (
            spare is not None
            and sum(h.is_alive() for h in helpers) < left[0]
            and spare.acquire(blocking=False)
        ):
            helper = threading.Thread(target=borrowed, name="narrator-part")
            try:
                helper.start()
            except RuntimeError:  # no thread to be had: carry on alone
                spare.release()
                return
            helpers.append(helper)

    try:
        while (k := take()) is not None:
            borrow()
            try:
                results[k] = encode(k)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                break
    finally:
        for helper in helpers:
            helper.join()
    if errors:
        raise errors[0]
    if cancel.is_set() or len(results) != count:
        raise Cancelled()
    return [results[k] for k in range(count)]


def produce_jingle(
    cache: Cache, settings: Settings, path: Path, role: str
) -> SegmentRecord:
    """The intro's or outro's segment, loudness-matched and faded, cached by content.

    Raises:
        InputError: ffmpeg cannot read the file.
    """
    from narrator.audio.render import PRESETS, load_jingle, render_jingle
    from narrator.errors import AudioError

    key = make_key(
        {
            "kind": "jingle",
            "role": role,
            "file": file_digest(path),
            "params": segment_params(settings),
        }
    )
    entry = cache.get("segments", key)
    if entry is not None:
        return SegmentRecord.from_entry(entry)
    preset = PRESETS[settings.preset]
    try:
        x = load_jingle(path, preset, settings.loudness_lufs)
    except AudioError as exc:
        raise InputError(
            f"{path}: --{role} is not audio ffmpeg can read ({exc})"
        ) from exc
    pauses = settings.pauses
    gap = pauses.section_ms - pauses.tail_ms  # after the last section
    lead = 0 if role == "intro" else max(0, gap)
    tail = pauses.section_ms - pauses.lead_ms if role == "intro" else pauses.tail_ms

    def render(layout: SegmentLayout) -> Iterator[bytes]:
        return render_jingle(x, preset, lead_ms=lead, tail_ms=tail, layout=layout)

    return SegmentRecord.from_entry(_encode_and_store(cache, key, render, settings))


# -- producing all of them --------------------------------------------------------

Done = Callable[[SectionPlan, str], None]


def produce_sections(
    cache: Cache,
    engine: Engine,
    sections: Sequence[SectionPlan],
    settings: Settings,
    *,
    jobs: int,
    on_done: Done | None = None,
) -> list[SegmentRecord]:
    """Every section's segment, ``jobs`` sections at a time, in section order.

    Identical sections (same text, same place in the layout) share one
    segment: it is produced once and reused for the copies. The first failure
    cancels the others (finished sections stay cached) and is raised.
    ``on_done(section, "synthesized" | "reused")`` reports each section.

    Raises:
        NarratorError: a section failed, or its cache entry vanished.
    """
    cancel = threading.Event()
    results: dict[int, SegmentRecord] = {}
    lock = threading.Lock()
    copies: dict[str, list[SectionPlan]] = {}
    for sp in sections:
        copies.setdefault(sp.segment_key, []).append(sp)

    # A core with no section left to run is lent to a long section's parts.
    spare = threading.Semaphore(max(0, jobs - len(copies)))
    started = 0

    def task(sp: SectionPlan) -> None:
        nonlocal started
        with lock:
            started += 1
        try:
            record = produce_section(cache, engine, sp, settings, cancel, spare)
        finally:
            with lock:
                idle = started == len(copies)
            if idle:
                spare.release()  # this thread has no section left to run
        with lock:
            for i, same in enumerate(copies[sp.segment_key]):
                fresh = record.synthesized and i == 0
                results[same.index] = replace(record, synthesized=fresh)
                if on_done is not None:
                    on_done(same, "synthesized" if fresh else "reused")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="narrator")
    try:
        # Longest first: the last section to finish then is a short one, so
        # neither core idles long at the end (a cold build's tail).
        first = sorted(copies.values(), key=_cost, reverse=True)
        futures = [pool.submit(task, group[0]) for group in first]
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
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    # Read every entry again just before splicing (header and size only: the
    # payload was verified or written moments ago): another build sharing this
    # cache may have rewritten one meanwhile, so offsets and frame counts must
    # come from the file as it is now.
    return [_reread(cache, sp, results[sp.index]) for sp in sections]


def _cost(group: Sequence[SectionPlan]) -> int:
    """How long a section takes to produce, roughly: its characters."""
    return sum(len(u.text) for u in group[0].utterances)


def _reread(cache: Cache, sp: SectionPlan, record: SegmentRecord) -> SegmentRecord:
    """The section's segment as the cache holds it now.

    Raises:
        NarratorError: the entry vanished or is damaged (re-run to rebuild it).
    """
    entry = cache.get("segments", sp.segment_key, verify=False)
    if entry is None:
        raise NarratorError(
            f'the cached audio of section "{sp.title}" disappeared during the build '
            "(a cache prune?); run the build again."
        )
    return SegmentRecord.from_entry(entry, record.synthesized)
