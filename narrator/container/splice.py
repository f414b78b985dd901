"""Splice encoded segments into one episode file, streaming; plan it first.

The episode file is::

    [ID3v2 tag from the caller] [one Info frame built here] [frames of seg 0]
    [frames of seg 1] ...

Splicing raw frames is valid because every segment starts with an empty bit
reservoir (its first frame has ``main_data_begin == 0``, checked on encode),
so no frame borrows bytes across a splice, and the splice points lie in the
silence that pads each segment. Where each segment then plays follows from
frame counts alone (the timing contract in :mod:`narrator.container.frames`):
:func:`plan_splice` gives it before anything is written, as the chapters and
the tag that holds them come before the audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from narrator.container.crc import crc16_combine, file_crc16
from narrator.container.frames import (
    LAME_ENCODER_DELAY,
    EncodedSegment,
    Mp3Format,
    copy_segment,
    frame_samples,
)
from narrator.container.info import info_frame, info_frame_size
from narrator.errors import AudioError


@dataclass(frozen=True)
class SpliceResult:
    """Where things landed in a spliced episode.

    ``segment_starts`` are first-sample offsets of each segment in the gapless
    decoded timeline; ``audio_offset`` is the byte offset of the Info frame
    (the size of the ID3v2 tag before it).
    """

    total_frames: int
    audio_bytes: int
    duration_samples: int
    segment_starts: tuple[int, ...]
    audio_offset: int

    def segment_starts_ms(self, sample_rate: int) -> tuple[float, ...]:
        """Return the segment starts in milliseconds (for ID3 CHAP times)."""
        return tuple(s * 1000 / sample_rate for s in self.segment_starts)


def plan_splice(
    segments: Sequence[EncodedSegment], fmt: Mp3Format, *, id3_size: int = 0
) -> SpliceResult:
    """Return where each segment will start, without writing anything.

    Chapter times are needed before the ID3 tag, and the tag before the
    splice; this gives them from frame counts alone.

    Raises:
        AudioError: no segments.
    """
    if not segments:
        raise AudioError("no audio segments to splice.")
    fs = frame_samples(fmt)
    starts: list[int] = []
    position = 0
    for segment in segments:
        starts.append(position)
        position += segment.frames * fs
    last = segments[-1]
    total_frames = sum(s.frames for s in segments)
    return SpliceResult(
        total_frames=total_frames,
        audio_bytes=info_frame_size(fmt) + sum(s.size_bytes for s in segments),
        duration_samples=starts[-1] + last.samples,
        segment_starts=tuple(starts),
        audio_offset=id3_size,
    )


def splice(
    segments: Sequence[EncodedSegment],
    fmt: Mp3Format,
    out: BinaryIO,
    *,
    id3: bytes = b"",
) -> SpliceResult:
    """Write ``id3``, one Info frame and every segment's frames to ``out``.

    Segment files are copied in chunks, so memory does not grow with the
    episode. Each file's size is checked against its record first, so a file
    replaced or truncated since it was encoded is refused rather than
    spliced. ``out`` should be a temporary file the caller renames.

    Raises:
        AudioError: no segments, a segment file missing or changed, ``id3``
            that is not an ID3v2 tag, or a write failure.
    """
    if id3 and not id3.startswith(b"ID3"):
        raise AudioError("the tag passed to splice is not an ID3v2 tag.")
    plan = plan_splice(segments, fmt, id3_size=len(id3))
    fs = frame_samples(fmt)
    last = segments[-1]
    padding = last.frames * fs - LAME_ENCODER_DELAY - last.samples
    music_crc = 0
    for segment in segments:
        _check_segment_file(segment)
        segment_crc = segment.crc16
        if segment_crc is None:
            segment_crc = file_crc16(segment.path, segment.offset, segment.size_bytes)
        music_crc = crc16_combine(music_crc, segment_crc, segment.size_bytes)
    frame = info_frame(
        fmt,
        total_frames=plan.total_frames,
        audio_bytes=plan.audio_bytes,
        enc_delay=LAME_ENCODER_DELAY,
        enc_padding=padding,
        music_crc=music_crc,
    )
    try:
        out.write(id3)
        out.write(frame)
        for segment in segments:
            copy_segment(segment, out)
    except OSError as exc:
        raise AudioError(f"cannot write the episode MP3: {exc}") from exc
    return plan


def _check_segment_file(segment: EncodedSegment) -> None:
    try:
        size = segment.path.stat().st_size
    except OSError as exc:
        raise AudioError(f"MP3 segment {segment.path} is missing: {exc}") from exc
    if size != segment.offset + segment.size_bytes:
        raise AudioError(
            f"MP3 segment {segment.path} is {size} bytes, expected "
            f"{segment.size_bytes}; it changed since it was encoded, re-encode it."
        )
