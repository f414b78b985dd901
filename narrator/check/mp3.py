"""The MP3 rules: CTOC, ID3v2.4 chapter titles, the VBR header, cover, chapters.

Read with the project's own readers: the ID3 tag through ``container.tags``
(the mutagen boundary), the audio frames with ``container.frames``'
header decoder. Nothing is decoded: the tag, the first frame and, only when
that frame holds no Xing/Info/VBRI header, the headers of the first few
megabytes of frames (to tell VBR from CBR) are read.
"""

from __future__ import annotations

from pathlib import Path

from narrator.check.art import cover_problems
from narrator.check.chapters import chapter_problems, sidecar_problems
from narrator.check.rules import MAX_V24_TITLE_CHARS, Problem, problem
from narrator.container.frames import parse_header
from narrator.container.tags import read_chapter_frames, read_episode
from narrator.model import Chapter, EpisodeTags

# Frame headers walked to tell VBR from CBR when no header says: enough for
# LAME's VBR to vary its bitrate many times, bounded whatever the file's length.
SCAN_BYTES = 2 << 20
# A VBR header sits after the side information, within this many bytes.
_HEADER_WINDOW = 64


def check_mp3(path: Path) -> list[Problem]:
    """Every MP3 rule on the file at ``path``.

    Raises:
        TaggingError: the file is not a readable MP3.
    """
    tags = read_episode(path)
    frames = read_chapter_frames(path)
    found = _toc_problems(tags, frames)
    listed = _listed_order(tags, frames)
    if tags.id3_version.startswith("2.4"):
        long = [c.title for c in listed if len(c.title) > MAX_V24_TITLE_CHARS]
        if long:
            found.append(
                problem(
                    "id3v24-long-chapter-title",
                    f"ID3v2.4 with {len(long)} chapter title(s) over "
                    f"{MAX_V24_TITLE_CHARS} characters, e.g. {long[0]!r}.",
                )
            )
    found += _vbr_problems(path)
    if tags.cover is not None:
        found += cover_problems(tags.cover)
    found += chapter_problems(listed, int(round(tags.duration_s * 1000)))
    found += sidecar_problems(path, tags.chapters)
    return found


def _toc_problems(
    tags: EpisodeTags, frames: tuple[tuple[str, Chapter], ...]
) -> list[Problem]:
    if not frames:
        return []
    if not tags.toc:
        return [
            problem(
                "chapters-no-ctoc",
                f"{len(frames)} CHAP frames but no top-level CTOC frame.",
            )
        ]
    missing = [i for i, _ in frames if i not in tags.toc]
    if missing:
        return [
            problem(
                "chapters-no-ctoc",
                f"the top-level CTOC leaves out {len(missing)} of {len(frames)} "
                f"chapters ({', '.join(missing[:3])}).",
            )
        ]
    return []


def _listed_order(
    tags: EpisodeTags, frames: tuple[tuple[str, Chapter], ...]
) -> list[Chapter]:
    """The chapters as a player lists them: the CTOC's order, else the tag's."""
    by_id = dict(frames)
    if tags.toc:
        return [by_id[i] for i in tags.toc if i in by_id]
    return [c for _, c in frames]


def _vbr_problems(path: Path) -> list[Problem]:
    data = _audio_head(path)
    first = parse_header(data, 0)
    if first is None:
        return []  # no frame where the tag ends: mutagen found one elsewhere
    window = data[4 : 4 + _HEADER_WINDOW]
    if b"Xing" in window or b"Info" in window or b"VBRI" in window:
        return []
    rates, offset = set(), 0
    while (header := parse_header(data, offset)) is not None:
        rates.add(header.bitrate_kbps)
        offset += header.size_bytes
    if len(rates) > 1:
        return [
            problem(
                "vbr-no-xing",
                f"the bitrate varies ({min(rates)}-{max(rates)} kbps) and the first "
                "frame holds no Xing/Info header: players guess the duration and "
                "seek off.",
            )
        ]
    return []


def _audio_head(path: Path) -> bytes:
    """The first :data:`SCAN_BYTES` after the ID3v2 tag."""
    with path.open("rb") as handle:
        head = handle.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":
            size = 0
            for byte in head[6:10]:
                size = (size << 7) | (byte & 0x7F)
            start = 10 + size + (10 if head[5] & 0x10 else 0)
        handle.seek(start)
        return handle.read(SCAN_BYTES)
