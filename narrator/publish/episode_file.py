"""The episode MP3 as publish reads it: its tags, its guid, its cover.

Everything a feed item needs is read back from the MP3's own tags, so
``publish`` works on any episode ``narrator build`` wrote, long after the
build. The guid is the MP3's ``TXXX:NARRATOR_GUID``; an MP3 without that
frame gets a UUIDv5 of its file name (stable as long as the name is). The
APIC cover is written next to the MP3 so that the feed can link it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from narrator.atomic import write_bytes_atomic
from narrator.container.cover import validate_cover
from narrator.container.tags import TXXX_GUID, read_episode
from narrator.errors import InputError, TaggingError
from narrator.publish.items import FeedChapter

logger = logging.getLogger(__name__)

# Fallback guids are UUIDv5 of "narrator:" + file name in the URL namespace.
_FALLBACK_PREFIX = "narrator:"
_COVER_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class PublishedEpisode:
    """What the MP3's tags say, as far as the feed cares."""

    title: str
    author: str | None
    podcast: str | None
    date: str | None
    episode: int | None
    description: str | None
    guid: str
    duration_s: float
    chapters: tuple[FeedChapter, ...]
    cover: bytes | None
    cover_mime: str | None
    size_bytes: int


def fallback_guid(file_name: str) -> str:
    """Return the guid of an MP3 without ``TXXX:NARRATOR_GUID``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, _FALLBACK_PREFIX + file_name))


def read_mp3(path: Path) -> PublishedEpisode:
    """Read what the feed needs from the MP3 (``tags.read_episode``).

    Raises:
        InputError: the file is missing or is not a readable MP3.
    """
    try:
        tags = read_episode(path)
        size_bytes = path.stat().st_size
    except (TaggingError, OSError) as exc:
        raise InputError(f"{path}: cannot read the MP3 ({exc}).") from exc
    guid = tags.extra.get(TXXX_GUID, "").strip() or fallback_guid(path.name)
    return PublishedEpisode(
        title=tags.title or path.stem,
        author=tags.author,
        podcast=tags.podcast,
        date=tags.date,
        episode=_track_number(tags.episode),
        description=tags.description,
        guid=guid,
        duration_s=tags.duration_s,
        chapters=tuple(
            FeedChapter(
                start_s=c.start_ms / 1000,
                title=c.title,
                url=c.url,
                image_alt=c.picture.alt if c.picture else "",
            )
            for c in tags.chapters
        ),
        cover=tags.cover,
        cover_mime=tags.cover_mime,
        size_bytes=size_bytes,
    )


def _track_number(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value.split("/")[0])
    except ValueError:
        return None


def write_cover(mp3_path: Path, episode: PublishedEpisode) -> Path | None:
    """Write the APIC picture next to the MP3 so the feed can link it."""
    if not episode.cover or episode.cover_mime not in _COVER_EXTENSIONS:
        return None
    path = mp3_path.with_suffix(_COVER_EXTENSIONS[episode.cover_mime])
    try:
        validate_cover(episode.cover, path=f"{mp3_path.name} (embedded cover)")
    except InputError as exc:
        logger.warning("%s; it is still linked as the episode image", exc)
    if not path.exists() or path.read_bytes() != episode.cover:
        write_bytes_atomic(path, episode.cover)
    return path


__all__ = ["PublishedEpisode", "fallback_guid", "read_mp3", "write_cover"]
