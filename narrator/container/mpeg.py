"""The numbers of an MPEG audio Layer III frame header: versions, rates, sizes.

A leaf (it imports no narrator module) so that both sides of a frame can use
it at the bottom of the container package: :mod:`narrator.container.frames`
reads headers, :mod:`narrator.container.info` writes the Info frame's. The
Info frame so needs nothing of the frames module, and the splice, which
builds it, stays within the package's depth budget.
"""

from __future__ import annotations

from typing import Protocol

# MPEG version id (2 header bits) -> our version key: 1, 2 or 25 (MPEG-2.5).
VERSION_BY_ID = {3: 1, 2: 2, 0: 25}
VERSION_ID = {1: 3, 2: 2, 25: 0}
SAMPLE_RATES = {
    1: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    25: (11025, 12000, 8000),
}
_BITRATES_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MONO = 3  # channel mode bits of a single-channel frame
JOINT_STEREO = 1  # what libmp3lame writes for two channels by default


class Layer3Format(Protocol):
    """What writing a frame header needs of a format (``frames.Mp3Format``)."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    @property
    def bitrate_kbps(self) -> int: ...

    @property
    def mpeg_version(self) -> int: ...


def version_of(sample_rate: int) -> int | None:
    """Return the MPEG version (1, 2 or 25) that carries ``sample_rate``, or None."""
    for version, rates in SAMPLE_RATES.items():
        if sample_rate in rates:
            return version
    return None


def bitrates_kbps(version: int) -> tuple[int, ...]:
    """Return the bitrate table of ``version`` by header index (0: free format).

    MPEG-2 and MPEG-2.5 share one table.
    """
    return _BITRATES_KBPS[1 if version == 1 else 2]


def frame_size(version: int, bitrate_kbps: int, sample_rate: int, pad: int) -> int:
    """Return the size in bytes of one Layer III frame, header included."""
    coefficient = 144 if version == 1 else 72
    return coefficient * bitrate_kbps * 1000 // sample_rate + pad
