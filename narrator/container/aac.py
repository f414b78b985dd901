"""AAC access units: a segment encoded on its own, segments placed and joined.

An M4A/M4B episode is made like the MP3: each section is mastered and encoded
on its own (``encode_segment``, cached per section), and the episode joins the
cached segments without re-encoding them (``place``, ``write_units``); only
the MP4 around them is written again (``container.mp4file``).

Why joining encoded AAC is exact here. ffmpeg's ``aac`` encoder delays its
input by one access unit (``PRIMING``, 1024 samples): unit ``m`` of a segment
holds the MDCT window over input samples ``[(m - 1) * 1024, (m + 1) * 1024)``,
and a decoder's output for unit ``m`` overlaps it with unit ``m - 1``. A unit
whose window holds only digital silence codes to zero spectra and decodes to
zeros, whatever surrounds it. Sections are separated by silence (their lead,
their tail, the pause between them), so the units of a segment that touch its
sound (``needed``, with a unit of margin each side) can be placed anywhere in
a stream of silent units: the decoded result equals the segment decoded on
its own, sample for sample (measured: 0.0 maximum difference around every
join, see tests/test_m4b.py), where an MP3 needs its frames spliced with their
bit reservoir.

Where a segment goes. An access unit is 1024 samples; MP3 frames are 1152
(576 at 22.05 kHz). So that chapters land where the MP3 of the same document
has them, each segment starts at the access unit nearest to where the MP3
starts it (``mp3_starts``: the frames of the segments before it), within half
a unit, and the error does not add up along the episode. A segment whose
needed units would overlap the previous one's (pauses shorter than three
units) moves later by whole units instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from narrator import ffmpeg
from narrator.container.frames import Mp3Format, expected_frames, frame_samples
from narrator.errors import AudioError

UNIT_SAMPLES = 1024
"""Samples per channel in one AAC-LC access unit."""

PRIMING = 1024
"""Samples ffmpeg's ``aac`` encoder puts before the input (its initial padding)."""

_ADTS_HEADER = 7
_DTYPES = {"f32le": "<f4", "s16le": "<i2"}


@dataclass(frozen=True)
class AacSegment:
    """One segment's ADTS access units, as ``encode_segment`` wrote them.

    ``samples`` counts the PCM sample frames fed (per channel): the segment
    occupies ``samples`` of the episode plus the pause an MP3 would add.
    ``sound`` is the first and one-past-last sample that is not digital
    silence, None for a silent segment. ``offset`` is where the units begin in
    ``path`` (a cache entry keeps a header before them).
    """

    path: Path
    units: int
    samples: int
    size_bytes: int
    sound: tuple[int, int] | None
    offset: int = 0


class _SoundRange:
    """Watches PCM chunks on their way to the encoder: where the sound is."""

    def __init__(self, channels: int, sample_format: ffmpeg.PcmFormat) -> None:
        self.channels = channels
        self.dtype = _DTYPES[sample_format]
        self.position = 0
        self.first: int | None = None
        self.last = 0

    def watch(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            samples = np.frombuffer(chunk, dtype=self.dtype)
            loud = np.flatnonzero(samples)
            if loud.size:
                if self.first is None:
                    self.first = self.position + int(loud[0]) // self.channels
                self.last = self.position + int(loud[-1]) // self.channels + 1
            self.position += samples.size // self.channels
            yield chunk

    @property
    def sound(self) -> tuple[int, int] | None:
        return None if self.first is None else (self.first, self.last)


def expected_units(samples: int) -> int:
    """How many access units ffmpeg's encoder makes of ``samples`` input samples."""
    return -(-(samples + PRIMING) // UNIT_SAMPLES)


def coder_for(fmt: Mp3Format) -> str:
    """ffmpeg's ``aac_coder`` for ``fmt``: ``fast`` from 64 kbps a channel.

    On the seed's speech, "fast" (a constant quantizer) encodes 4x faster than
    the default "twoloop" and decodes with less error (segmental SNR 30 vs 23
    dB at 64 kbps mono, 24 vs 18 dB at 40 kbps) and less overshoot (-1.9 vs
    +0.9 dBFS from the same PCM); ffmpeg documents it as worse below 64 kbps,
    so lower bitrates keep twoloop, the documented choice there.
    """
    return "fast" if fmt.bitrate_kbps >= 64 * fmt.channels else "twoloop"


def encode_segment(
    pcm_chunks: Iterable[bytes],
    fmt: Mp3Format,
    out_path: Path,
    *,
    sample_format: ffmpeg.PcmFormat,
    coder: str | None = None,
) -> AacSegment:
    """Encode streamed PCM to ADTS access units and check them (``coder``:
    ``coder_for(fmt)`` unless given).

    ``fmt`` gives the sample rate, channels and bitrate (the preset's).

    Raises:
        AudioError: ffmpeg fails, or wrote other than one unit per 1024 samples.
    """
    watched = _SoundRange(fmt.channels, sample_format)
    fed = ffmpeg.encode_aac(
        watched.watch(pcm_chunks),
        out_path,
        sample_rate=fmt.sample_rate,
        channels=fmt.channels,
        bitrate_kbps=fmt.bitrate_kbps,
        sample_format=sample_format,
        coder=coder or coder_for(fmt),
    )
    samples = fed // (ffmpeg.SAMPLE_BYTES[sample_format] * fmt.channels)
    size = out_path.stat().st_size
    units = sum(1 for _ in read_units(out_path, 0, size))
    if units != expected_units(samples):
        raise AudioError(
            f"ffmpeg wrote {units} AAC access units for {samples} samples "
            f"(expected {expected_units(samples)})."
        )
    return AacSegment(out_path, units, samples, size, watched.sound)


def read_units(path: Path, offset: int, size: int) -> Generator[bytes, None, None]:
    """Each ADTS access unit (header included) of ``size`` bytes at ``offset``.

    Raises:
        AudioError: the bytes are not whole ADTS frames.
    """
    with path.open("rb") as handle:
        handle.seek(offset)
        left = size
        while left > 0:
            header = handle.read(_ADTS_HEADER)
            if len(header) < _ADTS_HEADER or header[0] != 0xFF or header[1] >> 4 != 0xF:
                raise AudioError(f"{path.name}: not an ADTS stream at byte {offset}")
            length = ((header[3] & 3) << 11) | (header[4] << 3) | (header[5] >> 5)
            body = handle.read(length - _ADTS_HEADER)
            if length <= _ADTS_HEADER or len(body) != length - _ADTS_HEADER:
                raise AudioError(f"{path.name}: an ADTS frame is cut short")
            left -= length
            yield header + body
        if left < 0:
            raise AudioError(f"{path.name}: an ADTS frame runs past the segment")


def needed(segment: AacSegment, *, first: bool, last: bool) -> tuple[int, int]:
    """The units (first, stop) of ``segment`` that touch its sound, with a unit
    of margin each side: every other unit decodes to silence. The episode's
    first segment keeps its start (the priming unit the edit list skips), its
    last one its end."""
    if segment.sound is None:
        lo, stop = segment.units, 0
    else:
        begin, end = segment.sound
        lo = max(0, begin // UNIT_SAMPLES - 1)
        stop = min(segment.units, (end - 1) // UNIT_SAMPLES + 3)
    if first:
        lo = 0
    if last:
        stop = segment.units
    return (lo, max(lo, stop))


@dataclass(frozen=True)
class Placement:
    """Where each segment's unit 0 goes, and what the joined stream is.

    ``starts`` are unit indices; segment k's input sample 0 is heard at
    ``starts[k] * 1024`` once the priming is skipped. ``duration_samples`` is
    the joined stream's audio (priming skipped, the last segment's end);
    ``mp3_starts`` and ``mp3_duration`` are where an MP3 of the same segments
    has them, in the decoded timeline (the timeline and sidecars use those,
    so both files share them).
    """

    starts: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]
    units: int
    duration_samples: int
    mp3_starts: tuple[int, ...]
    mp3_duration: int

    @property
    def padding(self) -> int:
        """Samples after the audio in the last unit (iTunSMPB's padding)."""
        return self.units * UNIT_SAMPLES - PRIMING - self.duration_samples


def place(segments: Sequence[AacSegment], fmt: Mp3Format) -> Placement:
    """Place every segment at the unit nearest to where the MP3 starts it.

    Raises:
        AudioError: no segments.
    """
    if not segments:
        raise AudioError("no audio segments to join.")
    starts: list[int] = []
    ranges: list[tuple[int, int]] = []
    mp3_starts: list[int] = []
    mp3 = 0
    taken = 0  # first unit index not yet holding a needed unit
    for k, segment in enumerate(segments):
        lo, stop = needed(segment, first=k == 0, last=k == len(segments) - 1)
        start = max((mp3 + UNIT_SAMPLES // 2) // UNIT_SAMPLES, taken - lo)
        if stop > lo:
            taken = start + stop
        starts.append(start)
        ranges.append((lo, stop))
        mp3_starts.append(mp3)
        mp3 += expected_frames(segment.samples, fmt) * frame_samples(fmt)
    duration = starts[-1] * UNIT_SAMPLES + segments[-1].samples
    units = max(expected_units(duration), taken)
    return Placement(
        starts=tuple(starts),
        ranges=tuple(ranges),
        units=units,
        duration_samples=duration,
        mp3_starts=tuple(mp3_starts),
        mp3_duration=mp3_starts[-1] + segments[-1].samples,
    )


_SILENT: dict[Mp3Format, bytes] = {}


def silent_unit(fmt: Mp3Format, scratch: Path) -> bytes:
    """One access unit of digital silence in ``fmt``, made by the same encoder
    (once per process and format; ``scratch`` is a file name it may use).

    Raises:
        AudioError: ffmpeg fails.
    """
    if fmt in _SILENT:
        return _SILENT[fmt]
    zeros = bytes(4 * fmt.channels * UNIT_SAMPLES * 6)
    try:
        ffmpeg.encode_aac(
            [zeros],
            scratch,
            sample_rate=fmt.sample_rate,
            channels=fmt.channels,
            bitrate_kbps=fmt.bitrate_kbps,
            sample_format="f32le",
        )
        units = list(read_units(scratch, 0, scratch.stat().st_size))
    finally:
        with contextlib.suppress(OSError):
            scratch.unlink()
    _SILENT[fmt] = units[len(units) // 2]
    return _SILENT[fmt]


def write_units(
    segments: Sequence[AacSegment],
    placement: Placement,
    silent: bytes,
    out: BinaryIO,
) -> None:
    """Write the joined ADTS stream: each segment's needed units where
    ``placement`` puts them, silent units everywhere else.

    Raises:
        AudioError: a segment file is not the ADTS it was recorded as.
    """
    position = 0
    for segment, start, (lo, stop) in zip(
        segments, placement.starts, placement.ranges, strict=True
    ):
        if lo >= stop:
            continue
        while position < start + lo:
            out.write(silent)
            position += 1
        units = read_units(segment.path, segment.offset, segment.size_bytes)
        with contextlib.closing(units):
            for m, unit in enumerate(units):
                if m >= stop:
                    break
                if m >= lo:
                    out.write(unit)
                    position += 1
    while position < placement.units:
        out.write(silent)
        position += 1


def join(
    parts: Sequence[AacSegment], fmt: Mp3Format, out_path: Path, silent: bytes
) -> AacSegment:
    """Join a long section's parts (each encoded on its own) into one segment.

    The parts are placed as the MP3's parts are (``place``): the segment's
    ``samples`` is the MP3 segment's, so the episode places it where the MP3
    does; its sound is where the parts' sound is in the joined units.

    Raises:
        AudioError: a part file is not the ADTS it was recorded as.
    """
    placement = place(parts, fmt)
    with out_path.open("wb") as out:
        write_units(parts, placement, silent, out)
    heard = [
        (start * UNIT_SAMPLES + part.sound[0], start * UNIT_SAMPLES + part.sound[1])
        for part, start in zip(parts, placement.starts, strict=True)
        if part.sound is not None
    ]
    sound = (heard[0][0], heard[-1][1]) if heard else None
    return AacSegment(
        out_path,
        placement.units,
        placement.mp3_duration,
        out_path.stat().st_size,
        sound,
    )
