"""An AAC segment's true peak, measured on what a player decodes.

The limiter holds the PCM under a ceiling, but AAC at podcast bitrates puts
back more than it took away: on espeak-ng's voice, 64 kbps mono decoded up to
3 dB over the PCM's true peak, and by how much depends on the exact waveform
(the same text spoken twice by libespeak-ng differs by a few samples, and the
overshoot with it). A fixed lower ceiling was either too low (loudness lost to
limiting) or, on another take, not low enough. So each AAC segment is decoded
after encoding, its true peak measured, and the segment encoded once more,
quieter by the excess, when it is over: the decoded file keeps its -1 dBTP
promise whatever the waveform, at the cost of a second AAC encode for the few
sections that need one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from narrator import ffmpeg
from narrator.audio.peaks import true_peak_dbtp
from narrator.container.frames import Mp3Format

__all__ = [
    "DECODED_PEAK_DBTP",
    "decoded_true_peak",
    "encode_within_peak",
    "over_by_db",
    "scaled",
]

logger = logging.getLogger(__name__)
Segment = TypeVar("Segment")

DECODED_PEAK_DBTP = -1.0
"""The most a decoded AAC episode may reach (EBU R128 for distribution, -1 dBTP)."""

# Our meter and ffmpeg's ebur128 filter oversample differently; aim a little
# lower so either reads the decoded file at or under the limit.
_MARGIN_DB = 0.3
# Decoded chunks overlap by this many samples so a peak between two chunks is
# interpolated with its neighbours on both sides.
_OVERLAP = 64


def decoded_true_peak(path: Path, *, sample_rate: int, channels: int) -> float:
    """The true peak (dBTP) of ``path`` decoded, streamed chunk by chunk.

    Raises:
        AudioError: ffmpeg cannot decode the file.
    """
    peak = -math.inf
    tail = np.zeros((0, channels), dtype=np.float32)
    for chunk in ffmpeg.stream_pcm(path, channels=channels):
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32) / 32768.0
        block = np.concatenate([tail, samples.reshape(-1, channels)])
        peak = max(peak, true_peak_dbtp(block, sample_rate))
        tail = block[-_OVERLAP:]
    return peak


def over_by_db(peak_dbtp: float) -> float:
    """How much quieter a segment with this decoded peak must be (0 if none)."""
    excess = peak_dbtp - (DECODED_PEAK_DBTP - _MARGIN_DB)
    return max(0.0, excess)


def scaled(chunks: Iterable[bytes], gain_db: float) -> Iterator[bytes]:
    """``chunks`` of float32 PCM (the renderer's ``f32le``) made ``gain_db`` louder."""
    factor = np.float32(10.0 ** (gain_db / 20.0))
    for chunk in chunks:
        yield (np.frombuffer(chunk, dtype="<f4") * factor).astype("<f4").tobytes()


_ATTEMPTS = 3  # the decode clips at 0 dBFS, so a big excess may take two steps


def encode_within_peak(
    encode: Callable[[Iterable[bytes]], Segment],
    render: Callable[[], Iterable[bytes]],
    fmt: Mp3Format,
    out_path: Path,
) -> Segment:
    """``encode`` (AAC into ``out_path``) ``render()``'s float32 PCM so that it
    decodes within ``DECODED_PEAK_DBTP``; each new attempt renders again.

    Raises:
        AudioError: ffmpeg fails to encode or decode.
    """
    gain_db = 0.0
    for attempt in range(_ATTEMPTS):
        chunks = render()
        segment = encode(scaled(chunks, gain_db) if gain_db else chunks)
        if attempt == _ATTEMPTS - 1:
            break
        peak = decoded_true_peak(
            out_path, sample_rate=fmt.sample_rate, channels=fmt.channels
        )
        excess = over_by_db(peak)
        if excess == 0.0:
            break
        logger.debug("AAC segment decodes at %.2f dBTP: %.2f dB quieter", peak, excess)
        gain_db -= excess
    return segment
