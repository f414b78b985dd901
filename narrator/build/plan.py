"""Planning: what a build will do, decided before any audio is made.

The document is read and parsed (``text``), each section made speakable for
the engine's profile (``speech``, through the speech cache), then keyed
(``keys.plan_sections``) and the whole episode hashed into one build key:
equal keys mean an identical episode, so an unchanged build is detected
without making anything.

Planning writes nothing: the sections made speakable now are handed back in
the plan, and stored when the plan is carried out (a dry run stops here).

This module sits below the engine registry, so it is given the engine, or
told how to choose it (``ChooseEngine``): ``pipeline.plan_build`` passes the
registry's choice, a batch the engine it chose per output.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

from narrator import __version__
from narrator.audio.render import (
    AAC_ENCODING_LOSS_LU,
    ENCODING_LOSS_LU,
    PRESETS,
    codec_preset,
)
from narrator.build.episode import Note, episode_info
from narrator.build.keys import (
    BuildPlan,
    Mastering,
    PreviousBuild,
    SectionPlan,
    Writing,
    file_digest,
    plan_sections,
    read_previous,
)
from narrator.build.pictures import ChapterMedia, chapter_media, media_key
from narrator.cache import Cache, default_cache_dir, make_key
from narrator.config import Settings, container_of, default_jobs, default_output
from narrator.container import aac
from narrator.engines.base import Engine
from narrator.errors import ConfigError, InputError, SummaryError
from narrator.model import Document, EpisodeInfo, Section, Utterance
from narrator.speech import normalize
from narrator.speech.lexicon import load_user_lexicon
from narrator.text.decode import decode_bytes
from narrator.text.sections import parse_summary

MAX_INPUT_BYTES = 20 * 1024 * 1024

# An ID3 CTOC lists at most 255 chapters (8-bit count).
MAX_SECTIONS = 255

# Bump when rendering/encoding changes the bytes of a segment.
# 5: float32 PCM to LAME; 4: long sections in parts; 3: exact K-weighting, word cues
RENDER_VERSION = 5

# The engine for an output, given what the MP3 already there recorded.
ChooseEngine = Callable[[Path, PreviousBuild | None], Engine]


# -- reading -----------------------------------------------------------------


def read_document(source_path: Path) -> Document:
    """Read, decode and parse the summary at ``source_path``.

    Raises:
        SummaryError: unreadable, empty, binary or nothing to say.
    """
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


# -- speakable sections --------------------------------------------------------


def prepare(
    document: Document,
    profile: str,
    lexicon: dict[str, str],
    cache: Cache | None = None,
    new_entries: list[tuple[str, bytes]] | None = None,
    kept: list[Section] | None = None,
) -> tuple[list[tuple[str, tuple[Utterance, ...]]], list[str]]:
    """Each section's title and utterances, as they will be sent to the engine.

    ``profile`` is the engine's normalization profile (``Engine.profile``).
    Text in a script the French voice cannot read is left out of the speech
    and a section left with nothing to speak is skipped (an engine given
    nothing returns no audio); both come back as warnings, one per section.
    With a ``cache``, a section already made speakable is read back instead
    of normalized again: a one-section edit re-normalizes that section only.
    The sections made now are stored in it, or, when ``new_entries`` is given,
    appended there for the caller to store (planning alone writes nothing).
    ``kept``, when given, receives the sections that became chapters.
    """
    prepared = []
    warnings = []
    for number, section in enumerate(document.sections, start=1):
        spoken = _speak(section, profile, lexicon, cache, new_entries)
        warnings.extend(section_warnings(number, section, spoken))
        if spoken.has_speech:
            prepared.append((section.title, spoken.utterances))
            if kept is not None:
                kept.append(section)
    return prepared, warnings


def section_warnings(
    number: int, section: Section, spoken: normalize.SpokenSection
) -> list[str]:
    """What a user should hear of a section made speakable: what was left out
    of its speech (one line, with examples), and whether it is skipped."""
    where = f"section {number} «{section.title}»"
    warnings = []
    if spoken.dropped:
        warnings.append(
            f"{where}: {spoken.left_out()} left out of the speech "
            f"({spoken.examples()}: the French voice cannot read them)"
        )
    if not spoken.has_speech:
        warnings.append(f"{where}: nothing left to speak; the section is skipped")
    return warnings


@functools.cache
def _speech_code_digest() -> str:
    """SHA-256 of the code and data that make text speakable: a cached section
    is only valid for the normalizer that made it."""
    h = hashlib.sha256()
    root = Path(normalize.__file__).parent
    for path in sorted([*root.rglob("*.py"), *(root.parent / "data").glob("*.toml")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _speak(
    section: Section,
    profile: str,
    lexicon: dict[str, str],
    cache: Cache | None,
    new_entries: list[tuple[str, bytes]] | None,
) -> normalize.SpokenSection:
    if cache is None:
        return normalize.speak_section(section, engine=profile, lexicon=lexicon)
    key = make_key(
        {
            "kind": "speech",
            "code": _speech_code_digest(),
            "profile": profile,
            "lexicon": sorted(lexicon.items()),
            "title": section.title,
            "heading": section.has_heading,
            "paragraphs": [[p.text, p.bullet] for p in section.paragraphs],
            "signs": list(section.signs),
        }
    )
    # Not touched: planning changes nothing on disk (a dry run stops there); an
    # entry pruned for looking unused is only made again, in milliseconds.
    stored = cache.get_bytes("speech", key, touch=False)
    if stored is not None:
        try:
            return _spoken_from(json.loads(stored))
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: make it again
    spoken = normalize.speak_section(section, engine=profile, lexicon=lexicon)
    payload = {
        "utterances": [[u.text, u.display, u.pause] for u in spoken.utterances],
        "has_speech": spoken.has_speech,
        "dropped": [list(d) for d in spoken.dropped],
        "left_out_items": list(spoken.left_out_items),
    }
    data = json.dumps(payload, ensure_ascii=False).encode()
    if new_entries is None:
        cache.put("speech", key, data)
    else:
        new_entries.append((key, data))
    return spoken


def _spoken_from(payload: dict[str, object]) -> normalize.SpokenSection:
    utterances = cast("list[list[str]]", payload["utterances"])
    dropped = cast("list[list[object]]", payload["dropped"])
    return normalize.SpokenSection(
        utterances=tuple(Utterance(str(t), str(d), str(k)) for t, d, k in utterances),
        has_speech=bool(payload["has_speech"]),
        dropped=tuple((str(a), int(cast(int, b))) for a, b in dropped),
        left_out_items=tuple(
            str(i) for i in cast("list[str]", payload.get("left_out_items", []))
        ),
    )


# -- keys ----------------------------------------------------------------------


def segment_params(mastering: Mastering) -> dict[str, object]:
    """Every rendering parameter that changes a segment's bytes."""
    preset = codec_preset(mastering.preset, mastering.codec)
    # AAC segments are keyed apart (an MP3 segment's key is unchanged); the
    # clip key has no format, so every format shares the clips.
    codec: dict[str, object] = (
        {}
        if mastering.codec == "mp3"
        else {
            "codec": mastering.codec,
            "aac_loss": AAC_ENCODING_LOSS_LU[mastering.preset],
            "aac_coder": aac.coder_for(preset.fmt),
        }
    )
    return {
        **codec,
        "render": RENDER_VERSION,
        "preset": [
            preset.fmt.sample_rate,
            preset.fmt.channels,
            preset.fmt.bitrate_kbps,
        ],
        "target": mastering.loudness_lufs
        if mastering.loudness_lufs is not None
        else preset.target_lufs,
        "ceiling": preset.ceiling_dbtp,
        "encoding_loss": ENCODING_LOSS_LU,
        "pauses": vars(mastering.pauses),
    }


def _build_key(
    sections: tuple[SectionPlan, ...],
    info: EpisodeInfo,
    params: Mapping[str, object],
    writing: Writing,
    media: Sequence[ChapterMedia] = (),
) -> str:
    """One hash of every input of the file: equal keys mean an identical episode."""
    jingles = {
        name: file_digest(p)
        for name, p in (("intro", writing.intro_path), ("outro", writing.outro_path))
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
            "params": dict(params),
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
            "id3": writing.id3_version,
            "sidecars": writing.sidecars,
            **_container_key(writing),
            **media_key(media),
        }
    )


def _container_key(writing: Writing) -> dict[str, object]:
    """What an MP4 build adds to the build key (nothing for an MP3: its key,
    and so an existing MP3's "up to date", stays as it was)."""
    found: dict[str, object] = {}
    if writing.container != "mp3":
        found["container"] = writing.container
    if writing.sidecar_name is not None:
        found["sidecar_name"] = writing.sidecar_name
    return found


# -- the plan ------------------------------------------------------------------


def plan_file(
    source_path: Path,
    settings: Settings,
    engine: Engine | None = None,
    note: Note | None = None,
    *,
    choose: ChooseEngine | None = None,
) -> BuildPlan:
    """Read and plan the summary at ``source_path`` (see ``plan_document``).

    Raises:
        NarratorError: bad input, options or engine.
    """
    document = read_document(source_path)
    return plan_document(source_path, document, settings, engine, note, choose=choose)


def plan_document(
    source_path: Path,
    document: Document,
    settings: Settings,
    engine: Engine | None = None,
    note: Note | None = None,
    *,
    choose: ChooseEngine | None = None,
) -> BuildPlan:
    """Plan the episode of a parsed ``document`` (``source_path`` names it).

    ``engine`` speaks it; without one, ``choose`` picks it once the output and
    what its MP3 recorded are known.

    Raises:
        NarratorError: bad input, options or engine.
    """
    output = _check(source_path, document, settings)
    previous = read_previous(output)
    if engine is None:
        if choose is None:
            raise ValueError("plan_document needs an engine or a way to choose one")
        engine = choose(output, previous)
    lexicon = load_user_lexicon(source_path, settings.lexicon_path)
    cache = Cache(settings.cache_dir or default_cache_dir())
    made: list[tuple[str, bytes]] = []  # sections made speakable now
    pictures: list[tuple[str, bytes]] = []  # chapter pictures prepared now
    prepared, media = _chapters(
        source_path, document, engine, lexicon, cache, output, (made, pictures), note
    )
    container = container_of(output)
    mastering = Mastering(
        settings.preset,
        settings.pauses,
        settings.loudness_lufs,
        codec="mp3" if container == "mp3" else "aac",
    )
    writing = Writing(
        intro_path=settings.intro_path,
        outro_path=settings.outro_path,
        id3_version=settings.id3_version,
        sidecars=settings.sidecars,
        force=settings.force,
        lock_dir=settings.lock_dir,
        container=container,
        sidecar_name=_sidecar_name(output, settings),
    )
    params = segment_params(mastering)
    sections = _with_media(
        plan_sections(prepared, engine.identity(), params, cache), media
    )
    info = episode_info(source_path, document, settings, note)
    return BuildPlan(
        source_path=source_path,
        output_path=output,
        document=document,
        engine=engine,
        sections=sections,
        info=info,
        build_key=_build_key(sections, info, params, writing, media),
        cache=cache,
        previous=previous,
        mastering=mastering,
        params=params,
        writing=writing,
        jobs=settings.jobs or default_jobs(engine.local),
        speech=tuple(made),
        pictures=tuple(pictures),
    )


def _sidecar_name(output: Path, settings: Settings) -> str | None:
    """The audio file the sidecars name when several formats share them (the
    first one asked for); None: this file's own name."""
    if len(settings.formats) < 2:
        return None
    first = output.with_suffix(f".{settings.formats[0]}").name
    return None if first == output.name else first


def _with_media(
    sections: Sequence[SectionPlan], media: Sequence[ChapterMedia]
) -> tuple[SectionPlan, ...]:
    """Each planned section with its chapter's picture and URL (here, not in
    ``pictures``: that would put ``keys`` one level deeper)."""
    return tuple(
        replace(sp, picture=m.picture, url=m.url)
        for sp, m in zip(sections, media, strict=True)
    )


def _chapters(
    source_path: Path,
    document: Document,
    engine: Engine,
    lexicon: dict[str, str],
    cache: Cache,
    output: Path,
    made: tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]],
    note: Note | None,
) -> tuple[list[tuple[str, tuple[Utterance, ...]]], list[ChapterMedia]]:
    """The sections as the engine will be sent them, and each one's picture
    and URL (``build.pictures``); ``made`` receives the speech and the
    pictures made now.

    Raises:
        SummaryError: no section is left with anything to speak.
    """
    speech, pictures = made
    kept: list[Section] = []
    prepared = _speakable(
        source_path, document, engine, lexicon, cache, (speech, kept), note
    )
    media = chapter_media(source_path, kept, output, cache, pictures, note)
    return prepared, media


def _speakable(
    source_path: Path,
    document: Document,
    engine: Engine,
    lexicon: dict[str, str],
    cache: Cache,
    out: tuple[list[tuple[str, bytes]], list[Section]],
    note: Note | None,
) -> list[tuple[str, tuple[Utterance, ...]]]:
    """The sections as the engine will be sent them (``prepare``); each warning
    goes to ``note``. ``out`` receives the speech made now and the sections
    that became chapters.

    Raises:
        SummaryError: no section is left with anything to speak.
    """
    made, kept = out
    prepared, warnings = prepare(document, engine.profile, lexicon, cache, made, kept)
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
    return prepared


def _check(source_path: Path, document: Document, settings: Settings) -> Path:
    """What can be refused before an engine is chosen; the episode's MP3 path.

    Raises:
        ConfigError: an unknown preset.
        SummaryError: more sections than an episode holds chapters.
        InputError: the output is a folder.
    """
    if settings.preset not in PRESETS:
        raise ConfigError(
            f"unknown preset {settings.preset!r}; use {', '.join(PRESETS)}."
        )
    if len(document.sections) > MAX_SECTIONS:
        raise SummaryError(
            f"has {len(document.sections)} sections; an episode holds at most "
            f"{MAX_SECTIONS} chapters: split the document.",
            path=str(source_path),
        )
    output = settings.output_path or default_output(source_path)
    if output.is_dir():
        raise InputError(f"{output} is a folder; pass -o FOLDER/NAME.mp3.")
    return output
