"""True peak and the true-peak limiter: where the waveform goes between samples.

True peak follows BS.1770-4 Annex 2: the signal is oversampled (4x at 44.1 and
48 kHz, more at lower rates so the oversampled rate is at least 176.4 kHz) and
the largest absolute value is taken. Only the neighbourhoods of samples that
could reach the level of interest are interpolated, which keeps the cost for a
one-hour episode of speech around a second of CPU time. Like any 4x meter
(BS.1770's own, ffmpeg's), it under-reads content within a few percent of
Nyquist by up to a few tenths of a dB; voice rarely has any, and MP3 encoders
low-pass it away.

The limiter (:func:`limit_true_peak`) finds the intervals over a ceiling with
the same interpolator and lowers the gain smoothly around them; the gain
itself (:func:`apply_gain_db`) is here as the step that comes before it.

Arrays are float, shaped ``(n,)`` (mono) or ``(n, channels)``, full scale
``[-1, 1]``. Like every DSP module of the audio package this one imports no
narrator module (pure numpy, the bottom of the import graph).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from narrator.audio.arrays import as_2d, float_dtype, owned

logger = logging.getLogger(__name__)

__all__ = ["apply_gain_db", "kaiser_lowpass", "limit_true_peak", "true_peak_dbtp"]

_TP_MIN_RATE = 176_400  # oversampled rate for true peak (4x 44.1 kHz)
_LIMITER_PASSES = 8  # detect-and-reduce rounds; two suffice in practice
_RELEASE_FLOOR_DB = 1e-3  # attenuation below this snaps back to unity gain
_LIMITER_CHUNK = 1 << 16  # samples of gain curve computed at once
_RELEASE_F32_SAMPLES = 1 << 16  # release curves up to this long use float32
_TP_HALF_TAPS = 6  # input samples each side of the interpolated point
_TP_CUTOFF = 1.0  # interpolator cutoff, fraction of the input Nyquist
_TP_BETA = 5.0  # Kaiser window shape of the interpolator
_TP_BLOCK = 8  # samples per block when looking for true-peak candidates
_TP_COARSE = 64  # samples per coarse block (a multiple of _TP_BLOCK)


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float) -> np.ndarray:
    """A Kaiser-windowed sinc low-pass, unit gain at DC (scipy's firwin, in numpy).

    ``cutoff`` is relative to the Nyquist frequency. The true-peak interpolator
    is built from it; it is public so the tests can hold it to scipy's
    ``firwin``, which narrator cannot import at run time (over a second).
    """
    m = np.arange(numtaps) - (numtaps - 1) / 2.0
    taps = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    lowpass: np.ndarray = taps / taps.sum()
    return lowpass


def _oversampling(sample_rate: int) -> int:
    """Return the true-peak oversampling factor (>= 4 up to 48 kHz)."""
    return max(2, math.ceil(_TP_MIN_RATE / sample_rate - 1e-9))


@functools.cache
def _interpolation_matrix(up: int) -> tuple[np.ndarray, float]:
    """Return the polyphase interpolator and the bound on its gain.

    Column ``p`` of the ``(2K+1, up)`` matrix maps the samples ``n-K .. n+K``
    to the value at ``n + p/up``. The bound (largest column sum of absolute
    taps) says how far above a neighbourhood's sample peak an interpolated
    value can go, which lets callers skip quiet neighbourhoods safely.
    """
    half = _TP_HALF_TAPS * up
    taps = kaiser_lowpass(2 * half + 1, _TP_CUTOFF / up, _TP_BETA) * up
    offsets = np.arange(-_TP_HALF_TAPS, _TP_HALF_TAPS + 1)
    phases = np.arange(up)
    index = half + phases[None, :] - offsets[:, None] * up
    valid = (index >= 0) & (index <= 2 * half)
    matrix = np.where(valid, taps[np.clip(index, 0, 2 * half)], 0.0)
    matrix[:, 0] = 0.0
    matrix[_TP_HALF_TAPS, 0] = 1.0  # phase 0 is the sample itself
    bound = float(np.abs(matrix).sum(axis=0).max())
    return matrix, bound


def _envelope(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(level, coarse)``: per-sample peak over channels, zero-padded
    to whole coarse blocks, and the peak of each coarse block."""
    n = audio.shape[0]
    dtype = np.float32 if audio.dtype == np.float32 else np.float64
    level = np.zeros(-(-n // _TP_COARSE) * _TP_COARSE, dtype=dtype)
    np.abs(audio[:, 0], out=level[:n])
    for channel in range(1, audio.shape[1]):
        np.maximum(level[:n], np.abs(audio[:, channel]), out=level[:n])
    # numpy reduces long rows fast and short ones slowly, hence two levels.
    coarse = level.reshape(-1, _TP_COARSE).max(axis=1)
    return level, coarse


def _dilate(values: np.ndarray) -> np.ndarray:
    """Return the maximum of each element and its two neighbours."""
    out = values.copy()
    np.maximum(out[1:], values[:-1], out=out[1:])
    np.maximum(out[:-1], values[1:], out=out[:-1])
    return out


def _interval_peaks(
    audio: np.ndarray,
    sample_rate: int,
    threshold: float,
    envelope: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Find the samples whose following interval may exceed ``threshold``.

    Returns ``(indices, peaks)``: for each candidate sample ``n`` the largest
    absolute oversampled value in ``[n, n+1)`` across channels. Samples not
    returned provably stay at or below ``threshold``: an interpolated value is
    at most ``bound`` times the largest sample within reach.
    """
    up = _oversampling(sample_rate)
    matrix, bound = _interpolation_matrix(up)
    n = audio.shape[0]
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    if n == 0:
        return empty
    level, coarse = envelope if envelope is not None else _envelope(audio)
    candidate = _candidate_blocks(level, coarse, threshold / bound)
    if candidate is None:
        return empty
    # Gather the candidate blocks and their neighbours into one compact
    # signal. Each candidate's reach lies inside its own run of consecutive
    # blocks, so filtering the compact signal gives exact values there;
    # beyond either end of the clip the signal is zero, as the filter pads.
    needed = np.flatnonzero(_dilate(candidate))
    kept_rows = np.flatnonzero(candidate[needed])
    peaks = _block_peaks(audio, needed, kept_rows, matrix, up)
    samples = (needed[kept_rows, None] * _TP_BLOCK + np.arange(_TP_BLOCK)).ravel()
    peaks_flat = peaks.ravel().astype(np.float64)
    real = samples < n
    return samples[real], peaks_flat[real]


def _candidate_blocks(
    level: np.ndarray, coarse: np.ndarray, floor: float
) -> np.ndarray | None:
    """Flag the blocks of ``_TP_BLOCK`` samples whose neighbourhood peaks over
    ``floor`` (the threshold over the interpolator's gain bound): only there
    can an interpolated value exceed the threshold. ``None`` when none does."""
    # Coarse screen first; fine blocks are measured only near loud coarse ones.
    loud = _dilate(coarse) > floor
    if not loud.any():
        return None
    rows = np.flatnonzero(_dilate(loud))
    per_row = _TP_COARSE // _TP_BLOCK
    fine = level.reshape(-1, _TP_COARSE)[rows].ravel()
    # Pairwise halving: numpy reduces a short trailing axis slowly.
    step = 1
    while step < _TP_BLOCK:
        fine = np.maximum(fine[0::2], fine[1::2])
        step *= 2
    block_peaks = np.zeros((coarse.size, per_row), dtype=level.dtype)
    block_peaks[rows] = fine.reshape(rows.size, per_row)
    block_peaks = block_peaks.ravel()
    # The interpolator reaches _TP_HALF_TAPS <= _TP_BLOCK samples, so a
    # block's neighbourhood is itself and its two neighbours.
    candidate = _dilate(block_peaks) > floor
    if not candidate.any():
        return None
    return candidate


def _block_peaks(
    audio: np.ndarray,
    needed: np.ndarray,
    kept_rows: np.ndarray,
    matrix: np.ndarray,
    up: int,
) -> np.ndarray:
    """Oversample the blocks ``needed`` as one compact signal and return, for
    the blocks at ``kept_rows`` of it, each sample's interval peak
    (``(len(kept_rows), _TP_BLOCK)``, the largest over channels)."""
    n = audio.shape[0]
    full = n // _TP_BLOCK
    inside = needed[needed < full]
    dtype = np.float32 if audio.dtype == np.float32 else np.float64
    phases = matrix.astype(dtype)
    peaks = np.zeros((kept_rows.size, _TP_BLOCK), dtype=dtype)
    for channel in range(audio.shape[1]):
        column = audio[:, channel]
        compact = np.zeros((needed.size, _TP_BLOCK), dtype=dtype)
        compact[: inside.size] = column[: full * _TP_BLOCK].reshape(full, -1)[inside]
        if inside.size < needed.size and full * _TP_BLOCK < n:
            # Only the clip's last, partial block can follow the whole ones.
            tail = column[full * _TP_BLOCK :]
            compact[inside.size, : tail.size] = tail
        np.maximum(peaks, np.abs(compact[kept_rows]), out=peaks)
        flat = compact.ravel()
        for phase in range(1, up):
            values = np.correlate(flat, phases[:, phase], mode="same")
            values = values.reshape(needed.size, _TP_BLOCK)[kept_rows]
            np.maximum(peaks, np.abs(values), out=peaks)
    return peaks


def _to_db(value: float) -> float:
    """Convert a linear amplitude to dB, -inf for zero."""
    return 20.0 * math.log10(value) if value > 0.0 else -math.inf


def true_peak_dbtp(x: np.ndarray, sample_rate: int) -> float:
    """Return the BS.1770-4 true peak of ``x`` in dBTP (``-inf`` when silent)."""
    audio = as_2d(x)
    if audio.size == 0:
        return -math.inf
    envelope = _envelope(audio)
    sample_peak = float(envelope[1].max())
    if sample_peak == 0.0:
        return -math.inf
    _, peaks = _interval_peaks(audio, sample_rate, sample_peak, envelope)
    return _to_db(max(sample_peak, float(peaks.max(initial=0.0))))


def _hold_max(values: np.ndarray, length: int) -> np.ndarray:
    """Return ``out[n] = max(values[n-length+1 .. n])`` (window cut at 0)."""
    out = values.copy()
    span = 1
    # Doubling: after each pass out[n] covers values[n-2*span+1 .. n].
    while span < length:
        shift = min(span, length - span)
        np.maximum(out[shift:], out[:-shift], out=out[shift:])
        span += shift
    return out


def _release(
    hold_db: np.ndarray, release_samples: float, carry: float = 0.0, at: int = -1
) -> tuple[np.ndarray, float]:
    """Let attenuation decay exponentially (time constant in samples).

    ``out[n] = max_k hold[k] * exp(-(n-k)/tau)`` is a running maximum in the
    log domain, so it needs no Python loop. ``carry`` is the curve's value
    just before ``hold_db`` starts (when computed a chunk at a time); the
    value at the last sample is returned for the next chunk, before the
    floor snaps small values to zero (``at`` picks another sample for it).
    """
    n = hold_db.size
    # A chunk's curve is computed in float32, whose log and exp numpy
    # vectorizes (float64's it does not, 3-4x slower): the ramp stays under
    # 65536 / release_samples, so the gain is right to ~2e-6 relative. Longer
    # stretches (one-piece callers) keep float64, as the ramp grows with them.
    work: type[np.floating[Any]] = (
        np.float32 if n <= _RELEASE_F32_SAMPLES else np.float64
    )
    ramp: np.ndarray = np.arange(n, dtype=work)
    ramp *= work(1.0 / release_samples)
    with np.errstate(divide="ignore"):
        acc = np.log(hold_db.astype(work))
        acc += ramp
        np.maximum.accumulate(acc, out=acc)
        if carry > 0.0:
            np.maximum(acc, work(math.log(carry) - 1.0 / release_samples), out=acc)
    acc -= ramp
    decayed = np.exp(acc).astype(np.float64, copy=False)
    last = float(decayed[at]) if n else carry
    decayed[decayed < _RELEASE_FLOOR_DB] = 0.0
    return decayed, last


def _box_forward(values: np.ndarray, length: int) -> np.ndarray:
    """Return ``out[n] = mean(values[n .. n+length-1])``, the tail held flat."""
    padded = np.concatenate([values, np.full(length - 1, values[-1])])
    sums = np.concatenate([[0.0], np.cumsum(padded)])
    # Adding 0.0 leaves a float unchanged, so a window of zeros gives exactly
    # 0.0 and the gain away from peaks stays exactly 1.0.
    means: np.ndarray = (sums[length:] - sums[:-length]) / length
    return means


def _gain_reduction_db(
    n: int,
    events: np.ndarray,
    needs_db: np.ndarray,
    lookahead: int,
    release_samples: float,
) -> Iterator[tuple[int, np.ndarray]]:
    """Build the attenuation curve (dB) around each event, as disjoint pieces.

    Each event ``n`` needing ``A`` dB gets a curve that is >= ``A`` from ``n``
    to ``n + lookahead - 1``: a max-hold of ``lookahead`` samples, then an
    exponential release, then a forward moving average of ``lookahead``
    samples that turns the step into a ramp starting ``lookahead`` samples
    early. Only stretches near events are computed, so the cost follows the
    number of peaks, not the length of the clip; a stretch is computed
    ``_LIMITER_CHUNK`` samples at a time, so memory does not follow it either
    (a 45 s utterance of dense peaks held ~150 MB of curves at once).
    """
    tails = np.ceil(
        release_samples
        * np.log(np.maximum(needs_db, _RELEASE_FLOOR_DB) / _RELEASE_FLOOR_DB)
    ).astype(np.int64)
    starts = np.maximum(events - lookahead, 0)
    ends = np.minimum(events + 2 * lookahead + tails + 2, n)
    reach = np.maximum.accumulate(ends)
    breaks = np.flatnonzero(starts[1:] > reach[:-1]) + 1
    for group in np.split(np.arange(events.size), breaks):
        lo = int(starts[group].min())
        hi = int(reach[group[-1]])
        yield from _group_curve(
            lo, hi, events[group], needs_db[group], lookahead, release_samples
        )


def _group_curve(
    lo: int,
    hi: int,
    events: np.ndarray,
    needs_db: np.ndarray,
    lookahead: int,
    release_samples: float,
) -> Iterator[tuple[int, np.ndarray]]:
    """One group's curve over ``[lo, hi)``, a chunk at a time.

    A chunk ``[a, b)`` needs the events ``lookahead - 1`` samples before it
    (the hold), ``lookahead - 1`` samples of curve after it (the moving
    average; at the group's end the curve is held flat, as in one piece),
    and the release's value just before it (carried).
    """
    reach = lookahead - 1
    carry = 0.0
    for a in range(lo, hi, _LIMITER_CHUNK):
        b = min(a + _LIMITER_CHUNK, hi)
        left, right = max(lo, a - reach), min(hi, b + reach)
        i0, i1 = np.searchsorted(events, [left, right])
        required = np.zeros(right - left)
        np.maximum.at(required, events[i0:i1] - left, needs_db[i0:i1])
        held = _hold_max(required, lookahead)[a - left :]
        decayed, carry = _release(held, release_samples, carry, at=b - a - 1)
        released = np.maximum(decayed, held)
        yield a, _box_forward(released, lookahead)[: b - a]


def limit_true_peak(
    x: np.ndarray,
    sample_rate: int,
    ceiling_dbtp: float = -1.5,
    lookahead_ms: float = 2.0,
    release_ms: float = 60.0,
    *,
    inplace: bool = False,
) -> np.ndarray:
    """Reduce gain so the oversampled true peak stays at or below the ceiling.

    The gain ramps down over ``lookahead_ms`` before a peak (no clicks), holds,
    and recovers with an exponential release of time constant ``release_ms``.
    Channels share one gain so the stereo image does not move. Away from peaks
    the gain is exactly 1.0, so material that needs no limiting is untouched.
    Returns a new array of the input's float dtype; with ``inplace`` (``x`` a
    float array) ``x`` itself is limited and returned: a mastering chain that
    owns its arrays need not pay for a fresh one per step.
    """
    audio = as_2d(x)
    dtype = float_dtype(np.asarray(x))
    out = owned(x, dtype, inplace)
    n = audio.shape[0]
    if n == 0:
        return out
    lookahead = max(1, round(lookahead_ms * sample_rate / 1000.0))
    release_samples = max(1.0, release_ms * sample_rate / 1000.0)
    # Aim 0.01 dB under the ceiling and accept up to 0.005 dB under it: gain
    # changes bend the waveform by far less than that, so one pass usually
    # suffices and the check pass finds nothing.
    target = 10.0 ** ((ceiling_dbtp - 0.01) / 20.0)
    ceiling = 10.0 ** ((ceiling_dbtp - 0.005) / 20.0)
    current = as_2d(out)
    for _ in range(_LIMITER_PASSES):
        samples, peaks = _interval_peaks(current, sample_rate, ceiling)
        over = peaks > ceiling
        if not over.any():
            return out
        # The interval [n, n+1) is shaped by the gains at both n and n + 1.
        # Gain changes bend the waveform a little, so a later pass may find
        # small overshoots left and reduce them in turn.
        events = np.concatenate([samples[over], np.minimum(samples[over] + 1, n - 1)])
        needs = np.tile(20.0 * np.log10(peaks[over] / target), 2)
        order = np.argsort(events, kind="stable")
        pieces = _gain_reduction_db(
            n, events[order], needs[order], lookahead, release_samples
        )
        for lo, reduction_db in pieces:
            gain = reduction_db.astype(dtype)
            gain *= dtype.type(-math.log(10.0) / 20.0)
            np.exp(gain, out=gain)  # exactly 1.0 where nothing is reduced
            current[lo : lo + gain.size] *= gain[:, None]
    # Not reached on any material tried; a plain gain still keeps the promise.
    peak = 10.0 ** (true_peak_dbtp(out, sample_rate) / 20.0)
    if peak > ceiling:
        logger.warning("limiter did not converge; scaling the clip instead")
        out *= dtype.type(ceiling / peak)
    return out


def apply_gain_db(
    x: np.ndarray, gain_db: float, *, inplace: bool = False
) -> np.ndarray:
    """Return ``x`` scaled by ``gain_db`` decibels, keeping its float dtype.

    With ``inplace`` (``x`` a float array) ``x`` itself is scaled and returned.
    """
    arr = np.asarray(x)
    dtype = float_dtype(arr)
    scaled = owned(arr, dtype, inplace)
    scaled *= dtype.type(10.0 ** (gain_db / 20.0))
    return scaled
