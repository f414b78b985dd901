"""Encode a section's PCM to a segment: raw CBR MP3 frames, checked, ready to splice.

Why segments: once synthesis is cached, re-encoding a whole long episode
dominates a rebuild. Each segment (one section, or an intro/outro) is encoded
on its own with identical settings to raw CBR frames (no ID3, no Xing/Info
frame), so a one-section edit re-encodes only that section and the episode
is re-spliced by a streaming copy (``splice``).

Every segment is checked as it is written or read back from a cache: one CBR
format, whole frames, the padding its sample count implies, and a first frame
that borrows nothing from a bit reservoir (``main_data_begin == 0``), which is
what makes splicing raw frames valid. The decoding helpers at the end are the
way back, for checks of the result.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from narrator.container.crc import crc16, crc16_combine
from narrator.container.frames import (
    DECODER_DELAY,
    LAME_ENCODER_DELAY,
    EncodedSegment,
    Mp3Format,
    copy_segment,
    frame_samples,
    main_data_begin,
    parse_header,
    scan_frames,
)
from narrator.errors import AudioError
from narrator.ffmpeg import SAMPLE_BYTES, PcmFormat, encode_mp3, stream_pcm


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
                copy_segment(part, out)
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


def _check_first_frame(data: bytes, name: str) -> None:
    header = parse_header(data, 0)
    if header is None:  # pragma: no cover - scan_frames checked it
        raise AudioError(f"{name} does not start with an MP3 frame.")
    if main_data_begin(data, 0, header) != 0:
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
        header = parse_header(data, offset)
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
