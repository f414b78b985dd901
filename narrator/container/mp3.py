"""Encode sections to CBR MP3 segments and splice them into one episode file.

Why segments: once synthesis is cached, re-encoding a whole long episode
dominates a rebuild. Each segment (one section, or an intro/outro) is encoded
on its own with identical settings to raw CBR frames (no ID3, no Xing/Info
frame), so a one-section edit re-encodes only that section and the episode
is re-spliced by a streaming copy.

The episode file is::

    [ID3v2 tag from the caller] [one Info frame built here] [frames of seg 0]
    [frames of seg 1] ...

Splicing raw frames is valid because every segment starts with an empty bit
reservoir (its first frame has ``main_data_begin == 0``, checked on encode),
so no frame borrows bytes across a splice, and the splice points lie in the
silence that pads each segment.

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
  must therefore come from frame counts (:func:`plan_splice`), not from the
  PCM length of each section: every segment occupies ``frames * fs`` samples.
"""

from __future__ import annotations

import functools
import logging
import os
import struct
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from narrator.errors import AudioError, ConfigError
from narrator.ffmpeg import SAMPLE_BYTES, PcmFormat, encode_mp3, stream_pcm

log = logging.getLogger(__name__)

LAME_ENCODER_DELAY = 576
"""Samples of silence libmp3lame puts before the input (LAME 3.100)."""

DECODER_DELAY = 529
"""Samples an MPEG Layer III decoder outputs before the encoder's first one."""

LAME_VERSION = b"LAME3.100"
"""Encoder string of the LAME tag: the libmp3lame bundled with ffmpeg."""

_COPY_CHUNK_BYTES = 1 << 20

# MPEG version id (2 header bits) -> our version key: 1, 2 or 25 (MPEG-2.5).
_VERSION_BY_ID = {3: 1, 2: 2, 0: 25}
_VERSION_ID = {1: 3, 2: 2, 25: 0}
_SAMPLE_RATES = {
    1: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    25: (11025, 12000, 8000),
}
_BITRATES_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MONO = 3  # channel mode bits of a single-channel frame
_JOINT_STEREO = 1  # what libmp3lame writes for two channels by default

# LAME 3.100's automatic CBR lowpass (lame.c optimum_bandwidth), in Hz, by
# total bitrate; mono CBR gets 1.5 times this, capped below Nyquist.
_LOWPASS_HZ = (
    (8, 2000),
    (16, 3700),
    (24, 3900),
    (32, 5500),
    (40, 7000),
    (48, 7500),
    (56, 10000),
    (64, 11000),
    (80, 13500),
    (96, 15100),
    (112, 15600),
    (128, 17000),
    (160, 17500),
    (192, 18600),
    (224, 19400),
    (256, 19700),
    (320, 20500),
)


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
        version = _version_of(self.sample_rate)
        if version is None:
            rates = sorted(r for rs in _SAMPLE_RATES.values() for r in rs)
            raise ConfigError(
                f"MP3 cannot carry a sample rate of {self.sample_rate} Hz; "
                f"choose one of {rates}."
            )
        if self.channels not in (1, 2):
            raise ConfigError(
                f"MP3 output must be mono or stereo, not {self.channels} channels."
            )
        allowed = _BITRATES_KBPS[1 if version == 1 else 2][1:]
        if self.bitrate_kbps not in allowed:
            raise ConfigError(
                f"{self.bitrate_kbps} kbps is not an MP3 bitrate at "
                f"{self.sample_rate} Hz; choose one of {list(allowed)}."
            )

    @property
    def mpeg_version(self) -> int:
        """Return 1, 2 or 25 (MPEG-2.5), which the sample rate decides."""
        version = _version_of(self.sample_rate)
        if version is None:  # pragma: no cover - rejected in __post_init__
            raise ConfigError(f"unsupported sample rate {self.sample_rate}")
        return version


@dataclass(frozen=True)
class EncodedSegment:
    """Raw MP3 frames of one segment, as :func:`encode_segment` wrote them.

    ``samples`` counts the PCM sample frames fed in (per channel); the segment
    occupies ``frames * frame_samples(fmt)`` samples of the episode timeline.
    ``crc16`` is the CRC-16 of the file's bytes (the LAME tag's music CRC is
    combined from it); ``None`` makes :func:`splice` compute it. ``offset`` is
    where the frames begin in ``path`` (a cache entry keeps a header before them).
    """

    path: Path
    frames: int
    samples: int
    size_bytes: int
    crc16: int | None = None
    offset: int = 0


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


@dataclass(frozen=True)
class _Header:
    version: int
    bitrate_kbps: int
    sample_rate: int
    padding: int
    protected: bool
    mode: int
    size_bytes: int


def _version_of(sample_rate: int) -> int | None:
    for version, rates in _SAMPLE_RATES.items():
        if sample_rate in rates:
            return version
    return None


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
    what it wants; :func:`encode_segment` reports the real count.
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


def _frame_size(version: int, bitrate_kbps: int, sample_rate: int, pad: int) -> int:
    coefficient = 144 if version == 1 else 72
    return coefficient * bitrate_kbps * 1000 // sample_rate + pad


def _parse_header(data: bytes | memoryview, offset: int) -> _Header | None:
    """Decode the 4-byte Layer III header at ``offset``, or None if invalid."""
    if offset + 4 > len(data):
        return None
    return _header_of(int.from_bytes(data[offset : offset + 4], "big"))


@functools.lru_cache(maxsize=256)
def _header_of(word: int) -> _Header | None:
    """Decode a header from its 32 bits.

    Cached: a CBR stream has a handful of distinct headers (padding and mode
    bits), and an episode has tens of thousands of frames, each read twice
    on validation; decoding each from scratch was a tenth of a cold build.
    """
    b0, b1, b2, b3 = word >> 24, (word >> 16) & 0xFF, (word >> 8) & 0xFF, word & 0xFF
    if b0 != 0xFF or (b1 & 0xE0) != 0xE0:
        return None
    version = _VERSION_BY_ID.get((b1 >> 3) & 3)
    if version is None or (b1 >> 1) & 3 != 1:  # reserved version, not Layer III
        return None
    bitrate_index = b2 >> 4
    rate_index = (b2 >> 2) & 3
    if bitrate_index in (0, 15) or rate_index == 3 or (b3 & 3) == 2:
        return None  # free format, bad bitrate, bad rate, reserved emphasis
    bitrate = _BITRATES_KBPS[1 if version == 1 else 2][bitrate_index]
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (b2 >> 1) & 1
    return _Header(
        version=version,
        bitrate_kbps=bitrate,
        sample_rate=sample_rate,
        padding=padding,
        protected=not (b1 & 1),
        mode=b3 >> 6,
        size_bytes=_frame_size(version, bitrate, sample_rate, padding),
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
    first = _parse_header(view, 0)
    if first is None:
        raise AudioError(f"{name} does not start with an MP3 frame; re-encode it.")
    if fmt is not None:
        _check_format(first, fmt, name)
    offsets: list[int] = []
    offset = 0
    end = len(view)
    while offset < end:
        header = _parse_header(view, offset)
        if header is None:
            raise AudioError(
                f"{name}: no valid MP3 frame header at byte {offset} "
                f"(frame {len(offsets)}); the file is damaged, re-encode it."
            )
        if (
            header.version != first.version
            or header.sample_rate != first.sample_rate
            or header.bitrate_kbps != first.bitrate_kbps
            or (header.mode == _MONO) != (first.mode == _MONO)
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


def _check_format(header: _Header, fmt: Mp3Format, name: str) -> None:
    channels = 1 if header.mode == _MONO else 2
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


def _main_data_begin(data: bytes | memoryview, offset: int, header: _Header) -> int:
    """Return the bit-reservoir back pointer of the frame at ``offset``."""
    side = offset + 4 + (2 if header.protected else 0)
    word = (data[side] << 8) | data[side + 1]
    return word >> 7 if header.version == 1 else word >> 8


def encode_segment(
    pcm_chunks: Iterable[bytes],
    fmt: Mp3Format,
    out_path: Path,
    *,
    sample_format: PcmFormat = "s16le",
) -> EncodedSegment:
    """Encode interleaved PCM to raw CBR MP3 frames at ``out_path``.

    ``sample_format`` is ``s16le`` or ``f32le`` (float full scale, what the
    build's mastering emits: LAME works in float, so nothing is rounded).

    The chunks are streamed into ffmpeg's stdin, so memory stays bounded by a
    chunk. The file is written under a temporary name in the same directory
    and renamed into place, so ``out_path`` is never partial. The frames are
    then checked: one CBR format matching ``fmt``, and a first frame that
    borrows nothing from a bit reservoir (what makes splicing valid).

    Raises:
        AudioError: ffmpeg missing or failing (its last message is quoted),
            PCM that is empty or not whole sample frames, or unexpected output.
    """
    out_path = Path(out_path)
    tmp_path = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:12]}.tmp")
    width = SAMPLE_BYTES.get(sample_format)
    if width is None:
        raise ValueError(f"unknown PCM sample format {sample_format!r}")
    bytes_per_frame = width * fmt.channels
    try:
        fed = encode_mp3(
            pcm_chunks,
            tmp_path,
            sample_rate=fmt.sample_rate,
            channels=fmt.channels,
            bitrate_kbps=fmt.bitrate_kbps,
            sample_format=sample_format,
        )
        if fed % bytes_per_frame:
            raise AudioError(
                f"PCM for {out_path.name} is {fed} bytes, not whole "
                f"{fmt.channels}-channel {8 * width}-bit sample frames."
            )
        samples = fed // bytes_per_frame
        if samples == 0:
            raise AudioError(f"no PCM to encode for {out_path.name}.")
        segment = _validate_segment_file(tmp_path, fmt, samples, name=out_path.name)
        os.replace(tmp_path, out_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return EncodedSegment(
        path=out_path,
        frames=segment.frames,
        samples=samples,
        size_bytes=segment.size_bytes,
        crc16=segment.crc16,
    )


def join_parts(
    parts: Sequence[EncodedSegment], fmt: Mp3Format, out_path: Path, samples: int
) -> EncodedSegment:
    """One segment made of parts encoded one by one: their frames in order.

    Each part is a whole LAME stream ending on a frame boundary, as a segment
    is; within the joined segment a part so spans ``LAME_ENCODER_DELAY`` + 576
    samples more than its PCM, and ``samples`` (the segment's length counted
    that way) must leave the last part's padding: that is checked. Written
    under a temporary name and renamed, copied in chunks.

    Raises:
        AudioError: no parts, a part without its CRC, or ``samples`` that do
            not fit the frames.
    """
    if not parts:
        raise AudioError(f"no parts to join into {out_path.name}.")
    out_path = Path(out_path)
    tmp_path = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:12]}.tmp")
    frames = size = crc = 0
    try:
        with tmp_path.open("wb") as out:
            for part in parts:
                if part.crc16 is None:
                    raise AudioError(f"{part.path.name} has no CRC to join with.")
                _copy_segment(part, out)
                crc = crc16_combine(crc, part.crc16, part.size_bytes)
                frames += part.frames
                size += part.size_bytes
        _check_padding(frames, fmt, samples, out_path.name)
        os.replace(tmp_path, out_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return EncodedSegment(
        path=out_path, frames=frames, samples=samples, size_bytes=size, crc16=crc
    )


def _copy_segment(segment: EncodedSegment, out: BinaryIO) -> None:
    """Copy a segment's frames to ``out`` in chunks (a segment may be hours long).

    Raises:
        AudioError: the file holds fewer bytes than its record says.
    """
    with segment.path.open("rb") as source:
        source.seek(segment.offset)
        remaining = segment.size_bytes
        while remaining:
            chunk = source.read(min(remaining, _COPY_CHUNK_BYTES))
            if not chunk:
                raise AudioError(f"MP3 segment {segment.path} is truncated.")
            out.write(chunk)
            remaining -= len(chunk)


def _check_first_frame(data: bytes, name: str) -> None:
    header = _parse_header(data, 0)
    if header is None:  # pragma: no cover - scan_frames checked it
        raise AudioError(f"{name} does not start with an MP3 frame.")
    if _main_data_begin(data, 0, header) != 0:
        raise AudioError(
            f"{name} starts with a frame that uses a bit reservoir; it cannot "
            "be spliced. Re-encode it with encode_segment."
        )


def _check_padding(frames: int, fmt: Mp3Format, samples: int, name: str) -> None:
    padding = frames * frame_samples(fmt) - LAME_ENCODER_DELAY - samples
    if not DECODER_DELAY <= padding < 4096:
        raise AudioError(
            f"{name}: {frames} frames cannot hold {samples} samples after "
            f"the {LAME_ENCODER_DELAY}-sample encoder delay; the file does not "
            "belong to this audio, re-encode it."
        )


def _validate_segment(
    data: bytes, fmt: Mp3Format, path: Path, samples: int, *, name: str
) -> EncodedSegment:
    offsets = scan_frames(data, fmt, name=name)
    _check_first_frame(data, name)
    _check_padding(len(offsets), fmt, samples, name)
    return EncodedSegment(
        path=path,
        frames=len(offsets),
        samples=samples,
        size_bytes=len(data),
        crc16=crc16(data),
    )


# Bytes read at a time when checking an encoded segment (a multiple of nothing:
# frames that straddle two reads are carried over).
_VALIDATE_CHUNK = 1 << 20


def _whole_frames(data: bytes) -> int:
    """The length of the run of whole frames ``data`` starts with."""
    offset = 0
    while True:
        header = _parse_header(data, offset)
        if header is None or offset + header.size_bytes > len(data):
            return offset
        offset += header.size_bytes


def _validate_segment_file(
    path: Path, fmt: Mp3Format, samples: int, *, name: str
) -> EncodedSegment:
    """``_validate_segment`` read from a file in chunks of whole frames: a
    segment may be hours long, and is never held whole in memory."""
    frames = size = crc = 0
    rest = b""
    with path.open("rb") as f:
        while chunk := f.read(_VALIDATE_CHUNK):
            data = rest + chunk
            whole = _whole_frames(data)
            if whole == 0 and len(data) > _VALIDATE_CHUNK:
                scan_frames(data, fmt, name=name)  # junk: says where
            head = data[:whole]
            if whole and size == 0:
                _check_first_frame(head, name)
            if whole:
                frames += len(scan_frames(head, fmt, name=name))
            crc = crc16(head, crc)
            size += whole
            rest = data[whole:]
    if rest or size == 0:
        scan_frames(rest, fmt, name=name)  # says what is wrong with it
        raise AudioError(f"{name} ends with a partial frame; re-encode it.")
    _check_padding(frames, fmt, samples, name)
    return EncodedSegment(
        path=path, frames=frames, samples=samples, size_bytes=size, crc16=crc
    )


def read_segment(path: Path, fmt: Mp3Format, samples: int) -> EncodedSegment:
    """Validate a stored segment file and describe it (e.g. from a cache).

    ``samples`` is the PCM length it was encoded from, which the frames alone
    do not record; the cache must store it next to the file.

    Raises:
        AudioError: the file is missing, damaged, of another format, or does
            not fit ``samples``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read MP3 segment {path}: {exc}") from exc
    return _validate_segment(data, fmt, path, samples, name=path.name)


# --- the Info frame -------------------------------------------------------

_TOC_ENTRIES = 100
_LAME_TAG_BYTES = 4 + 4 + 4 + 4 + _TOC_ENTRIES + 4 + 36
"""LAME's LAMEHEADERSIZE: the Xing part with its TOC, then the LAME extension."""

_SPEC_CRC_SPAN = 190
"""Bytes the LAME tag spec's CRC covers, counted from the frame sync.

The spec (and readers that follow it, like eyeD3) read the tag CRC at bytes
190-191 over bytes 0-189. That is where LAME puts it only for MPEG-1 stereo
(32 bytes of side info); LAME itself always CRCs the bytes before its own CRC
field, wherever the side info leaves it. See :func:`_with_tag_crcs`.
"""

_LAME_QUALITY = 100 - 10 * 4 - 3
"""The tag's quality value for LAME 3.100's CBR defaults (VBR_q 4, -q 3)."""

_LAME_NOISE_SHAPING = 2
"""What LAME 3.100 records for its default CBR quality (measured, ``lame -b``)."""

_ATH_TYPE = 4
_FLAG_NSPSYTUNE = 0x10


def _side_info_bytes(fmt: Mp3Format) -> int:
    if fmt.mpeg_version == 1:
        return 17 if fmt.channels == 1 else 32
    return 9 if fmt.channels == 1 else 17


def _lowpass_hz(fmt: Mp3Format) -> int:
    """Return the lowpass LAME 3.100 picks for this CBR format (LAME tag field)."""
    # LAME indexes its table by the nearest total bitrate
    hz = min(_LOWPASS_HZ, key=lambda row: abs(row[0] - fmt.bitrate_kbps))[1]
    if fmt.channels == 1:
        hz = int(hz * 1.5)
    return min(hz, fmt.sample_rate // 2)


def _tag_end(fmt: Mp3Format) -> int:
    """Return where LAME's tag ends in the Info frame (its CRC is the last 2 bytes)."""
    return 4 + _side_info_bytes(fmt) + _LAME_TAG_BYTES


def info_frame_bitrate(fmt: Mp3Format) -> int:
    """Return the bitrate (kbps) of the Info frame's header for ``fmt``.

    LAME writes its CBR Info frame at the stream's own bitrate, and so does
    this whenever that frame holds the tag with its TOC. Where it does not
    (e.g. 40 kbps at 22.05 kHz: 130 bytes for 169), LAME writes no tag at all;
    but without the tag no player trims the encoder delay and padding, which
    would move every chapter and change the duration players report. So this
    takes, as ffmpeg's MP3 muxer does, the lowest higher bitrate whose frame
    holds the tag, and also the spec's 192-byte CRC span (see
    :func:`info_frame`). Readers that take the first frame's bitrate for the
    whole CBR stream (eyeD3's duration) misjudge such a file; those that read
    the tag's frame count (ffmpeg, mutagen, Apple, ExoPlayer) do not.
    """
    version = fmt.mpeg_version
    if _frame_size(version, fmt.bitrate_kbps, fmt.sample_rate, 0) >= _tag_end(fmt):
        return fmt.bitrate_kbps
    need = max(_tag_end(fmt), _SPEC_CRC_SPAN + 2)
    for kbps in _BITRATES_KBPS[1 if version == 1 else 2][1:]:
        size = _frame_size(version, kbps, fmt.sample_rate, 0)
        if kbps > fmt.bitrate_kbps and size >= need:
            return kbps
    # unreachable: the top bitrate's frame is 417+ bytes at every sample rate
    raise AudioError(f"no MP3 frame of {fmt} holds a LAME tag.")  # pragma: no cover


def info_frame_size(fmt: Mp3Format) -> int:
    """Return the size in bytes of the Info frame :func:`info_frame` builds."""
    kbps = info_frame_bitrate(fmt)
    return _frame_size(fmt.mpeg_version, kbps, fmt.sample_rate, 0)


def lame_toc(total_frames: int) -> bytes:
    """Return the 100-byte seek table LAME 3.100 writes for a CBR stream.

    Entry ``i`` is the byte position, in 256ths of the stream, of ``i`` percent
    of its duration. LAME derives it from running bitrate sums sampled every
    ``want`` frames in a 400-slot bag that is halved whenever it fills
    (``addVbr``, ``Xing_seek_table`` in VbrTag.c); this replays that, float32
    arithmetic included, so the table is LAME's byte for byte. For CBR every
    frame weighs the same, so the bitrate drops out of the ratios: the table is
    linear, about ``256 * i / 100``, truncated.
    """
    if total_frames <= 0:
        return bytes(_TOC_ENTRIES)
    size = 400
    bag = [0] * size
    pos, want, seen, done = 0, 1, 0, 0
    left = total_frames
    while left >= want - seen:
        left -= want - seen
        done += want - seen
        seen = 0
        bag[pos] = done
        pos += 1
        if pos == size:
            for i in range(1, size, 2):
                bag[i // 2] = bag[i]
            want *= 2
            pos //= 2
    if pos == 0:  # pragma: no cover - the first frame always fills a slot
        return bytes(_TOC_ENTRIES)
    total = float(np.float32(total_frames))
    toc = bytearray(_TOC_ENTRIES)
    for i in range(1, _TOC_ENTRIES):
        j = np.float32(i) / np.float32(_TOC_ENTRIES)
        index = min(int(np.floor(j * np.float32(pos))), pos - 1)
        act = float(np.float32(bag[index]))
        toc[i] = min(int(256.0 * act / total), 255)
    return bytes(toc)


def info_frame(
    fmt: Mp3Format,
    *,
    total_frames: int,
    audio_bytes: int,
    enc_delay: int,
    enc_padding: int,
    music_crc: int | None = None,
) -> bytes:
    """Build the Info frame (LAME's CBR tag) that describes the whole file.

    It is a silent frame (zero side info) at :func:`info_frame_bitrate` whose
    payload is LAME 3.100's tag, field for field as ``lame -b`` writes it: the
    Xing part (:func:`_xing_part`), the 36-byte LAME extension
    (:func:`_lame_extension`), then the tag CRC (:func:`_with_tag_crcs`). With
    the TOC, ExoPlayer seeks by the table (to 1/256 of the file) rather than by
    the constant bitrate (google/ExoPlayer#10325); readers that assume LAME's
    fixed layout need it.

    ``audio_bytes`` is the Info frame plus all audio frames (the LAME music
    length), ``music_crc`` the CRC-16 of the audio frames after this one (0
    when unknown).

    Raises:
        AudioError: a value does not fit its field.
    """
    _check_info_fields(total_frames, audio_bytes, enc_delay, enc_padding)
    body = (
        _info_header(fmt)
        + bytes(_side_info_bytes(fmt))
        + _xing_part(total_frames, audio_bytes)
        + _lame_extension(fmt, audio_bytes, enc_delay, enc_padding, music_crc)
    )
    return _with_tag_crcs(body, info_frame_size(fmt))


def _check_info_fields(
    total_frames: int, audio_bytes: int, enc_delay: int, enc_padding: int
) -> None:
    """Refuse values the tag's fixed-width fields would silently truncate.

    Raises:
        AudioError: the delay or padding exceeds 12 bits, or a count 32 bits.
    """
    if not 0 <= enc_delay < 4096 or not 0 <= enc_padding < 4096:
        raise AudioError(
            f"encoder delay {enc_delay} and padding {enc_padding} must each fit "
            "in 12 bits (0-4095)."
        )
    if not 0 < total_frames < 2**32 or not 0 < audio_bytes < 2**32:
        raise AudioError(
            f"{total_frames} frames / {audio_bytes} bytes do not fit an Info tag."
        )


def _info_header(fmt: Mp3Format) -> bytes:
    """Return the 4-byte frame header, with the bits libmp3lame sets on its own."""
    version = fmt.mpeg_version
    table = _BITRATES_KBPS[1 if version == 1 else 2]
    bitrate_index = table.index(info_frame_bitrate(fmt))
    rate_index = _SAMPLE_RATES[version].index(fmt.sample_rate)
    mode = _MONO if fmt.channels == 1 else _JOINT_STEREO
    return bytes(
        (
            0xFF,
            0xE0 | (_VERSION_ID[version] << 3) | (1 << 1) | 1,  # Layer III, no CRC
            (bitrate_index << 4) | (rate_index << 2),  # no padding, private 0
            (mode << 6) | 0x04,  # "original" set, as in libmp3lame's frames
        )
    )


def _xing_part(total_frames: int, audio_bytes: int) -> bytes:
    """Return the Xing part of the tag, which readers use for duration and seeking.

    ``Info``, flags (frames, bytes, TOC, quality), the audio frame count (the
    Info frame excluded), the byte count (Info frame included), the 100-entry
    TOC (:func:`lame_toc`) and the quality.
    """
    return (
        b"Info"
        + struct.pack(">III", 0x1 | 0x2 | 0x4 | 0x8, total_frames, audio_bytes)
        + lame_toc(total_frames)
        + struct.pack(">I", _LAME_QUALITY)
    )


def _lame_extension(
    fmt: Mp3Format,
    audio_bytes: int,
    enc_delay: int,
    enc_padding: int,
    music_crc: int | None,
) -> bytes:
    """Return the LAME extension (its CRC excluded), as LAME 3.100 fills it for CBR.

    Version ``LAME3.100``, revision 0 / method CBR, lowpass, peak and
    ReplayGain (0: not measured), ATH type and flags, bitrate, encoder delay
    and padding (12 bits each; gapless players and ffmpeg trim them), misc
    (:func:`_lame_misc`), MP3 gain, preset (the bitrate, as LAME records a CBR
    ``-b``), music length and music CRC.
    """
    lowpass = min(int(_lowpass_hz(fmt) / 100 + 0.5), 255)
    return (
        LAME_VERSION
        + bytes((0x01, lowpass))  # revision 0, method CBR
        + struct.pack(">IHH", 0, 0, 0)  # peak and ReplayGain: not measured
        + bytes((_ATH_TYPE | _FLAG_NSPSYTUNE, min(fmt.bitrate_kbps, 255)))
        + ((enc_delay << 12) | enc_padding).to_bytes(3, "big")
        + bytes((_lame_misc(fmt), 0))  # misc, MP3Gain
        + struct.pack(">HIH", fmt.bitrate_kbps, audio_bytes, (music_crc or 0) & 0xFFFF)
    )


def _lame_misc(fmt: Mp3Format) -> int:
    """Return the misc byte: noise shaping, stereo mode, unwise settings, source rate.

    LAME flags every rate up to 32 kHz as an unwise setting, and records the
    source rate as 0 (<= 32 kHz), 1 (44.1 kHz) or 2 (above).
    """
    if fmt.sample_rate <= 32000:
        source_rate = 0
    elif fmt.sample_rate == 44100:
        source_rate = 1
    else:
        source_rate = 2
    unwise = 1 if fmt.sample_rate <= 32000 else 0
    stereo_mode = 0 if fmt.channels == 1 else 3  # mono / joint stereo
    misc = _LAME_NOISE_SHAPING | (stereo_mode << 2) | (unwise << 5)
    misc |= source_rate << 6
    return misc


def _with_tag_crcs(body: bytes, size: int) -> bytes:
    """Return the ``size``-byte frame: ``body``, its tag CRC, zeros, maybe the spec's.

    LAME's tag CRC covers the bytes before that field, and ffmpeg checks it
    there. The spec instead says "the first 190 bytes", stored at byte 190:
    the same place only for MPEG-1 stereo. For every other layout the CRC-16
    of bytes 0-189 is also stored at bytes 190-191, in the zero bytes past
    LAME's tag that no decoder reads, so readers of either kind find a valid
    CRC (a mono file from LAME itself fails eyeD3's check for lack of it).
    A frame too short for that span (a non-preset format whose own frame just
    holds LAME's tag) keeps LAME's layout alone.
    """
    frame = bytearray(size)
    frame[: len(body)] = body
    frame[len(body) : len(body) + 2] = crc16(body).to_bytes(2, "big")
    if len(body) + 2 <= _SPEC_CRC_SPAN <= size - 2:
        span = bytes(frame[:_SPEC_CRC_SPAN])
        frame[_SPEC_CRC_SPAN : _SPEC_CRC_SPAN + 2] = crc16(span).to_bytes(2, "big")
    return bytes(frame)


# --- splicing -------------------------------------------------------------


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
            segment_crc = _file_crc16(segment.path, segment.offset, segment.size_bytes)
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
            _copy_segment(segment, out)
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


def _file_crc16(path: Path, offset: int = 0, size: int | None = None) -> int:
    crc = 0
    with path.open("rb") as source:
        source.seek(offset)
        remaining = size if size is not None else -1
        while remaining:
            want = _COPY_CHUNK_BYTES
            if remaining > 0:
                want = min(remaining, want)
            chunk = source.read(want)
            if not chunk:
                break
            crc = crc16(chunk, crc)
            if remaining > 0:
                remaining -= len(chunk)
    return crc


# --- CRC-16 (LAME/ARC: reflected polynomial 0xA001, initial value 0) -----------

_CRC_BLOCK_BYTES = 256


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _shift_matrix(zero_bytes: int) -> tuple[int, ...]:
    """Return the map 'CRC state after ``zero_bytes`` zero bytes' as 16 columns.

    Feeding zeros is linear in the state, so this is a 16x16 bit matrix;
    column ``i`` is the image of state ``1 << i``.
    """
    table = _crc_table()

    def one_byte(state: int) -> int:
        return table[state & 0xFF] ^ (state >> 8)

    result = tuple(1 << i for i in range(16))  # identity
    power = tuple(one_byte(1 << i) for i in range(16))  # one zero byte
    n = zero_bytes
    while n:
        if n & 1:
            result = tuple(_apply(power, col) for col in result)
        power = tuple(_apply(power, col) for col in power)
        n >>= 1
    return result


def _apply(matrix: tuple[int, ...], state: int) -> int:
    out = 0
    for i in range(16):
        if state >> i & 1:
            out ^= matrix[i]
    return out


@functools.cache
def _shift_tables(zero_bytes: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    matrix = _shift_matrix(zero_bytes)
    low = tuple(_apply(matrix, v) for v in range(256))
    high = tuple(_apply(matrix, v << 8) for v in range(256))
    return low, high


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """Return the CRC-16 of ``a + b`` from the CRCs of ``a`` and ``b``."""
    return _apply(_shift_matrix(length_b), crc_a) ^ crc_b


def crc16(data: bytes | memoryview, crc: int = 0) -> int:
    """Return the CRC-16 LAME uses (ARC: poly 0xA001 reflected) of ``data``.

    Vectorized with numpy: the data is cut into blocks whose CRCs are computed
    side by side, then folded together (the CRC is linear), so a whole
    episode's music CRC costs well under a second.
    """
    table = _crc_table()
    arr = np.frombuffer(data, dtype=np.uint8)
    head = len(arr) % _CRC_BLOCK_BYTES
    for byte in arr[:head].tolist():
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    if len(arr) == head:
        return crc
    blocks = arr[head:].reshape(-1, _CRC_BLOCK_BYTES).T.astype(np.uint16)
    lookup = np.array(table, dtype=np.uint16)
    states = np.zeros(blocks.shape[1], dtype=np.uint16)
    for column in blocks:
        states = lookup[(states ^ column) & 0xFF] ^ (states >> 8)
    low, high = _shift_tables(_CRC_BLOCK_BYTES)
    for state in states.tolist():
        crc = low[crc & 0xFF] ^ high[crc >> 8] ^ state
    return crc


# --- decoding helpers -----------------------------------------------------


def decode_pcm(path: Path, *, channels: int = 1) -> Iterator[bytes]:
    """Yield the gapless decoded audio of ``path`` as s16le chunks (ffmpeg).

    Raises:
        AudioError: ffmpeg fails to decode the file.
    """
    return stream_pcm(path, channels=channels)


def decoded_sample_count(path: Path) -> int:
    """Return how many samples (per channel) ffmpeg decodes from ``path``.

    Raises:
        AudioError: ffmpeg fails to decode the file.
    """
    return sum(len(chunk) for chunk in decode_pcm(path)) // 2
