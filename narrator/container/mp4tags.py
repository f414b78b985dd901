"""MP4 episode tags (mutagen's MP4 support): the MP4 side of the mutagen boundary.

``container.tags`` is the ID3 side; this module writes and reads the iTunes
``ilst`` items of an M4A/M4B that ``container.mp4file`` finished. mutagen
rewrites ``moov`` in place (and the chunk offsets, were ``moov`` before the
audio), so tagging is done on the temporary file before it is renamed.

What is written, and why these keys (Apple's iTunes metadata, as mutagen
names them):

* ``©nam`` title, ``©ART`` and ``aART`` author, ``©alb`` podcast (the title
  when there is none), ``©day`` date, ``desc`` description (and ``ldes`` when
  longer than 255 characters), ``trkn`` and ``tves`` the episode number,
  ``©lyr`` the transcript, ``covr`` the cover, ``©too`` the encoder;
* ``stik``, Apple's media kind: 2 (audiobook) for ``.m4b``, 21 (podcast) for
  ``.m4a``, which also gets ``pcst`` (the podcast flag) and ``©gen`` Podcast;
* ``----:com.apple.iTunes:iTunSMPB``: encoder priming, padding and the
  audio's length in samples, for the players that read it rather than the
  edit list (Apple's own encoder writes it the same way);
* ``----:org.narrator:NARRATOR_*``: what the ID3 side keeps in TXXX frames
  (the build key, the sidecars' digest, the guid...), under the same names,
  so "up to date" is decided alike for both containers.

Every mutagen call goes through :func:`_mutagen_call`, which turns whatever
mutagen raises into a :class:`~narrator.errors.TaggingError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mutagen import MutagenError
from mutagen.mp4 import MP4, AtomDataType, MP4Cover, MP4FreeForm

from narrator.errors import TaggingError
from narrator.model import Chapter, EpisodeInfo, EpisodeTags

log = logging.getLogger(__name__)

Flavour = Literal["m4a", "m4b"]
STIK_AUDIOBOOK = 2
STIK_PODCAST = 21
NARRATOR_MEAN = "org.narrator"
_FREEFORM = f"----:{NARRATOR_MEAN}:"
ITUNSMPB = "----:com.apple.iTunes:iTunSMPB"
_DESC_CHARS = 255


@contextlib.contextmanager
def _mutagen_call(describe: Callable[[Exception], str]) -> Iterator[None]:
    """The funnel: what mutagen raises in this block becomes TaggingError.

    mutagen's MP4 reader lets ``OSError``, ``struct.error`` and
    ``UnicodeDecodeError`` (a cut chapter title) through besides its own
    errors, so every ``Exception`` is caught, as ``container.tags`` does.
    """
    try:
        yield
    except TaggingError:
        raise
    except MutagenError as exc:
        raise TaggingError(describe(exc)) from exc
    except Exception as exc:
        log.debug("mutagen raised %r", exc, exc_info=True)
        raise TaggingError(describe(exc)) from exc


def itunsmpb(priming: int, padding: int, samples: int) -> str:
    """The iTunSMPB value: priming, padding and length in hexadecimal samples."""
    return (
        f" 00000000 {priming:08X} {padding:08X} {samples:016X}" + " 00000000" * 8
    ).rstrip()


def _text(value: str) -> MP4FreeForm:
    return MP4FreeForm(value.encode("utf-8"), dataformat=AtomDataType.UTF8)


def _episode_items(info: EpisodeInfo, flavour: Flavour) -> dict[str, object]:
    """The ilst items that describe the episode; empty values are left out."""
    items: dict[str, object] = {
        "©nam": [info.title],
        "©alb": [info.podcast or info.title],
        "stik": [STIK_AUDIOBOOK if flavour == "m4b" else STIK_PODCAST],
        "©gen": ["Audiobook" if flavour == "m4b" else "Podcast"],
    }
    if flavour == "m4a":
        items["pcst"] = True
    if info.author:
        items["©ART"] = [info.author]
        items["aART"] = [info.author]
    if info.date:
        items["©day"] = [info.date]
    if info.description:
        items["desc"] = [info.description[:_DESC_CHARS]]
        if len(info.description) > _DESC_CHARS:
            items["ldes"] = [info.description]
    if info.episode is not None:
        items["trkn"] = [(info.episode, 0)]
        items["tves"] = [info.episode]
    if info.transcript:
        items["©lyr"] = [info.transcript]
    if info.cover:
        kind = (
            MP4Cover.FORMAT_PNG
            if info.cover_mime == "image/png"
            else MP4Cover.FORMAT_JPEG
        )
        items["covr"] = [MP4Cover(info.cover, imageformat=kind)]
    return items


def write_mp4_tags(
    path: Path,
    info: EpisodeInfo,
    *,
    flavour: Flavour,
    smpb: str,
    extra: Mapping[str, str],
    encoder: str = "",
) -> None:
    """Tag the MP4 at ``path`` (a temporary file) with the episode's items.

    Raises:
        TaggingError: mutagen cannot read or write the file.
    """
    with _mutagen_call(lambda exc: f"{path}: cannot write the MP4 tags ({exc})."):
        audio = MP4(path)
        if audio.tags is None:
            audio.add_tags()
        tags = audio.tags
        if tags is None:  # pragma: no cover - add_tags guarantees it
            raise TaggingError(f"{path}: mutagen made no MP4 tags.")
        tags.clear()
        for key, value in _episode_items(info, flavour).items():
            tags[key] = value
        if encoder:
            tags["©too"] = [encoder]
        tags[ITUNSMPB] = [_text(smpb)]
        for key, value in extra.items():
            tags[_FREEFORM + key] = [_text(value)]
        audio.save()


def _freeform(tags: Mapping[str, object], key: str) -> str | None:
    values = tags.get(key)
    if not isinstance(values, list) or not values:
        return None
    return bytes(values[0]).decode("utf-8", "replace")


def read_extra(path: Path) -> dict[str, str]:
    """The ``org.narrator`` items of an MP4 (what ``tags.read_extra`` reads of an MP3).

    Raises:
        TaggingError: the file is not a readable MP4.
    """
    with _mutagen_call(lambda exc: f"{path}: not a readable MP4 ({exc})."):
        return _extra(MP4(path).tags or {})


def _extra(tags: Mapping[str, object]) -> dict[str, str]:
    found = {}
    for key in list(tags.keys()):
        if key.startswith(_FREEFORM):
            value = _freeform(tags, key)
            if value is not None:
                found[key[len(_FREEFORM) :]] = value
    return found


def read_chapters(path: Path) -> tuple[tuple[Chapter, ...], float]:
    """The Nero chapters and the duration (s, from iTunSMPB) of an M4A/M4B.

    What an up-to-date build reports. Nero titles hold at most 255 bytes
    (``container.mp4file`` cuts longer ones at a character); the duration is
    the audio's, which mutagen's own length (the media, priming included)
    overstates by the priming.

    Raises:
        TaggingError: the file is not a readable MP4.
    """
    with _mutagen_call(lambda exc: f"{path}: not a readable MP4 ({exc})."):
        return _chapters_and_duration(path, MP4(path))


def _chapters_and_duration(path: Path, audio: MP4) -> tuple[tuple[Chapter, ...], float]:
    tags: Mapping[str, object] = audio.tags or {}
    info = audio.info
    if info is None or not info.sample_rate:
        # mutagen reads the first audio track; a video or an empty movie has none.
        raise TaggingError(f"{path}: an MP4 without an audio track.")
    rate = int(info.sample_rate)
    duration_s = float(info.length)
    smpb = _freeform(tags, ITUNSMPB)
    if smpb is not None:
        duration_s = int(smpb.split()[3], 16) / rate
    starts = [(c.start, c.title) for c in (audio.chapters or [])]
    ends = [s for s, _ in starts[1:]] + [duration_s] if starts else []
    chapters = tuple(
        Chapter(title, int(round(start * 1000)), int(round(end * 1000)))
        for (start, title), end in zip(starts, ends, strict=True)
    )
    return chapters, duration_s


def _first(tags: Mapping[str, object], key: str) -> str | None:
    values = tags.get(key)
    if not isinstance(values, list) or not values:
        return None
    return str(values[0]) or None


def _cover(tags: Mapping[str, object]) -> tuple[bytes | None, str | None]:
    values = tags.get("covr")
    if not isinstance(values, list) or not values:
        return None, None
    cover = values[0]
    png = getattr(cover, "imageformat", None) == MP4Cover.FORMAT_PNG
    return bytes(cover), "image/png" if png else "image/jpeg"


def _flavour(tags: Mapping[str, object], path: Path) -> Flavour:
    """m4b for Apple's audiobook kind, m4a for any other (the suffix when untagged)."""
    stik = tags.get("stik")
    if isinstance(stik, list) and stik:
        return "m4b" if stik[0] == STIK_AUDIOBOOK else "m4a"
    return "m4b" if path.suffix.lower() == ".m4b" else "m4a"


def read_episode(path: Path) -> EpisodeTags:
    """Tags, chapters and stream facts of an M4A/M4B, as ``tags.read_episode``
    gives them of an MP3 (``narrator info``, ``publish``).

    The description is ``ldes`` when there is one (``desc`` holds 255
    characters at most); the episode number is ``trkn``'s first half.

    Raises:
        TaggingError: the file is not a readable MP4 with an audio track.
    """
    with _mutagen_call(lambda exc: f"{path}: not a readable MP4 ({exc})."):
        audio = MP4(path)
        chapters, duration_s = _chapters_and_duration(path, audio)
        tags: Mapping[str, object] = audio.tags or {}
        info = audio.info
        if info is None:  # pragma: no cover - _chapters_and_duration refused it
            raise TaggingError(f"{path}: an MP4 without an audio track.")
        trkn = tags.get("trkn")
        episode = str(trkn[0][0]) if isinstance(trkn, list) and trkn else None
        lyrics = _first(tags, "©lyr") or ""
        cover, cover_mime = _cover(tags)
        extra = _extra(tags)
        return EpisodeTags(
            title=_first(tags, "©nam"),
            author=_first(tags, "©ART"),
            podcast=_first(tags, "©alb"),
            date=_first(tags, "©day"),
            episode=episode,
            description=_first(tags, "ldes") or _first(tags, "desc"),
            language=None,
            chapters=chapters,
            toc=(),
            toc_flags=None,
            extra=extra,
            cover_mime=cover_mime,
            cover_bytes=len(cover) if cover else 0,
            cover=cover,
            transcript_chars=len(lyrics),
            duration_s=duration_s,
            bitrate_kbps=int(info.bitrate // 1000),
            bitrate_mode="",
            sample_rate=int(info.sample_rate),
            channels=int(info.channels),
            container=_flavour(tags, path),
            codec=str(info.codec_description or info.codec),
        )


@dataclass(frozen=True)
class Mp4Facts:
    """What ``narrator check`` reads of an MP4's items: cover, iTunSMPB, rate."""

    cover: bytes | None
    smpb: tuple[int, int, int] | None  # priming, padding, samples
    sample_rate: int


def read_facts(path: Path) -> Mp4Facts:
    """The first cover, the iTunSMPB numbers and the sample rate of an MP4.

    Raises:
        TaggingError: the file is not a readable MP4.
    """
    with _mutagen_call(lambda exc: f"{path}: not a readable MP4 ({exc})."):
        audio = MP4(path)
        tags: Mapping[str, object] = audio.tags or {}
        covers = tags.get("covr")
        cover = bytes(covers[0]) if isinstance(covers, list) and covers else None
        smpb_text = _freeform(tags, ITUNSMPB)
        rate = int(audio.info.sample_rate) if audio.info is not None else 0
    smpb = None
    if smpb_text is not None:
        fields = smpb_text.split()
        try:
            smpb = (int(fields[1], 16), int(fields[2], 16), int(fields[3], 16))
        except (IndexError, ValueError):
            smpb = None
    return Mp4Facts(cover, smpb, rate)
