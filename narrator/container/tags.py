"""ID3v2 episode, podcast and chapter frames (mutagen); no encoding.

Tags are rendered to bytes and placed in front of the MP3 frames by the
assembler, instead of letting mutagen rewrite the file: the output is written
once, to a temporary name, and frames are serialized in an order we control.
mutagen's own save sorts frames by size, which shuffles CHAP frames on disk,
and readers that follow disk order (ffmpeg/ffprobe, eyeD3, several apps) then
list chapters out of order.

Every call into mutagen goes through one funnel, :func:`_mutagen_call` (as
beets' mediafile does with its ``mutagen_call``): whatever mutagen raises,
its own errors or the built-in ones its parsers and writers let through,
reaches the caller as a :class:`~narrator.errors.TaggingError` saying which
file and why, so the CLI maps it to its exit code in one place.
"""

from __future__ import annotations

import contextlib
import io
import logging
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast

from mutagen import MutagenError
from mutagen import id3 as _id3
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TRCK,
    TSSE,
    TXXX,
    USLT,
    CTOCFlags,
    ID3NoHeaderError,
    PictureType,
)
from mutagen.id3._specs import EncodedTextSpec, EncodingSpec, Latin1TextSpec
from mutagen.id3._tags import save_frame  # stable since 1.40
from mutagen.id3._util import ID3SaveConfig

from narrator.errors import TaggingError
from narrator.model import Chapter, ChapterPicture, EpisodeInfo, EpisodeTags

log = logging.getLogger(__name__)

TXXX_GUID = "NARRATOR_GUID"
TXXX_ENGINE = "NARRATOR_ENGINE"
TXXX_BUILD = "NARRATOR_BUILD"
TXXX_SOURCE = "NARRATOR_SOURCE"  # file name of the summary it was built from
TXXX_TITLE = "NARRATOR_TITLE"  # episode title at that build, for guid continuity
TXXX_SIDECARS = "NARRATOR_SIDECARS"  # SHA-256 of the sidecars written with it
TXXX_VOICE = "NARRATOR_VOICE"  # the engine's voice, kept by --engine auto

# Frames first in this order, then CHAPs in chapter order, the CTOC, then APIC:
# a reader that stops early still finds the title, and the big image goes last.
_ORDER = ["TIT2", "TPE1", "TALB", "TRCK", "TYER", "TDAT", "TDRC", "TCON", "TLAN"]


def _untyped(cls: type) -> Callable[..., object]:
    """A mutagen class subclassed here, called as mutagen's own are: its
    ``__init__`` is mutagen's, unannotated (``untyped_calls_exclude``)."""
    return cast("Callable[..., object]", cls)


class _UrlSpec(Latin1TextSpec):
    """A URL as the ID3 frames define it: the rest of the frame, without the
    $00 mutagen's Latin-1 spec adds (eyeD3 reads that $00 into the URL)."""

    def write(self, config: object, data: object, value: str) -> bytes:
        return value.encode("latin1")


class WXXX(_id3.WXXX):
    """mutagen's WXXX (its frame ID is the class name) with an exact URL."""

    _framespec = [
        EncodingSpec("encoding", default=3),
        EncodedTextSpec("desc"),
        cast("Latin1TextSpec", _untyped(_UrlSpec)("url")),
    ]


@contextlib.contextmanager
def _mutagen_call(describe: Callable[[Exception], str]) -> Iterator[None]:
    """The funnel: run mutagen in this block; what it raises becomes TaggingError.

    ``describe`` turns the error into the message (the file, what failed).
    mutagen's own errors (``MutagenError``) are not all it raises: its file
    readers let ``OSError`` through, its frame writers ``ValueError``,
    ``TypeError`` and ``struct.error`` (a CHAP time past 32 bits), and a
    damaged tag can surface as any of them; so every ``Exception`` is caught,
    as beets' ``mutagen_call`` does, with the traceback logged for debugging.
    A ``TaggingError`` raised in the block passes unchanged.
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


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def chapter_id(index: int) -> str:
    """Element ID of the CHAP frame for chapter ``index`` (0-based)."""
    return f"ch{index}"


def render_id3(
    info: EpisodeInfo,
    chapters: Sequence[Chapter],
    *,
    version: int = 3,
    extra: Mapping[str, str] | None = None,
    encoder: str = "",
    padding: int = 512,
) -> bytes:
    """Return a complete ID3v2 tag (header, frames in our order, padding).

    Raises:
        TaggingError: a value cannot be represented (e.g. > 255 chapters).
    """
    _check_limits(version, chapters)
    with _mutagen_call(lambda exc: f"cannot serialize ID3 tags: {exc}"):
        tags = ID3()
        _add_episode_frames(tags, info, extra or {}, encoder)
        ids = _add_chapter_frames(tags, info, chapters)
        if info.cover:
            tags.add(
                APIC(
                    encoding=3,
                    mime=info.cover_mime or "image/jpeg",
                    type=PictureType.COVER_FRONT,
                    desc="Cover",
                    data=info.cover,
                )
            )
        if version == 3:
            tags.update_to_v23()  # TDRC -> TYER + TDAT, recursing into CHAP/CTOC
        frames = _serialize(tags, ids, version)
    body = frames + b"\0" * padding
    return b"ID3" + bytes((version, 0, 0)) + _syncsafe(len(body)) + body


def _check_limits(version: int, chapters: Sequence[Chapter]) -> None:
    """Refuse what ID3 cannot hold before building any frame."""
    if version not in (3, 4):
        raise TaggingError(f"ID3v2.{version} is not supported; use 2.3 or 2.4.")
    if not chapters:
        raise TaggingError("an episode needs at least one chapter.")
    if len(chapters) > 255:
        # CTOC's entry count is 8-bit.
        raise TaggingError(f"{len(chapters)} chapters: ID3 allows at most 255.")


def _add_episode_frames(
    tags: ID3, info: EpisodeInfo, extra: Mapping[str, str], encoder: str
) -> None:
    """Add the text frames that describe the episode; empty values are left out."""
    tags.add(TIT2(encoding=3, text=info.title))
    if info.author:
        tags.add(TPE1(encoding=3, text=info.author))
    if info.podcast:
        tags.add(TALB(encoding=3, text=info.podcast))
    if info.episode is not None:
        tags.add(TRCK(encoding=3, text=str(info.episode)))
    if info.date:
        tags.add(TDRC(encoding=3, text=info.date))
    tags.add(TCON(encoding=3, text="Podcast"))
    tags.add(TLAN(encoding=3, text=info.language))
    if info.description:
        tags.add(COMM(encoding=3, lang="fra", desc="", text=info.description))
    if info.transcript:
        tags.add(USLT(encoding=3, lang="fra", desc="", text=info.transcript))
    if encoder:
        tags.add(TSSE(encoding=3, text=encoder))
    for key, value in extra.items():
        tags.add(TXXX(encoding=3, desc=key, text=value))


def _add_chapter_frames(
    tags: ID3, info: EpisodeInfo, chapters: Sequence[Chapter]
) -> list[str]:
    """Add one CHAP per chapter and the CTOC listing them; return their IDs."""
    ids = [chapter_id(i) for i in range(len(chapters))]
    for cid, chapter in zip(ids, chapters, strict=True):
        tags.add(
            CHAP(
                element_id=cid,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                # 0xFFFFFFFF: byte offsets unused; they go stale when tags grow.
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=_chapter_sub_frames(chapter),
            )
        )
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            # Some Apple readers reject a CTOC without its own TIT2.
            sub_frames=[TIT2(encoding=3, text=info.title)],
        )
    )
    return ids


def _chapter_sub_frames(chapter: Chapter) -> list[object]:
    """TIT2, then the chapter's URL (WXXX) and picture (APIC), as the ID3
    chapter addendum puts them and AntennaPod and Apple read them."""
    frames: list[object] = [TIT2(encoding=3, text=chapter.title)]
    if chapter.url:
        frames.append(_untyped(WXXX)(encoding=3, desc="", url=chapter.url))
    if chapter.picture is not None:
        frames.append(
            APIC(
                encoding=3,
                mime="image/jpeg",
                type=PictureType.OTHER,
                desc=chapter.picture.alt,
                data=chapter.picture.data,
            )
        )
    return frames


def _serialize(tags: ID3, ids: list[str], version: int) -> bytes:
    """Serialize the frames in `_ORDER`, then CHAPs in chapter order, CTOC, APIC.

    Called in :func:`render_id3`'s funnel, which reports what mutagen cannot
    write (e.g. a time beyond 32 bits).
    """
    config = ID3SaveConfig(version, "/")

    def rank(frame: object) -> tuple[int, int]:
        fid = type(frame).__name__
        if fid in _ORDER:
            return (0, _ORDER.index(fid))
        if fid == "CHAP":
            return (2, ids.index(str(getattr(frame, "element_id", ""))))
        if fid == "CTOC":
            return (3, 0)
        if fid == "APIC":
            return (4, 0)
        return (1, 0)

    frames = sorted(tags.values(), key=rank)  # stable: insertion order within a rank
    return b"".join(save_frame(f, config=config) for f in frames)


class _StreamInfo(Protocol):
    """What read_episode uses of mutagen's MPEGInfo (set in its untyped __init__)."""

    length: float
    bitrate: int
    bitrate_mode: int  # a mutagen.mp3.BitrateMode, an int subclass
    sample_rate: int
    channels: int


def _text(tags: ID3, key: str) -> str | None:
    frame = tags.get(key)
    if frame is None or not frame.text:
        return None
    return str(frame.text[0]).strip() or None


def _comment(tags: ID3) -> str | None:
    """The description: the COMM frame without a description key, else any."""
    comments = tags.getall("COMM")
    for frame in [c for c in comments if c.desc == ""] or comments:
        value = "\n".join(str(t) for t in frame.text).strip()
        if value:
            return value
    return None


def _front_cover(tags: ID3) -> tuple[bytes | None, str | None]:
    pictures = tags.getall("APIC")
    front = [p for p in pictures if p.type == PictureType.COVER_FRONT] or pictures
    if not front:
        return None, None
    mime = str(front[0].mime).lower()
    return bytes(front[0].data), "image/jpeg" if mime == "image/jpg" else mime


# What a rebuild reads of the previous output: small frames, not the cover
# (APIC, up to megabytes) or the transcript (USLT).
_SMALL_FRAMES = frozenset({b"TXXX", b"CHAP", b"CTOC"})


def _small_frames(path: Path) -> ID3:
    """The tag of ``path`` with only its TXXX, CHAP and CTOC frames.

    Frame headers are walked and other frames' bodies skipped with a seek, so
    the cover and transcript are never read. Tags this walk does not handle
    (ID3v2.2, unsynchronisation or an extended header: never what narrator
    writes) are read whole by mutagen.

    Raises:
        ID3NoHeaderError: the file has no ID3v2 tag.
        OSError, ValueError: the file cannot be read.
    """
    with path.open("rb") as f:
        head = f.read(10)
        if len(head) < 10 or head[:3] != b"ID3":
            raise ID3NoHeaderError(f"{path}: no ID3v2 tag")
        major, flags = head[3], head[5]
        if major not in (3, 4) or flags & 0xC0:
            return ID3(path)
        end = 10 + _unsyncsafe(head[6:10])
        kept = []
        pos = 10
        while pos + 10 <= end:
            f.seek(pos)
            header = f.read(10)
            if len(header) < 10 or header[0] == 0:
                break  # padding
            raw = header[4:8]
            size = _unsyncsafe(raw) if major == 4 else struct.unpack(">I", raw)[0]
            if header[:4] in _SMALL_FRAMES:
                kept.append(header + f.read(size))
            pos += 10 + size
    body = b"".join(kept)
    tag = head[:5] + b"\x00" + _syncsafe(len(body)) + body
    return ID3(io.BytesIO(tag))


def _unsyncsafe(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
    return value


def read_extra(path: Path) -> dict[str, str]:
    """Read only the TXXX frames (cheap: the cover and transcript are skipped,
    no audio parsing), {} if untagged.

    Raises:
        TaggingError: the tag cannot be read.
    """
    with _mutagen_call(lambda exc: f"{path}: cannot read ID3 tags: {exc}"):
        try:
            tags = _small_frames(path)
        except ID3NoHeaderError:
            return {}  # untagged: nothing recorded, which is not an error
    return {f.desc: str(f.text[0]) for f in tags.getall("TXXX") if f.text}


class _ChapFrame(Protocol):
    """What is read of a CHAP frame (mutagen's stubs do not declare it)."""

    element_id: str
    start_time: int
    end_time: int
    sub_frames: ID3


def _chapter(frame: _ChapFrame, *, media: bool = True) -> Chapter:
    """A CHAP frame as a chapter: its title (the element ID when it has none)
    and times, and with ``media`` its first picture and link."""
    title = frame.sub_frames.get("TIT2")
    name = str(title.text[0]) if title and title.text else str(frame.element_id)
    start, end = int(frame.start_time), int(frame.end_time)
    if not media:
        return Chapter(name, start, end)
    links = frame.sub_frames.getall("WXXX")
    pictures = frame.sub_frames.getall("APIC")
    return Chapter(
        name,
        start,
        end,
        # The picture's name is the file's beside the episode, which the tag
        # does not record.
        ChapterPicture("", bytes(pictures[0].data), str(pictures[0].desc))
        if pictures
        else None,
        str(links[0].url) if links else None,
    )


def _chapters(tags: ID3) -> tuple[Chapter, ...]:
    frames = sorted(tags.getall("CHAP"), key=lambda f: f.start_time)
    return tuple(_chapter(frame) for frame in frames)


def read_chapter_frames(path: Path) -> tuple[tuple[str, Chapter], ...]:
    """Each CHAP frame's element ID and chapter, in the tag's order (unsorted).

    What ``narrator check`` needs to see chapters as a player lists them;
    cheap like :func:`read_extra` (the cover and transcript are skipped).

    Raises:
        TaggingError: the tag cannot be read.
    """
    with _mutagen_call(lambda exc: f"{path}: cannot read ID3 tags: {exc}"):
        try:
            tags = _small_frames(path)
        except ID3NoHeaderError:
            return ()
        frames = tags.getall("CHAP")
        return tuple((str(f.element_id), _chapter(f, media=False)) for f in frames)


def read_chapters(path: Path) -> tuple[tuple[Chapter, ...], float]:
    """The chapters and duration (s) of an MP3, cheaply: what an up-to-date
    build reports, without reading the cover or the transcript.

    Raises:
        TaggingError: the file is not a readable MP3.
    """
    from mutagen.mp3 import MPEGInfo

    with _mutagen_call(lambda exc: f"{path}: not a readable MP3 ({exc})."):
        tags = _small_frames(path)
        with path.open("rb") as f:
            f.seek(0)
            head = f.read(10)
            offset = 10 + _unsyncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
            info = cast(_StreamInfo, MPEGInfo(f, offset))
    return _chapters(tags), float(info.length)


def read_episode(path: Path) -> EpisodeTags:
    """Read tags, chapters and stream facts back from an MP3.

    Raises:
        TaggingError: the file is not a readable MP3.
    """
    from mutagen.mp3 import MP3, BitrateMode

    with _mutagen_call(lambda exc: f"{path}: not a readable MP3 ({exc})."):
        audio = MP3(path)
        tags = audio.tags or ID3()
    chapters = _chapters(tags)
    toc: tuple[str, ...] = ()
    toc_flags = None
    for frame in tags.getall("CTOC"):
        if frame.flags & CTOCFlags.TOP_LEVEL:
            toc = tuple(frame.child_element_ids)
            toc_flags = int(frame.flags)
    date = _text(tags, "TDRC")
    uslt = tags.getall("USLT")
    cover, cover_mime = _front_cover(tags)
    # MP3.info is declared None on the FileType base; a loaded MP3 has one.
    info = cast(_StreamInfo, audio.info)
    mode = {
        BitrateMode.CBR: "CBR",
        BitrateMode.VBR: "VBR",
        BitrateMode.ABR: "ABR",
    }.get(info.bitrate_mode, "unknown")
    return EpisodeTags(
        title=_text(tags, "TIT2"),
        author=_text(tags, "TPE1"),
        podcast=_text(tags, "TALB"),
        date=date,
        episode=_text(tags, "TRCK"),
        description=_comment(tags),
        language=_text(tags, "TLAN"),
        chapters=chapters,
        toc=toc,
        toc_flags=toc_flags,
        extra={f.desc: str(f.text[0]) for f in tags.getall("TXXX") if f.text},
        cover_mime=cover_mime,
        cover_bytes=len(cover) if cover else 0,
        cover=cover,
        transcript_chars=len(uslt[0].text) if uslt else 0,
        id3_version=".".join(map(str, tags.version)) if audio.tags else "",
        duration_s=float(info.length),
        bitrate_kbps=int(info.bitrate // 1000),
        bitrate_mode=mode,
        sample_rate=int(info.sample_rate),
        channels=int(info.channels),
        has_info_header=bool(getattr(info, "encoder_info", "")) or mode == "CBR",
    )
