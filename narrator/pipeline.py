"""Run a build: parse, prepare speech, synthesize or reuse, master, encode, splice, tag.

The pipeline never prints and never reads options: the CLI passes Settings and
a ``report`` callback that receives progress events.

Incremental design. Every section becomes a *segment*: its audio mastered and
encoded on its own to CBR MP3 frames, cached under a key that covers its text,
the engine identity and every rendering parameter. The episode file is the ID3
tag, one Info frame written for the whole file, and the segments' frames
spliced in order. An edit re-synthesizes and re-encodes only the sections it
touched; a tag-only change re-splices cached frames; an unchanged build is
detected from the build hash stored in the output's tags and rewrites nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, cast

from narrator import __version__
from narrator.cache import Cache, Entry, default_cache_dir, make_key
from narrator.config import Settings, check_date, default_jobs, default_output
from narrator.engines import Engine, SectionRef, get_engine
from narrator.errors import (
    AudioError,
    ConfigError,
    EngineError,
    EngineUnavailable,
    InputError,
    NarratorError,
    SummaryError,
)
from narrator.model import Chapter, Cue, Document, EpisodeInfo, Timeline, Utterance
from narrator.output import clean_stale_temps, output_lock

log = logging.getLogger(__name__)

# Bump when rendering/encoding changes the bytes of a segment.
RENDER_VERSION = 2
CLIP_FORMAT = "pcm_s16le/mono/trimmed-v1"
MAX_INPUT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Progress:
    """A progress event: ``done`` of ``total`` sections, and what just happened."""

    done: int
    total: int
    section: str
    action: str  # "synthesized", "reused", "encoded"


Report = Callable[[Progress], None]


@dataclass(frozen=True)
class SectionPlan:
    index: int
    title: str
    utterances: tuple[Utterance, ...]
    clip_key: str
    segment_key: str
    cached: bool  # the clip is in the cache: no synthesis needed

    @property
    def action(self) -> str:
        return "reuse" if self.cached else "synthesize"


@dataclass(frozen=True)
class BuildPlan:
    source_path: Path
    output_path: Path
    document: Document
    engine: Engine
    sections: tuple[SectionPlan, ...]
    info: EpisodeInfo
    build_key: str
    cache: Cache


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


# -- reading the source ----------------------------------------------------


def read_document(source_path: Path) -> Document:
    """Read, decode and parse the summary at ``source_path``.

    Raises:
        SummaryError: unreadable, empty, binary or nothing to say.
    """
    from narrator.parse import decode_bytes, parse_summary

    name = str(source_path)
    if not source_path.exists():
        raise SummaryError("no such file; check the path.", path=name)
    if source_path.is_dir():
        raise SummaryError("is a directory; pass a summary file.", path=name)
    try:
        size = source_path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise SummaryError(
                f"{size // 1024 // 1024} MB is too large for a summary "
                f"(limit {MAX_INPUT_BYTES // 1024 // 1024} MB).",
                path=name,
            )
        data = source_path.read_bytes()
    except OSError as exc:
        raise SummaryError(f"cannot read the file: {exc.strerror}.", path=name) from exc
    text, encoding = decode_bytes(data, path=name)
    document = parse_summary(text, path=name)
    return replace(document, encoding=encoding)


def load_lexicon(source_path: Path, settings: Settings) -> dict[str, str]:
    """The user lexicon: narrator.toml beside the document, then --lexicon on top.

    Raises:
        ConfigError: a lexicon file is invalid.
    """
    from narrator.speech import load_lexicon as load

    lexicon: dict[str, str] = {}
    beside = source_path.parent / "narrator.toml"
    if beside.is_file():
        lexicon.update(load(beside))
    if settings.lexicon_path is not None:
        if not settings.lexicon_path.is_file():
            raise ConfigError(f"{settings.lexicon_path}: no such lexicon file.")
        lexicon.update(load(settings.lexicon_path))
    return lexicon


def prepare(
    document: Document, profile: str, lexicon: dict[str, str]
) -> tuple[list[tuple[str, tuple[Utterance, ...]]], list[str]]:
    """Each section's title and utterances, as they will be sent to the engine.

    ``profile`` is the engine's normalization profile (``Engine.profile``).
    Text in a script the French voice cannot read is left out of the speech
    and a section left with nothing to speak is skipped (an engine given
    nothing returns no audio); both come back as warnings, one per section.
    """
    from narrator.speech import speak_section

    prepared = []
    warnings = []
    for number, section in enumerate(document.sections, start=1):
        spoken = speak_section(section, engine=profile, lexicon=lexicon)
        where = f"section {number} «{section.title}»"
        if spoken.dropped:
            warnings.append(
                f"{where}: {spoken.left_out()} left out of the speech "
                "(the French voice cannot read them)"
            )
        if not spoken.has_speech:
            warnings.append(f"{where}: nothing left to speak; the section is skipped")
            continue
        prepared.append((section.title, spoken.utterances))
    return prepared, warnings


# -- metadata --------------------------------------------------------------


def episode_info(
    source_path: Path,
    document: Document,
    settings: Settings,
    note: Note | None = None,
) -> EpisodeInfo:
    """Resolve the episode's tags from front matter, options and the file.

    Title: front matter ``title``, else --title, else a single leading '#'
    heading, else the file stem. Other fields: the option wins over front matter.

    Raises:
        ConfigError: a date, episode number or cover is invalid.
    """
    meta = document.meta
    title = meta.get("title") or settings.title or document.title
    if not title:
        # Tags only, never spoken; but a stem like "000_4308e03e8e9adbfa" in a
        # podcast app is a surprise, so say so once, with the fix.
        title = source_path.stem
        if note is not None:
            note(
                f"no episode title in {source_path.name}: the tags and the feed use "
                f"«{title}»; give one with --title, a 'title:' line in the front "
                "matter or a '# ' heading."
            )
    date = settings.date or meta.get("date")
    if date:
        date = check_date(
            date, source="--date" if settings.date else f"{source_path}: date"
        )
    episode = settings.episode
    if episode is None and meta.get("episode"):
        try:
            episode = int(meta["episode"])
        except ValueError as exc:
            raise ConfigError(
                f"{source_path}: episode {meta['episode']!r} is not a whole number."
            ) from exc
    if episode is not None and episode < 0:
        raise ConfigError(f"episode {episode} must be 0 or more.")
    description = settings.description or meta.get("description")
    if not description and document.sections:
        first = document.sections[0]
        description = first.paragraphs[0].text if first.paragraphs else first.title
    cover_path = settings.cover_path
    if cover_path is None and meta.get("cover"):
        cover_path = source_path.parent / meta["cover"]
    cover = cover_mime = None
    if cover_path is not None:
        from narrator.cover import validate_cover

        try:
            cover = cover_path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"{cover_path}: cannot read the cover: {exc.strerror}."
            ) from exc
        cover_mime = validate_cover(cover, path=str(cover_path))
    # No cover given: one is generated from the titles when the file is written
    # (not here: planning must stay cheap for no-op builds).
    return EpisodeInfo(
        language=_iso639_2(meta.get("language")),
        title=title,
        author=settings.author or meta.get("author"),
        podcast=settings.podcast or meta.get("podcast"),
        date=date,
        episode=episode,
        description=description,
        cover=cover,
        cover_mime=cover_mime,
    )


_ISO639_2 = {
    "fr": "fra",
    "en": "eng",
    "de": "deu",
    "es": "spa",
    "it": "ita",
    "nl": "nld",
    "pt": "por",
    "ca": "cat",
    "br": "bre",
    "oc": "oci",
}


def _iso639_2(language: str | None) -> str:
    """TLAN wants ISO 639-2 ("fra"); front matter usually says "fr" or "fr-CA"."""
    if not language:
        return "fra"
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3 and code.isalpha():
        return code
    return _ISO639_2.get(code, "fra")


# -- engine choice ----------------------------------------------------------

Note = Callable[[str], None]


def recorded_engine(output_path: Path) -> str | None:
    """The engine that built ``output_path`` (TXXX:NARRATOR_ENGINE), if any."""
    from narrator.output import read_previous
    from narrator.tags import TXXX_ENGINE

    previous = read_previous(output_path)
    return previous.get(TXXX_ENGINE) if previous is not None else None


def resolve_engine(
    settings: Settings, output_path: Path, note: Note | None = None
) -> Engine:
    """Create the engine for this build, resolving ``auto`` and pinning.

    An episode is never mixed: with ``auto``, an output that exists keeps the
    engine recorded in its tags; if that engine is not available now the build
    stops (switching is a deliberate ``--engine``). A new output gets gTTS
    when its endpoint answers a short probe, espeak-ng otherwise.

    Raises:
        EngineUnavailable: the pinned engine cannot run now.
        InputError: unknown engine name or bad engine option.
    """
    say = note or (lambda _msg: None)
    options = settings.engine_options
    if settings.engine != "auto":
        return get_engine(settings.engine, options)
    pinned = recorded_engine(output_path)
    if pinned:
        try:
            engine = get_engine(pinned, options)
        except EngineUnavailable as exc:
            raise EngineUnavailable(
                f"{output_path} was built with {pinned}, which cannot run here "
                f"({exc}); pass --engine NAME to switch on purpose (every section "
                "is re-synthesized)."
            ) from exc
        if not engine.probe():
            raise EngineUnavailable(
                f"{output_path} was built with {pinned}, which is not reachable now; "
                "retry later, or pass --engine espeak to switch on purpose "
                "(every section is re-synthesized)."
            )
        say(f"engine auto: {pinned} (the engine {output_path.name} was built with)")
        return engine
    try:
        google = get_engine("gtts", options)
    except (EngineUnavailable, InputError):
        google = None
    if google is not None and google.probe():
        say("engine auto: gtts (Google's speech endpoint answered)")
        return google
    say("engine auto: espeak (Google's speech endpoint did not answer; offline voice)")
    return get_engine("espeak", options)


# -- planning --------------------------------------------------------------


def _segment_params(settings: Settings) -> dict[str, object]:
    from narrator.audio import ENCODING_LOSS_LU, PRESETS

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


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}.") from exc
    return h.hexdigest()


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
    from narrator.audio import PRESETS

    if settings.preset not in PRESETS:
        raise ConfigError(
            f"unknown preset {settings.preset!r}; use {', '.join(PRESETS)}."
        )
    document = read_document(source_path)
    if len(document.sections) > 255:
        # An ID3 CTOC lists at most 255 chapters (8-bit count).
        raise SummaryError(
            f"has {len(document.sections)} sections; an episode holds at most 255 "
            "chapters: split the document.",
            path=str(source_path),
        )
    output = settings.output_path or default_output(source_path)
    if output.is_dir():
        raise InputError(f"{output} is a folder; pass -o FOLDER/NAME.mp3.")
    if engine is None:
        engine = resolve_engine(settings, output, note)
    lexicon = load_lexicon(source_path, settings)
    prepared, warnings = prepare(document, engine.profile, lexicon)
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
    cache = Cache(settings.cache_dir or default_cache_dir())
    identity = dict(engine.identity())
    params = _segment_params(settings)
    sections = []
    last = len(prepared) - 1
    for i, (title, utterances) in enumerate(prepared):
        clip_key = make_key(
            {
                "kind": "clip",
                "engine": identity,
                "format": CLIP_FORMAT,
                "texts": [u.text for u in utterances],
            }
        )
        segment_key = make_key(
            {
                "kind": "segment",
                "clip": clip_key,
                "params": params,
                "pauses_after": [u.pause for u in utterances],
                "last": i == last,
            }
        )
        sections.append(
            SectionPlan(
                i,
                title,
                utterances,
                clip_key,
                segment_key,
                cached=cache.has("clips", clip_key),
            )
        )
    info = episode_info(source_path, document, settings, note)
    jingles = {
        name: _file_digest(p)
        for name, p in (("intro", settings.intro_path), ("outro", settings.outro_path))
        if p is not None
    }
    build_key = make_key(
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
    return BuildPlan(
        source_path, output, document, engine, tuple(sections), info, build_key, cache
    )


# -- the build -------------------------------------------------------------


def _up_to_date(plan: BuildPlan, settings: Settings) -> BuildResult | None:
    """The existing episode, if it was built from these inputs with these sidecars."""
    from narrator.output import read_previous, sidecars_on_disk_digest
    from narrator.tags import TXXX_BUILD, TXXX_ENGINE, TXXX_SIDECARS, read_episode

    out = plan.output_path
    previous = read_previous(out)
    if previous is None or previous.get(TXXX_BUILD) != plan.build_key:
        return None
    if settings.sidecars and (
        previous.get(TXXX_SIDECARS) != sidecars_on_disk_digest(out)
    ):
        return None  # sidecars missing, or not the ones this MP3 was built with
    tags = read_episode(out)
    return BuildResult(
        output=out,
        duration_s=tags.duration_s,
        engine=previous.get(TXXX_ENGINE) or plan.engine.name,
        sections_synthesized=0,
        sections_reused=len(plan.sections),
        chapters=tags.chapters,
        up_to_date=True,
    )


@dataclass
class _SegmentOut:
    entry_path: Path
    payload_offset: int
    frames: int
    samples: int
    size_bytes: int
    utterances: list[tuple[int, int]]
    synthesized: bool
    crc16: int | None = None


def _segment_from_entry(entry: Entry, synthesized: bool) -> _SegmentOut:
    """A segment as its verified cache entry describes it."""
    meta = entry.meta
    return _SegmentOut(
        entry.path,
        entry.payload_offset,
        int(cast(int, meta["frames"])),
        int(cast(int, meta["samples"])),
        entry.payload_bytes,
        [(int(a), int(b)) for a, b in cast("list[list[int]]", meta["utterances"])],
        synthesized,
        crc16=cast("int | None", meta.get("crc16")),
    )


def _produce_section(
    plan: BuildPlan, sp: SectionPlan, settings: Settings, cancel: threading.Event
) -> _SegmentOut:
    """Get one section's encoded segment: from cache, or synthesize/render/encode."""
    from narrator.audio import PRESETS, Clip, SegmentLayout, make_clip, render_clip
    from narrator.mp3 import encode_segment

    cache = plan.cache
    entry = cache.get("segments", sp.segment_key)
    synthesized = False
    if entry is None:
        clip_entry = cache.get("clips", sp.clip_key)
        clip = None
        if clip_entry is not None:
            try:
                clip = Clip.from_payload(
                    clip_entry.read_payload(), dict(clip_entry.meta)
                )
            except (NarratorError, KeyError, TypeError, ValueError) as exc:
                log.warning(
                    "cached clip for %r is unusable (%s); re-synthesizing",
                    sp.title,
                    exc,
                )
        if clip is None:
            if cancel.is_set():
                raise _Cancelled()
            texts = [u.text for u in sp.utterances]
            try:
                audios = plan.engine.synthesize(
                    texts, section=SectionRef(sp.index, sp.title)
                )
            except EngineError as exc:
                raise exc.with_section(sp.title) from exc
            if len(audios) != len(texts):
                raise EngineError(
                    f"the engine returned {len(audios)} clips "
                    f"for {len(texts)} utterances.",
                    engine=plan.engine.name,
                    section=sp.title,
                )
            clip = make_clip(audios)
            del audios  # the encoded utterances: free them before storing the clip
            parts, meta = clip.payload_parts()
            cache.put("clips", sp.clip_key, parts=parts, meta=meta)
            del parts
            synthesized = True
        if cancel.is_set():
            raise _Cancelled()
        preset = PRESETS[settings.preset]
        pauses = settings.pauses
        last = sp.index == len(plan.sections) - 1
        tail = pauses.tail_ms if last else max(0, pauses.section_ms - pauses.lead_ms)
        layout = SegmentLayout()
        tmp = cache.tmp_dir() / f"seg-{sp.segment_key[:16]}-{uuid.uuid4().hex[:8]}.mp3"
        try:
            encoded = encode_segment(
                render_clip(
                    clip,
                    [u.pause for u in sp.utterances],
                    preset,
                    pauses,
                    lead_ms=pauses.lead_ms,
                    tail_ms=tail,
                    target_lufs=settings.loudness_lufs,
                    layout=layout,
                ),
                preset.fmt,
                tmp,
            )
            entry = cache.put(
                "segments",
                sp.segment_key,
                payload_path=tmp,
                meta={
                    "frames": encoded.frames,
                    "samples": encoded.samples,
                    "crc16": encoded.crc16,
                    "utterances": layout.utterances,
                },
            )
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return _segment_from_entry(entry, synthesized)


class _Cancelled(Exception):
    pass


def _jingle_segment(
    plan: BuildPlan, settings: Settings, path: Path, role: str
) -> _SegmentOut:
    from narrator.audio import PRESETS, SegmentLayout, load_jingle, render_jingle
    from narrator.mp3 import encode_segment

    preset = PRESETS[settings.preset]
    params = _segment_params(settings)
    key = make_key(
        {"kind": "jingle", "role": role, "file": _file_digest(path), "params": params}
    )
    cache = plan.cache
    entry = cache.get("segments", key)
    if entry is None:
        try:
            x = load_jingle(path, preset, settings.loudness_lufs)
        except AudioError as exc:
            raise InputError(
                f"{path}: --{role} is not audio ffmpeg can read ({exc})"
            ) from exc
        layout = SegmentLayout()
        gap = settings.pauses.section_ms - settings.pauses.tail_ms  # after last section
        lead = 0 if role == "intro" else max(0, gap)
        tail = (
            settings.pauses.section_ms - settings.pauses.lead_ms
            if role == "intro"
            else settings.pauses.tail_ms
        )
        tmp = cache.tmp_dir() / f"jingle-{key[:16]}-{uuid.uuid4().hex[:8]}.mp3"
        try:
            encoded = encode_segment(
                render_jingle(x, preset, lead_ms=lead, tail_ms=tail, layout=layout),
                preset.fmt,
                tmp,
            )
            entry = cache.put(
                "segments",
                key,
                payload_path=tmp,
                meta={
                    "frames": encoded.frames,
                    "samples": encoded.samples,
                    "crc16": encoded.crc16,
                    "utterances": [],
                },
            )
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return _segment_from_entry(entry, False)


def _generated_cover(plan: BuildPlan) -> bytes:
    """The cover drawn from the titles, cached: drawing 3000x3000 px takes ~0.5 s."""
    from narrator.cover import generate_cover

    key = make_key(
        {
            "kind": "cover",
            "v": 1,
            "title": plan.info.title,
            "podcast": plan.info.podcast,
        }
    )
    entry = plan.cache.get("covers", key)
    if entry is not None:
        return entry.read_payload()
    data = generate_cover(plan.info.title, plan.info.podcast)
    plan.cache.put("covers", key, data, {"mime": "image/jpeg"})
    return data


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
    plan = plan_build(source_path, settings, engine, note)
    out = plan.output_path
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{out.parent}: cannot create the output folder: {exc.strerror}."
        ) from exc
    if not settings.force:
        # Checked before locking too: an unchanged episode in a folder we
        # cannot write (or that another build is rewriting) is still up to date.
        current = _up_to_date(plan, settings)
        if current is not None:
            return current
    with output_lock(out):
        clean_stale_temps(out, plan.cache.tmp_dir())
        if not settings.force:
            current = _up_to_date(plan, settings)
            if current is not None:
                return current
        plan.cache.clean_tmp()
        return _run(plan, settings, report)


def _reread_segment(plan: BuildPlan, sp: SectionPlan, seg: _SegmentOut) -> _SegmentOut:
    """The section's segment as the cache holds it now (see ``_run``).

    Raises:
        NarratorError: the entry vanished or is damaged (re-run to rebuild it).
    """
    # Header and size only: the payload was verified (or written) moments ago.
    entry = plan.cache.get("segments", sp.segment_key, verify=False)
    if entry is None:
        raise NarratorError(
            f'the cached audio of section "{sp.title}" disappeared during the build '
            "(a cache prune?); run the build again."
        )
    return _segment_from_entry(entry, seg.synthesized)


def _run(plan: BuildPlan, settings: Settings, report: Report | None) -> BuildResult:
    from narrator.audio import PRESETS
    from narrator.mp3 import (
        DECODER_DELAY,
        LAME_ENCODER_DELAY,
        EncodedSegment,
        plan_splice,
        splice,
    )
    from narrator.output import read_previous, sidecars_digest, write_episode
    from narrator.tags import (
        TXXX_BUILD,
        TXXX_ENGINE,
        TXXX_GUID,
        TXXX_SIDECARS,
        TXXX_SOURCE,
        TXXX_TITLE,
        render_id3,
    )

    preset = PRESETS[settings.preset]
    total = len(plan.sections)
    jobs = settings.jobs or default_jobs(plan.engine.local)
    cancel = threading.Event()
    results: dict[int, _SegmentOut] = {}
    done = 0
    lock = threading.Lock()

    # Identical sections (same text, same place in the layout) share one
    # segment: produce it once, then reuse it for the copies.
    copies: dict[str, list[SectionPlan]] = {}
    for sp in plan.sections:
        copies.setdefault(sp.segment_key, []).append(sp)

    def task(sp: SectionPlan) -> None:
        nonlocal done
        seg = _produce_section(plan, sp, settings, cancel)
        with lock:
            for i, same in enumerate(copies[sp.segment_key]):
                results[same.index] = seg if i == 0 else replace(seg, synthesized=False)
                done += 1
                if report:
                    action = "synthesized" if seg.synthesized and i == 0 else "reused"
                    report(Progress(done, total, same.title, action))

    # The generated cover is drawn before the sections run, while memory is low
    # (a 3000 px image), instead of on top of what they leave behind.
    cover = _generated_cover(plan) if plan.info.cover is None else None
    # Intro and outro first: a file ffmpeg cannot read fails before any synthesis.
    intro = outro = None
    if settings.intro_path is not None:
        intro = _jingle_segment(plan, settings, settings.intro_path, "intro")
    if settings.outro_path is not None:
        outro = _jingle_segment(plan, settings, settings.outro_path, "outro")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="narrator")
    try:
        futures = [pool.submit(task, group[0]) for group in copies.values()]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [
            f
            for f in futures
            if f.done()
            and f.exception() is not None
            and not isinstance(f.exception(), _Cancelled)
        ]
        if failed:
            cancel.set()
            for f in futures:
                f.cancel()
            wait(futures)
            raise failed[0].exception()  # type: ignore[misc]
        wait(futures)
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    # Read every segment's entry again, verified, just before splicing: another
    # build sharing this cache may have rewritten an entry meanwhile, so the
    # offsets and frame counts must come from the file as it is now.
    for index, seg in list(results.items()):
        results[index] = _reread_segment(plan, plan.sections[index], seg)

    segments: list[_SegmentOut] = []
    first_section = 0
    if intro is not None:
        segments.append(intro)
        first_section = 1
    segments.extend(results[i] for i in range(total))
    if outro is not None:
        segments.append(outro)

    # Chapter times from frame counts: in the decoded (gapless) timeline segment
    # k starts at exactly sum(frames before k) * samples-per-frame. ID3 CHAP
    # times count from the start of the MP3 stream, before a gapless decoder
    # skips the encoder + decoder delay, so they are shifted by that delay
    # (ffmpeg maps them back; a player without gapless support plays them as is).
    encoded = [
        EncodedSegment(
            s.entry_path,
            s.frames,
            s.samples,
            s.size_bytes,
            crc16=s.crc16,
            offset=s.payload_offset,
        )
        for s in segments
    ]
    placed = plan_splice(encoded, preset.fmt)
    starts = placed.segment_starts
    duration_samples = placed.duration_samples
    rate = preset.fmt.sample_rate
    stream_offset = LAME_ENCODER_DELAY + DECODER_DELAY

    def ms(samples: int) -> int:
        return int(round(samples * 1000 / rate))

    def stream_ms(samples: int) -> int:
        return min(ms(samples + stream_offset), ms(duration_samples))

    chapters: list[Chapter] = []
    cues: list[Cue] = []
    for i, sp in enumerate(plan.sections):
        k = first_section + i
        start = 0 if i == 0 else stream_ms(starts[k])
        end = stream_ms(starts[k + 1]) if i < total - 1 else ms(duration_samples)
        chapters.append(Chapter(sp.title, start, end))
        for (u_start, u_end), utt in zip(
            segments[k].utterances, sp.utterances, strict=True
        ):
            if u_end > u_start:
                cues.append(
                    Cue(
                        stream_ms(starts[k] + u_start),
                        stream_ms(starts[k] + u_end),
                        utt.display,
                        i,
                    )
                )
    timeline = Timeline(tuple(chapters), tuple(cues), ms(duration_samples))

    out = plan.output_path
    previous = read_previous(out)
    # The same episode keeps its guid across regenerations; another document
    # written over this output gets a new one. "Same" = same source file name
    # or same title, so renaming the file or retitling the episode keeps it.
    guid = previous.get(TXXX_GUID) if previous is not None else None
    if previous is not None:
        other_source = previous.get(TXXX_SOURCE) not in (None, plan.source_path.name)
        if other_source and previous.get(TXXX_TITLE) != plan.info.title:
            guid = None
    guid = guid or str(uuid.uuid4())
    transcript = "\n".join(
        "\n".join(u.display for u in sp.utterances) for sp in plan.sections
    )
    info = replace(plan.info, transcript=transcript)
    if info.cover is None:
        info = replace(info, cover=cover, cover_mime="image/jpeg")
    sidecars: dict[Path, bytes] = {}
    extra = {
        TXXX_GUID: guid,
        TXXX_ENGINE: plan.engine.name,
        TXXX_BUILD: plan.build_key,
        TXXX_SOURCE: plan.source_path.name,
        TXXX_TITLE: plan.info.title,
    }
    if settings.sidecars:
        from narrator.sidecars import render_sidecars

        sidecars = render_sidecars(
            out, timeline, title=info.title, podcast=info.podcast, author=info.author
        )
        extra[TXXX_SIDECARS] = sidecars_digest(sidecars)
    id3 = render_id3(
        info,
        chapters,
        version=settings.id3_version,
        extra=extra,
        encoder=f"narrator {__version__}",
    )

    def write_mp3(handle: BinaryIO) -> None:
        splice(encoded, preset.fmt, handle, id3=id3)

    write_episode(
        out,
        write_mp3,
        sidecars,
        scratch_dir=plan.cache.tmp_dir(),
    )
    written = tuple(sidecars)

    synthesized = sum(1 for i in range(total) if results[i].synthesized)
    return BuildResult(
        output=out,
        duration_s=duration_samples / rate,
        engine=plan.engine.name,
        sections_synthesized=synthesized,
        sections_reused=total - synthesized,
        chapters=tuple(chapters),
        timeline=timeline,
        sidecars=written,
        synthesized_titles=tuple(
            sp.title for sp in plan.sections if results[sp.index].synthesized
        ),
    )


def dry_run(plan: BuildPlan) -> list[tuple[str, str]]:
    """Per section, what a build would do: ("reuse" | "synthesize", title)."""
    return [(sp.action, sp.title) for sp in plan.sections]


def section_texts(plan: BuildPlan) -> Sequence[str]:
    return [" ".join(u.text for u in sp.utterances) for sp in plan.sections]
