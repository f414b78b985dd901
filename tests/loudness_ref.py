"""A reference BS.1770-4 loudness measure, for tests only.

It filters whole clips in the time domain with scipy's recursive biquads, the
way the standard describes, where
:class:`narrator.audio.loudness.LoudnessMeter` weights 20 ms windows in the
frequency domain to stream without scipy: the tests hold the meter to this.
It also keeps, per clip, a 0.1 dB histogram of block loudness, so the
loudness of a concatenation of clips can be computed from the clips' stats
alone (:func:`combine`), and after a gain (:func:`with_gain`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
_LOUDNESS_OFFSET = -0.691
_BLOCK_STEPS = 4  # a 400 ms block is four 100 ms steps (75 % overlap)
_BIN_DB = 0.1  # histogram resolution of block loudness


@dataclass(frozen=True)
class LoudnessStats:
    """Gated loudness measures of one clip, combinable with other clips' stats.

    ``histogram`` holds ``(bin, blocks, energy)`` triples for every 400 ms block
    above the absolute gate, ``bin`` being ``floor(block_lufs / 0.1)`` and
    ``energy`` the sum of the blocks' K-weighted mean squares in that bin, so
    relative gating of several clips together is exact up to the 0.1 dB bin
    that straddles the gate.
    """

    integrated_lufs: float
    gated_energy_sum: float
    gated_blocks: int
    total_blocks: int
    duration_s: float
    histogram: tuple[tuple[int, int, float], ...] = ()

    @property
    def silent(self) -> bool:
        """Say whether no block passed the absolute gate."""
        return self.gated_blocks == 0


@functools.cache
def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Return the two K-weighting biquads for ``sample_rate`` as an SOS array.

    The analog prototypes (high shelf and RLB high-pass) are mapped with the
    bilinear transform as libebur128 does; at 48 kHz this gives exactly the
    coefficients tabulated in BS.1770-4. A copy of narrator's, so the
    reference does not lean on what it checks.
    """
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = [
        1.0,
        -2.0,
        1.0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    return np.array([shelf, highpass])


def _lufs(energy: float) -> float:
    """Convert a K-weighted mean square to LUFS, -inf for zero energy."""
    if energy <= 0.0:
        return -math.inf
    return _LOUDNESS_OFFSET + 10.0 * math.log10(energy)


def loudness_stats(x: np.ndarray, sample_rate: int) -> LoudnessStats:
    """Measure BS.1770-4 gated loudness of one clip and keep what combining needs.

    A clip shorter than one 400 ms block, or silent, reads ``-inf`` LUFS.
    All channels weigh 1.0.
    """
    audio = np.asarray(x)
    if audio.ndim == 1:
        audio = audio[:, None]
    n = audio.shape[0]
    step = max(1, round(sample_rate * 0.1))
    n_steps = n // step
    n_blocks = max(0, n_steps - _BLOCK_STEPS + 1)
    duration_s = n / sample_rate
    if n_blocks == 0:
        return LoudnessStats(-math.inf, 0.0, 0, 0, duration_s)
    step_energy = np.zeros(n_steps)
    for channel in range(audio.shape[1]):
        column = audio[: n_steps * step, channel].astype(np.float64)
        filtered = signal.sosfilt(k_weighting_sos(sample_rate), column)
        step_energy += np.square(filtered).reshape(n_steps, step).sum(axis=1)
    window = np.lib.stride_tricks.sliding_window_view(step_energy, _BLOCK_STEPS)
    block_energy = window.sum(axis=1) / (_BLOCK_STEPS * step)
    with np.errstate(divide="ignore"):
        block_lufs = _LOUDNESS_OFFSET + 10.0 * np.log10(block_energy)
    above = block_lufs > ABSOLUTE_GATE_LUFS
    if not above.any():
        return LoudnessStats(-math.inf, 0.0, 0, n_blocks, duration_s)
    energies = block_energy[above]
    relative_gate = _lufs(float(energies.mean())) + RELATIVE_GATE_LU
    kept = energies[block_lufs[above] > relative_gate]
    gated_sum = float(kept.sum())
    bins = np.floor(block_lufs[above] / _BIN_DB).astype(np.int64)
    unique, inverse = np.unique(bins, return_inverse=True)
    counts = np.bincount(inverse)
    sums = np.bincount(inverse, weights=energies)
    histogram = tuple(
        (int(b), int(c), float(s)) for b, c, s in zip(unique, counts, sums, strict=True)
    )
    return LoudnessStats(
        integrated_lufs=_lufs(gated_sum / kept.size),
        gated_energy_sum=gated_sum,
        gated_blocks=int(kept.size),
        total_blocks=n_blocks,
        duration_s=duration_s,
        histogram=histogram,
    )


def integrated_loudness(x: np.ndarray, sample_rate: int) -> float:
    """Return the integrated loudness of ``x`` in LUFS (``-inf`` when silent)."""
    return loudness_stats(x, sample_rate).integrated_lufs


def _from_histogram(
    entries: Iterable[tuple[int, int, float]], total_blocks: int, duration_s: float
) -> LoudnessStats:
    """Gate a histogram of ``(bin, blocks, energy)`` entries into stats.

    Entries of the same bin are pooled; sums use ``math.fsum`` so the result
    does not depend on the order of the clips.
    """
    counts: dict[int, int] = {}
    energies: dict[int, list[float]] = {}
    for b, count, energy in entries:
        counts[b] = counts.get(b, 0) + count
        energies.setdefault(b, []).append(energy)
    bins = sorted(counts)
    histogram = tuple((b, counts[b], math.fsum(energies[b])) for b in bins)
    if not histogram:
        return LoudnessStats(-math.inf, 0.0, 0, total_blocks, duration_s)
    total = math.fsum(e for _, _, e in histogram)
    gate = _lufs(total / sum(c for _, c, _ in histogram)) + RELATIVE_GATE_LU
    kept_energy: list[float] = []
    kept_blocks = 0
    for b, count, energy in histogram:
        # A bin entirely above the gate is kept, one entirely below dropped;
        # the bin straddling the gate is judged by its mean block loudness.
        lower = b * _BIN_DB
        if lower > gate or (lower + _BIN_DB > gate and _lufs(energy / count) > gate):
            kept_energy.append(energy)
            kept_blocks += count
    gated = math.fsum(kept_energy)
    return LoudnessStats(
        integrated_lufs=_lufs(gated / kept_blocks) if kept_blocks else -math.inf,
        gated_energy_sum=gated,
        gated_blocks=kept_blocks,
        total_blocks=total_blocks,
        duration_s=duration_s,
        histogram=histogram,
    )


def merge(stats: Sequence[LoudnessStats]) -> LoudnessStats:
    """Return the stats of the concatenation of the clips the ``stats`` measure.

    Blocks that would straddle two clips are ignored, which matters only for
    clips a few blocks long; relative gating is exact up to the 0.1 dB bin.
    The result does not depend on the order of ``stats``.
    """
    return _from_histogram(
        (entry for item in stats for entry in item.histogram),
        total_blocks=sum(item.total_blocks for item in stats),
        duration_s=math.fsum(item.duration_s for item in stats),
    )


def combine(stats: Sequence[LoudnessStats]) -> float:
    """Return the integrated loudness (LUFS) of the clips' concatenation."""
    return merge(stats).integrated_lufs


def with_gain(stats: LoudnessStats, gain_db: float) -> LoudnessStats:
    """Return the stats the same clip would have after a gain of ``gain_db``.

    Each bin moves by ``gain_db``; bins the gain pushes under the absolute
    gate are dropped by their mean, so predict with this and measure the
    final result.
    """
    factor = 10.0 ** (gain_db / 10.0)
    shifted = []
    for _, count, energy in stats.histogram:
        mean = _lufs(energy * factor / count)
        if mean > ABSOLUTE_GATE_LUFS:
            shifted.append((math.floor(mean / _BIN_DB), count, energy * factor))
    return _from_histogram(shifted, stats.total_blocks, stats.duration_s)
