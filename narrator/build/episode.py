"""An episode's words and metadata: the document read, its sections made speakable,
its tags resolved, its cover and its guid.

Everything here is decided before any audio exists, and cheaply, so that a
build with nothing to do stays fast: the generated cover is drawn only when
the file is written, and cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from narrator.build.output import PreviousBuild
from narrator.cache import Cache, make_key
from narrator.config import Settings, check_date
from narrator.errors import ConfigError, SummaryError
from narrator.model import Document, EpisodeInfo, Section, Utterance

if TYPE_CHECKING:
    from narrator.speech.normalize import SpokenSection

MAX_INPUT_BYTES = 20 * 1024 * 1024

Note = Callable[[str], None]


# -- reading -----------------------------------------------------------------


def read_document(source_path: Path) -> Document:
    """Read, decode and parse the summary at ``source_path``.

    Raises:
        SummaryError: unreadable, empty, binary or nothing to say.
    """
    from narrator.text.decode import decode_bytes
    from narrator.text.sections import parse_summary

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


def prepare(
    document: Document,
    profile: str,
    lexicon: dict[str, str],
    cache: Cache | None = None,
    new_entries: list[tuple[str, bytes]] | None = None,
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
    """
    prepared = []
    warnings = []
    for number, section in enumerate(document.sections, start=1):
        spoken = _speak(section, profile, lexicon, cache, new_entries)
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


@functools.cache
def _speech_code_digest() -> str:
    """SHA-256 of the code and data that make text speakable: a cached section
    is only valid for the normalizer that made it."""
    import narrator.speech

    h = hashlib.sha256()
    root = Path(narrator.speech.__file__).parent
    for path in sorted([*root.rglob("*.py"), *(root.parent / "data").glob("*.toml")]):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _speak(
    section: Section,
    profile: str,
    lexicon: dict[str, str],
    cache: Cache | None,
    new_entries: list[tuple[str, bytes]] | None,
) -> SpokenSection:
    from narrator.speech.normalize import speak_section

    if cache is None:
        return speak_section(section, engine=profile, lexicon=lexicon)
    key = make_key(
        {
            "kind": "speech",
            "code": _speech_code_digest(),
            "profile": profile,
            "lexicon": sorted(lexicon.items()),
            "title": section.title,
            "heading": section.has_heading,
            "paragraphs": [[p.text, p.bullet] for p in section.paragraphs],
        }
    )
    # Not touched: planning changes nothing on disk (a dry run stops there); an
    # entry pruned for looking unused is only made again, in milliseconds.
    entry = cache.get("speech", key, touch=False)
    if entry is not None:
        try:
            return _spoken_from(json.loads(entry.read_payload()))
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: make it again
    spoken = speak_section(section, engine=profile, lexicon=lexicon)
    payload = {
        "utterances": [[u.text, u.display, u.pause] for u in spoken.utterances],
        "has_speech": spoken.has_speech,
        "dropped": [list(d) for d in spoken.dropped],
    }
    data = json.dumps(payload, ensure_ascii=False).encode()
    if new_entries is None:
        cache.put("speech", key, data)
    else:
        new_entries.append((key, data))
    return spoken


def _spoken_from(payload: dict[str, object]) -> SpokenSection:
    from narrator.speech.normalize import SpokenSection

    utterances = cast("list[list[str]]", payload["utterances"])
    dropped = cast("list[list[object]]", payload["dropped"])
    return SpokenSection(
        utterances=tuple(Utterance(str(t), str(d), str(k)) for t, d, k in utterances),
        has_speech=bool(payload["has_speech"]),
        dropped=tuple((str(a), int(cast(int, b))) for a, b in dropped),
    )


# -- metadata ----------------------------------------------------------------


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
        from narrator.container.cover import validate_cover

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
        language=iso639_2(meta.get("language")),
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


def iso639_2(language: str | None) -> str:
    """TLAN wants ISO 639-2 ("fra"); front matter usually says "fr" or "fr-CA"."""
    if not language:
        return "fra"
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if len(code) == 3 and code.isalpha():
        return code
    return _ISO639_2.get(code, "fra")


def generated_cover(info: EpisodeInfo, cache: Cache) -> bytes:
    """The cover drawn from the titles, cached: drawing 3000x3000 px takes ~0.5 s."""
    from narrator.container.cover import generate_cover

    key = make_key(
        {"kind": "cover", "v": 1, "title": info.title, "podcast": info.podcast}
    )
    entry = cache.get("covers", key)
    if entry is not None:
        return entry.read_payload()
    data = generate_cover(info.title, info.podcast)
    cache.put("covers", key, data, {"mime": "image/jpeg"})
    return data


def episode_guid(previous: PreviousBuild | None, source_name: str, title: str) -> str:
    """The episode's guid: kept across regenerations of the same episode.

    "Same" means the same source file name or the same title, so renaming the
    file or retitling the episode keeps it; another document written over the
    output gets a new one.
    """
    from narrator.container.tags import TXXX_GUID, TXXX_SOURCE, TXXX_TITLE

    if previous is None:
        return str(uuid.uuid4())
    guid = previous.get(TXXX_GUID)
    other_source = previous.get(TXXX_SOURCE) not in (None, source_name)
    if other_source and previous.get(TXXX_TITLE) != title:
        guid = None
    return guid or str(uuid.uuid4())


def transcript(sections: Sequence[tuple[str, Sequence[Utterance]]]) -> str:
    """The full transcript (ID3 USLT): every spoken utterance as written."""
    return "\n".join("\n".join(u.display for u in utts) for _, utts in sections)
