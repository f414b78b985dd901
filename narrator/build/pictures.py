"""Each chapter's picture and URL, from its section's first image and link.

A Markdown section's first image (``![alt](figure.png)``) is a file beside
the document; it becomes the chapter's picture (``container.pictures``: an
upright RGB JPEG of at most 1400 px), named ``<stem>.ch<N>.jpg`` beside the
episode. Its first http(s) link becomes the chapter's URL. Neither is in the
speech or clip keys, so a changed picture re-synthesizes nothing; the
picture's bytes are in the build key, so it retags.

What is refused, and why (one warning each, the chapter stays without it):
an image that is missing or unreadable; an absolute path, a ``..`` path or
a link that leaves the document's folder (building a document must not
publish a file from elsewhere on the machine); a remote image (it is not
beside the document); a link that is not a web address (``mailto:``,
``#anchor``: players open a chapter URL in a browser).

Prepared pictures are cached by the SHA-256 of the source file's bytes, so a
rebuild decodes nothing; like the speech, what planning makes is handed
back to be stored when the plan is carried out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from narrator.cache import Cache, make_key
from narrator.container.pictures import PICTURE_VERSION, PictureError, prepare_picture
from narrator.model import ChapterPicture, Section

__all__ = [
    "MAX_PICTURE_SOURCE_BYTES",
    "ChapterMedia",
    "chapter_media",
    "media_key",
    "picture_name",
]

# What a URL keeps as typed when it is made ASCII (``%`` too: already escaped).
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_NO_PICTURE = "; the chapter has no picture"
# A source image larger than this is refused unread (memory stays bounded).
MAX_PICTURE_SOURCE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ChapterMedia:
    """What a chapter shows besides its title: a picture, a web link."""

    picture: ChapterPicture | None = None
    url: str | None = None

    def key(self) -> list[object]:
        """What the build key holds of it: the picture's bytes, not its path."""
        picture = self.picture
        return [
            hashlib.sha256(picture.data).hexdigest() if picture else None,
            picture.name if picture else None,
            picture.alt if picture else None,
            self.url,
        ]


def media_key(media: Sequence[ChapterMedia]) -> dict[str, object]:
    """What the build key holds of the chapters' media: nothing when no
    chapter has a picture or URL, so every other build's key (and so its "up
    to date") stays as it was."""
    if not any(m.picture or m.url for m in media):
        return {}
    return {"media": [m.key() for m in media]}


def picture_name(output_path: Path, number: int) -> str:
    """``<stem>.ch<N>.jpg``: chapter ``number`` (1-based) of the episode."""
    return f"{output_path.stem}.ch{number}.jpg"


def chapter_media(
    source_path: Path,
    sections: Sequence[Section],
    output_path: Path,
    cache: Cache,
    made: list[tuple[str, bytes]],
    note: Callable[[str], None] | None,
) -> list[ChapterMedia]:
    """The picture and URL of each chapter (``sections`` are the chapters').

    Each problem is told once to ``note``, naming the file: one image used
    by several sections is read, and warned about, once.
    """
    folder = source_path.resolve().parent
    told: set[str] = set()
    done: dict[Path, bytes | None] = {}

    def warn(message: str) -> None:
        if message not in told and note is not None:
            note(message)
        told.add(message)

    media = []
    for number, section in enumerate(sections, start=1):
        picture = None
        if section.images:
            target, alt = section.images[0]
            data = _picture(folder, target, cache, made, done, warn)
            if data is not None:
                picture = ChapterPicture(picture_name(output_path, number), data, alt)
        media.append(ChapterMedia(picture, _url(number, section, warn)))
    return media


def _url(number: int, section: Section, warn: Callable[[str], None]) -> str | None:
    """The section's first http(s) link; others are told about, not used."""
    for link in section.links:
        if urlsplit(link).scheme in ("http", "https") and urlsplit(link).netloc:
            # ID3's URLs are Latin-1, players' ASCII: «été» travels as %C3%A9t%C3%A9.
            return quote(link, safe=_URL_SAFE)
    if section.links:
        warn(
            f"section {number} «{section.title}»: the link {section.links[0]!r} "
            "is not a web address (http or https); the chapter has no URL"
        )
    return None


def _picture(
    folder: Path,
    target: str,
    cache: Cache,
    made: list[tuple[str, bytes]],
    done: dict[Path, bytes | None],
    warn: Callable[[str], None],
) -> bytes | None:
    """The prepared JPEG of the image ``target`` names, or None (told why)."""
    path = _local_path(folder, target, warn)
    if path is None:
        return None
    if path in done:
        return done[path]
    done[path] = None
    try:
        size = path.stat().st_size
        if size > MAX_PICTURE_SOURCE_BYTES:
            warn(
                f"image {target}: {size // 1024 // 1024} MB is too large" + _NO_PICTURE
            )
            return None
        source = path.read_bytes()
    except OSError as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror
        warn(f"image {target}: {reason}; the chapter has no picture")
        return None
    key = make_key(
        {
            "kind": "picture",
            "version": PICTURE_VERSION,
            "source": hashlib.sha256(source).hexdigest(),
        }
    )
    data = cache.get_bytes("pictures", key, touch=False)
    if data is None:
        try:
            data = prepare_picture(source)
        except PictureError as exc:
            warn(f"image {target}: not a readable image ({exc})" + _NO_PICTURE)
            return None
        made.append((key, data))
    done[path] = data
    return data


def _local_path(folder: Path, target: str, warn: Callable[[str], None]) -> Path | None:
    """The file ``target`` names inside the document's folder, or None."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        warn(f"image {target}: not a file beside the document" + _NO_PICTURE)
        return None
    relative = PurePosixPath(unquote(parts.path))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        warn(
            f"image {target}: outside the document's folder; the chapter has "
            "no picture (put the image beside the document, or below it)"
        )
        return None
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):  # a symbolic link out of the folder
        warn(f"image {target}: leads outside the document's folder" + _NO_PICTURE)
        return None
    return path
