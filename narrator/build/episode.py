"""An episode's metadata: its tags resolved, its cover, its transcript; and
the tags of an episode already written, read back (``narrator info``).

Everything here is decided before any audio exists, and cheaply, so that a
build with nothing to do stays fast: the generated cover is drawn only when
the file is written, and cached. ``episode_info`` is where the settings'
tag options become the episode's tags: below it, the container gets the tags
(``EpisodeInfo``), never the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from narrator.cache import Cache, make_key
from narrator.config import Settings, check_date
from narrator.container import mp4tags
from narrator.container.boxes import is_mp4_file
from narrator.container.cover import generate_cover, validate_cover
from narrator.container.tags import read_episode
from narrator.errors import ConfigError, InputError, TaggingError
from narrator.model import Document, EpisodeInfo, EpisodeTags, Utterance
from narrator.speech.sentences import split_sentences
from narrator.text.titles import shorten_title, stem_title

Note = Callable[[str], None]


# -- the episode's tags --------------------------------------------------------


def episode_info(
    source_path: Path,
    document: Document,
    settings: Settings,
    note: Note | None = None,
) -> EpisodeInfo:
    """Resolve the episode's tags from front matter, options and the file.

    Title: front matter ``title``, else --title, else a single leading '#'
    heading, else the file name when it is words, else the first sentence
    (`untitled_title`). Other fields: the option wins over front matter.

    Raises:
        ConfigError: a date, episode number or cover is invalid.
    """
    meta = document.meta
    title = meta.get("title") or settings.title or document.title
    if not title:
        title, source = untitled_title(source_path, document)
        # Tags, cover, feed and site only, never spoken: say what was chosen,
        # with the fix.
        if note is not None:
            note(
                f"no episode title in {source_path.name}: the tags, cover and feed "
                f"use «{title}» ({source}); give one with --title, a 'title:' "
                "line in the front matter or a '# ' heading."
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
    cover, cover_mime = (None, None) if cover_path is None else _cover(cover_path)
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


def untitled_title(source_path: Path, document: Document) -> tuple[str, str]:
    """The title of a document that gives none, and where it came from.

    The file name when it is words (``budget-2026.txt`` → «Budget 2026»),
    else the first sentence of the first section, cut at a word boundary to
    at most 70 characters with «…» (`shorten_title`): a file stem that is a
    code («000_4308e03e8e9adbfa») never names an episode.
    """
    named = stem_title(source_path.stem)
    if named is not None:
        return named, "from the file name"
    first = document.sections[0] if document.sections else None
    text = first.paragraphs[0].text if first and first.paragraphs else ""
    sentences = split_sentences(text) if text else []
    if sentences:
        return shorten_title(sentences[0]), "from its first sentence"
    if first is not None:
        return shorten_title(first.title), "from its first heading"
    return source_path.stem, "the file name"


def _cover(path: Path) -> tuple[bytes, str]:
    """The cover given (its bytes and MIME type).

    No cover given: one is generated from the titles when the file is
    written (not while planning: planning must stay cheap for no-op builds).

    Raises:
        ConfigError: the cover cannot be read or is not a valid cover.
    """
    try:
        cover = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the cover: {exc.strerror}.") from exc
    return cover, validate_cover(cover, path=str(path))


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
    key = make_key(
        {"kind": "cover", "v": 1, "title": info.title, "podcast": info.podcast}
    )
    stored = cache.get_bytes("covers", key)
    if stored is not None:
        return stored
    data = generate_cover(info.title, info.podcast)
    cache.put("covers", key, data, {"mime": "image/jpeg"})
    return data


def transcript(sections: Sequence[tuple[str, Sequence[Utterance]]]) -> str:
    """The full transcript (ID3 USLT): every spoken utterance as written."""
    return "\n".join("\n".join(u.display for u in utts) for _, utts in sections)


# -- an episode already written ----------------------------------------------------


def episode_tags(path: Path) -> EpisodeTags:
    """The tags, chapters and stream facts of an episode file (``narrator info``):
    MP3 through ``container.tags``, M4A/M4B through ``container.mp4tags``.

    Raises:
        InputError: no such file, or not a readable MP3 or MP4 (the user gave
            the wrong file: bad input).
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path.")
    try:
        if is_mp4_file(path):
            return mp4tags.read_episode(path)
        return read_episode(path)
    except TaggingError as exc:
        raise InputError(f"{exc} Give an MP3, M4A or M4B episode.") from exc


def tags_json(tags: EpisodeTags) -> dict[str, object]:
    """``narrator info --json``: every field, the cover as its type and size only,
    chapter times in seconds."""
    data = asdict(tags)
    del data["cover"]  # bytes: its type and size are reported instead
    data["chapters"] = [
        {"title": c.title, "start_s": c.start_ms / 1000, "end_s": c.end_ms / 1000}
        for c in tags.chapters
    ]
    return data
