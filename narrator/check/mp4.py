"""The M4A/M4B rules: both chapter formats, edit list against iTunSMPB, cover.

Players read one MP4 chapter format or the other (Libation#332): Apple's
apps the QuickTime chapter track the audio track points to (``tref/chap``),
others Nero's ``moov/udta/chpl``; a file meant for every app has both.
AAC's encoder priming must be hidden, by an edit list whose media time is
the priming and whose duration is the audio's (what iTunSMPB says too), or
players report a longer file and chapters drift. Structure is read with
``container.boxes`` (headers, and a few small payloads), items with
``container.mp4tags`` (the mutagen boundary).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from narrator.check.art import cover_problems
from narrator.check.chapters import chapter_problems, sidecar_problems
from narrator.check.rules import Problem, problem
from narrator.container.boxes import Box, find, walk
from narrator.container.mp4tags import read_chapters, read_facts

# One AAC frame: how far the edit list's duration may be from iTunSMPB's.
_FRAME_SAMPLES = 1024


def check_mp4(path: Path) -> list[Problem]:
    """Every MP4 rule on the file at ``path``.

    Raises:
        TaggingError: mutagen cannot read the file.
        AudioError: its boxes are damaged.
    """
    with path.open("rb") as handle:
        boxes = list(walk(handle))
        edit = _audio_edit(handle, boxes)
        movie_scale = _timescale(handle, find(boxes, "moov/mvhd"))
    chapters, duration_s = read_chapters(path)
    facts = read_facts(path)
    found = _format_problems(boxes, bool(chapters))
    found += _edit_problems(edit, movie_scale, facts.smpb, facts.sample_rate)
    if facts.cover is not None:
        found += cover_problems(facts.cover)
    found += chapter_problems(chapters, int(round(duration_s * 1000)))
    found += sidecar_problems(path, chapters)
    return found


def _format_problems(boxes: list[Box], has_nero: bool) -> list[Problem]:
    chpl = has_nero or bool(find(boxes, "moov/udta/chpl"))
    tref = bool(find(boxes, "moov/trak/tref/chap"))
    if chpl == tref:
        return []
    have, lack = (
        ("Nero chpl", "QuickTime chapter track")
        if chpl
        else (
            "QuickTime chapter track (tref/chap)",
            "Nero chpl",
        )
    )
    return [problem("mp4-one-chapter-format", f"chapters as a {have} only, no {lack}.")]


def _inside(box: Box, outer: Box) -> bool:
    return outer.start <= box.offset < outer.end


def _audio_edit(
    handle: BinaryIO, boxes: list[Box]
) -> tuple[int, int, int] | None | bool:
    """The sound track's first edit (duration, media time, media timescale).

    False when there is no sound track, None when it has no edit list.
    """
    for trak in find(boxes, "moov/trak"):
        inner = [b for b in boxes if _inside(b, trak)]
        hdlr = find(inner, "moov/trak/mdia/hdlr")
        if not hdlr or hdlr[0].payload(handle)[8:12] != b"soun":
            continue
        media_scale = _timescale(handle, find(inner, "moov/trak/mdia/mdhd"))
        elst = find(inner, "moov/trak/edts/elst")
        if not elst:
            return None
        data = elst[0].payload(handle)
        entries = [e for e in _edits(data) if e[1] != -1]  # -1: an empty edit
        if not entries:
            return None
        return entries[0][0], entries[0][1], media_scale
    return False


def _edits(data: bytes) -> list[tuple[int, int]]:
    if len(data) < 8:
        return []
    version, count = data[0], struct.unpack(">I", data[4:8])[0]
    layout = struct.Struct(">Qq4x" if version == 1 else ">Ii4x")
    out = []
    for i in range(min(count, (len(data) - 8) // layout.size)):
        duration, media_time = layout.unpack_from(data, 8 + i * layout.size)
        out.append((int(duration), int(media_time)))
    return out


def _timescale(handle: BinaryIO, header: list[Box]) -> int:
    """The timescale of an ``mvhd`` or ``mdhd`` (0 when absent or cut)."""
    if not header:
        return 0
    data = header[0].payload(handle)
    at = 20 if data[:1] == b"\x01" else 12
    if len(data) < at + 4:
        return 0
    return int(struct.unpack(">I", data[at : at + 4])[0])


def _edit_problems(
    edit: tuple[int, int, int] | None | bool,
    movie_scale: int,
    smpb: tuple[int, int, int] | None,
    rate: int,
) -> list[Problem]:
    if edit is False:
        return [problem("unreadable", "no audio track.")]
    if edit is None or edit is True:
        if smpb is None:
            return [
                problem(
                    "mp4-duration",
                    "neither an edit list nor iTunSMPB hides the encoder priming: "
                    "players count it in the duration.",
                )
            ]
        return []
    duration, media_time, media_scale = edit
    if smpb is None or not movie_scale or not media_scale or not rate:
        return []
    priming, _, samples = smpb
    found = []
    if abs(media_time * rate / media_scale - priming) > 1:
        found.append(
            problem(
                "mp4-duration",
                f"the edit list skips {media_time} samples, iTunSMPB says "
                f"{priming} of priming.",
            )
        )
    edit_samples = duration * rate / movie_scale
    if abs(edit_samples - samples) > _FRAME_SAMPLES:
        found.append(
            problem(
                "mp4-duration",
                f"the edit list plays {edit_samples / rate:.3f} s, iTunSMPB says "
                f"{samples / rate:.3f} s of audio.",
            )
        )
    return found
