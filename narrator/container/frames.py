"""MP3 frames: the episode's format, reading Layer III headers, frame arithmetic.

The bottom of the container package (it imports only ``errors`` and the
header tables of :mod:`narrator.container.mpeg`): the audio package sizes its
pauses with these names, and encoding and splicing build on them.

Timing contract (measured with ffmpeg 9 / LAME 3.100 and checked by
``tests/test_mp3.py``):

* libmp3lame delays its input by ``LAME_ENCODER_DELAY`` (576) samples and an
  MPEG decoder adds ``DECODER_DELAY`` (529) more. A segment of ``n`` input
  samples becomes ``frames`` frames with ``frames * frame_samples - 576 - n``
  samples of padding (LAME pads to at least 576 and less than
  576 + frame_samples).
* The Info frame's LAME tag carries encoder delay 576 and padding
  ``frames_last * fs - 576 - samples_last`` for the whole file. A gapless
  decoder (ffmpeg, ExoPlayer, Apple) skips ``576 + 529`` samples at the start
  and ``padding - 529`` at the end, so in the decoded timeline segment ``k``'s
  input sample 0 plays at exactly ``sum(frames of segments < k) * fs`` and the
  decoded length is ``sum(frames[:-1]) * fs + samples_last``. Chapter times
  must therefore come from frame counts (``splice.plan_splice``), not from the
  PCM length of each section: every segment occupies ``frames * fs`` samples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from narrator.container.mpeg import (
    MONO,
    SAMPLE_RATES,
    VERSION_BY_ID,
    bitrates_kbps,
    frame_size,
    version_of,
)
from narrator.errors import AudioError, ConfigError

LAME_ENCODER_DELAY = 576
"""Samples of silence libmp3lame puts before the input (LAME 3.100)."""

DECODER_DELAY = 529
"""Samples an MPEG Layer III decoder outputs before the encoder's first one."""

COPY_CHUNK_BYTES = 1 << 20
"""Bytes copied at a time from a segment file: memory stays flat."""


@dataclass(frozen=True)
class Mp3Format:
    """The encoding every segment of one episode shares.

    Raises:
        ConfigError: a sample rate, channel count or bitrate MP3 cannot carry.
    """

    sample_rate: int = 44100
    channels: int = 1
    bitrate_kbps: int = 64

    def __post_init__(self) -> None:
        version = version_of(self.sample_rate)
        if version is None:
            rates = sorted(r for rs in SAMPLE_RATES.values() for r in rs)
            raise ConfigError(
                f"MP3 cannot carry a sample rate of {self.sample_rate} Hz; "
                f"choose one of {rates}."
            )
        if self.channels not in (1, 2):
            raise ConfigError(
                f"MP3 output must be mono or stereo, not {self.channels} channels."
            )
        allowed = bitrates_kbps(version)[1:]
        if self.bitrate_kbps not in allowed:
            raise ConfigError(
                f"{self.bitrate_kbps} kbps is not an MP3 bitrate at "
                f"{self.sample_rate} Hz; choose one of {list(allowed)}."
            )

    @property
    def mpeg_version(self) -> int:
        """Return 1, 2 or 25 (MPEG-2.5), which the sample rate decides."""
        version = version_of(self.sample_rate)
        if version is None:  # pragma: no cover - rejected in __post_init__
            raise ConfigError(f"unsupported sample rate {self.sample_rate}")
        return version


@dataclass(frozen=True)
class EncodedSegment:
    """Raw MP3 frames of one segment, as ``encode.encode_segment`` wrote them.

    ``samples`` counts the PCM sample frames fed in (per channel); the segment
    occupies ``frames * frame_samples(fmt)`` samples of the episode timeline.
    ``crc16`` is the CRC-16 of the file's bytes (the LAME tag's music CRC is
    combined from it); ``None`` makes ``splice.splice`` compute it. ``offset``
    is where the frames begin in ``path`` (a cache entry keeps a header before
    them).
    """

    path: Path
    frames: int
    samples: int
    size_bytes: int
    crc16: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class FrameHeader:
    """The fields of one Layer III frame header that a CBR stream must keep."""

    version: int
    bitrate_kbps: int
    sample_rate: int
    padding: int
    protected: bool
    mode: int
    size_bytes: int


def frame_samples(fmt: Mp3Format) -> int:
    """Return samples per channel in one Layer III frame of ``fmt``.

    1152 for MPEG-1 (32/44.1/48 kHz), 576 for MPEG-2 and 2.5 (lower rates).
    """
    return 1152 if fmt.mpeg_version == 1 else 576


def expected_frames(samples: int, fmt: Mp3Format) -> int:
    """Return how many frames libmp3lame makes of ``samples`` input samples.

    LAME adds its 576-sample delay and pads the end with at least 576 samples,
    so ``ceil((samples + 1152) / frame_samples)``. Planning with it lets a
    caller size pauses so a segment's span (``frames * frame_samples``) is
    what it wants; ``encode.encode_segment`` reports the real count.
    """
    fs = frame_samples(fmt)
    return -(-(samples + 2 * LAME_ENCODER_DELAY) // fs)


def fill_to_frame(samples: int, fmt: Mp3Format) -> int:
    """Return how many silent samples to append to end on a frame boundary.

    A segment whose length is a whole number of frames gets LAME's minimum
    padding (576 samples), so it spans exactly ``samples + 1152`` samples.
    Worth doing for the last segment: ffprobe 5.x reports a duration of
    ``total_frames * frame_samples`` (it ignores the padding the LAME tag
    declares), i.e. ``576 + padding`` samples more than the real length;
    that is 26 ms at 44.1 kHz with the minimum padding, up to 52 ms without.
    """
    return -samples % frame_samples(fmt)


def parse_header(data: bytes | memoryview, offset: int) -> FrameHeader | None:
    """Decode the 4-byte Layer III header at ``offset``, or None if invalid."""
    if offset + 4 > len(data):
        return None
    return _header_of(int.from_bytes(data[offset : offset + 4], "big"))


@functools.lru_cache(maxsize=256)
def _header_of(word: int) -> FrameHeader | None:
    """Decode a header from its 32 bits.

    Cached: a CBR stream has a handful of distinct headers (padding and mode
    bits), and an episode has tens of thousands of frames, each read twice
    on validation; decoding each from scratch was a tenth of a cold build.
    """
    b0, b1, b2, b3 = word >> 24, (word >> 16) & 0xFF, (word >> 8) & 0xFF, word & 0xFF
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version = VERSION_BY_ID.get((b1 >> 3) & 3)
    if version is None or (b1 >> 1) & 3 != 1:  # reserved version, not Layer III
        return None
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 3
    if bitrate_index in (0, 15) or rate_index == 3 or (b3 & 3) == 2:
        return None  # free format, bad bitrate, bad rate, reserved emphasis
    bitrate = bitrates_kbps(version)[bitrate_index]
    sample_rate = SAMPLE_RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    return FrameHeader(
        version=version,
        bitrate_kbps=bitrate,
        sample_rate=sample_rate,
        padding=padding,
        protected=not (b1 & 1),
        mode=b3 >> 6,
        size_bytes=frame_size(version, bitrate, sample_rate, padding),
    )


def scan_frames(
    data: bytes | memoryview, fmt: Mp3Format | None = None, *, name: str = "MP3 data"
) -> list[int]:
    """Return the byte offsets of the MPEG audio frames that make up ``data``.

    ``data`` must be nothing but whole Layer III frames of one CBR stream: the
    same version, sample rate, bitrate and channel count throughout (and those
    of ``fmt`` when given). This is how a damaged segment file is caught
    before it is spliced into an episode.

    Raises:
        AudioError: empty data, junk, a bad or inconsistent header, or a
            truncated last frame.
    """
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if len(view) == 0:
        raise AudioError(f"{name} is empty; re-encode it.")
    first = parse_header(view, 0)
    if first is None:
        raise AudioError(f"{name} does not start with an MP3 frame; re-encode it.")
    if fmt is not None:
        _check_format(first, fmt, name)
    offsets: list[int] = []
    offset = 0
    end = len(view)
    while offset < end:
        header = parse_header(view, offset)
        if header is None:
            raise AudioError(
                f"{name}: no valid MP3 frame header at byte {offset} "
                f"(frame {len(offsets)}); the file is damaged, re-encode it."
            )
        if (
            header.version != first.version
            or header.sample_rate != first.sample_rate
            or header.bitrate_kbps != first.bitrate_kbps
            or (header.mode == MONO) != (first.mode == MONO)
        ):
            raise AudioError(
                f"{name}: frame {len(offsets)} at byte {offset} changes format "
                f"({header.bitrate_kbps} kbps {header.sample_rate} Hz after "
                f"{first.bitrate_kbps} kbps {first.sample_rate} Hz); re-encode it."
            )
        if offset + header.size_bytes > end:
            raise AudioError(
                f"{name}: last frame at byte {offset} is truncated "
                f"({end - offset} of {header.size_bytes} bytes); re-encode it."
            )
        offsets.append(offset)
        offset += header.size_bytes
    return offsets


def _check_format(header: FrameHeader, fmt: Mp3Format, name: str) -> None:
    channels = 1 if header.mode == MONO else 2
    if (header.sample_rate, channels, header.bitrate_kbps) != (
        fmt.sample_rate,
        fmt.channels,
        fmt.bitrate_kbps,
    ):
        raise AudioError(
            f"{name} is {header.sample_rate} Hz, {channels} channel(s), "
            f"{header.bitrate_kbps} kbps but the episode is {fmt.sample_rate} Hz, "
            f"{fmt.channels} channel(s), {fmt.bitrate_kbps} kbps; re-encode it."
        )


def main_data_begin(data: bytes | memoryview, offset: int, header: FrameHeader) -> int:
    """Return the bit-reservoir back pointer of the frame at ``offset``."""
    side = offset + 4 + (2 if header.protected else 0)
    word = (data[side] << 8) | data[side + 1]
    return word >> 7 if header.version == 1 else word >> 8


def copy_segment(segment: EncodedSegment, out: BinaryIO) -> None:
    """Copy a segment's frames to ``out`` in chunks (a segment may be hours long).

    Raises:
        AudioError: the file holds fewer bytes than its record says.
    """
    with segment.path.open("rb") as source:
        source.seek(segment.offset)
        remaining = segment.size_bytes
        while remaining:
            chunk = source.read(min(remaining, COPY_CHUNK_BYTES))
            if not chunk:
                raise AudioError(f"MP3 segment {segment.path} is truncated.")
            out.write(chunk)
            remaining -= len(chunk)
