"""The episode file as publish reads it: its tags, its guid, its cover.

Everything a feed item needs is read back from the file's own tags, so
``publish`` works on any episode ``narrator build`` wrote, long after the
build: an MP3's ID3 tags (``container.tags``), an M4A's or M4B's iTunes
items (``container.mp4tags``), which hold the same values. The guid is the
MP3's ``TXXX:NARRATOR_GUID`` (the MP4's ``----:org.narrator:NARRATOR_GUID``);
a file without it gets a UUIDv5 of its file name (stable as long as the name
is). The embedded cover is written next to the file so that the feed can
link it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from narrator.atomic import write_bytes_atomic
from narrator.container import mp4tags
from narrator.container.boxes import is_mp4_file
from narrator.container.cover import validate_cover
from narrator.container.tags import TXXX_GUID, read_episode
from narrator.errors import InputError, TaggingError
from narrator.publish.items import FeedChapter, audio_mime

logger = logging.getLogger(__name__)

# Fallback guids are UUIDv5 of "narrator:" + file name in the URL namespace.
_FALLBACK_PREFIX = "narrator:"
_COVER_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class PublishedEpisode:
    """What the episode file's tags say, as far as the feed cares."""

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
    mime_type: str  # the enclosure's


def fallback_guid(file_name: str) -> str:
    """Return the guid of an episode file without ``NARRATOR_GUID``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, _FALLBACK_PREFIX + file_name))


def read_episode_file(path: Path) -> PublishedEpisode:
    """Read what the feed needs from the episode: MP3, M4A or M4B.

    An MP4 is told by its name or its ``ftyp`` box (``boxes.is_mp4_file``);
    its duration is the audio's (iTunSMPB), not the media's with the
    encoder's priming.

    Raises:
        InputError: the file is missing or is not a readable MP3 or MP4.
    """
    mp4 = is_mp4_file(path)
    kind = "MP4" if mp4 else "MP3"
    try:
        tags = mp4tags.read_episode(path) if mp4 else read_episode(path)
        size_bytes = path.stat().st_size
    except (TaggingError, OSError) as exc:
        raise InputError(f"{path}: cannot read the {kind} ({exc}).") from exc
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
        mime_type=audio_mime(tags.container),
    )


def _track_number(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value.split("/")[0])
    except ValueError:
        return None


def write_cover(mp3_path: Path, episode: PublishedEpisode) -> Path | None:
    """Write the embedded picture next to the episode so the feed can link it."""
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


__all__ = ["PublishedEpisode", "fallback_guid", "read_episode_file", "write_cover"]
