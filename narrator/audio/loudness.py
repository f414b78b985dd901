"""Loudness as BS.1770-4 / EBU R128 measures it: K-weighting, gating, a meter.

Loudness follows ITU-R BS.1770-4 / EBU R128 (K-weighting, 400 ms blocks with
75 % overlap, absolute gate -70 LUFS, relative gate -10 LU). The one
implementation is :class:`LoudnessMeter`, which streams: a section's gain is
set from its loudness as laid out with its pauses, and the section is never
held whole. :func:`integrated_loudness` is the same meter fed one array, so a
one-shot reading and a streamed one never disagree by method.

Arrays are float, shaped ``(n,)`` (mono) or ``(n, channels)``, full scale
``[-1, 1]``. Like every DSP module of the audio package this one imports no
narrator module (pure numpy, the bottom of the import graph).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from narrator.audio.arrays import as_2d

__all__ = ["LoudnessMeter", "integrated_loudness"]

_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
# BS.1770: loudness = -0.691 + 10 log10(sum of channel mean squares), the
# offset making a 997 Hz stereo sine at -23 dBFS read -23 LUFS after K-weighting.
_LOUDNESS_OFFSET = -0.691
_BLOCK_STEPS = 4  # a 400 ms block is four 100 ms steps (75 % overlap)
_METER_WINDOWS_PER_STEP = 5  # meter windows per 100 ms step (20 ms each)


@functools.cache
def _k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Return the two K-weighting biquads for ``sample_rate`` as an SOS array.

    The analog prototypes (high shelf and RLB high-pass) are mapped with the
    bilinear transform as libebur128 does, so every sample rate gets a filter,
    not only the 48 kHz one BS.1770-4 tabulates.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
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


# The K-weighting impulse response is cut after this long: its slowest pole
# (the 38 Hz RLB high-pass, time constant ~4 ms) has decayed below 1e-9 of
# the first tap by then, and the energy cut is below 1e-16 of the total.
_K_IR_SECONDS = 0.08
# FFT size of the meter's convolution, in multiples of the response's length:
# smaller wastes work on the overlap, larger falls out of the CPU caches.
_OLA_FFT_PER_TAPS = 4


@functools.cache
def _k_weighting_ir(sample_rate: int) -> np.ndarray:
    """Return the K-weighting filter's impulse response (both biquads, cascaded).

    Filtering is done by FFT convolution with this response instead of a
    recursive filter: numpy has no IIR filter, and scipy.signal costs more
    than a second to import, which every rebuild would pay.
    """
    n = max(64, int(_K_IR_SECONDS * sample_rate))
    x = [0.0] * n
    x[0] = 1.0
    for b0, b1, b2, _a0, a1, a2 in _k_weighting_sos(sample_rate).tolist():
        y = [0.0] * n
        z1 = z2 = 0.0  # direct form II transposed
        for i, xi in enumerate(x):
            yi = b0 * xi + z1
            z1 = b1 * xi - a1 * yi + z2
            z2 = b2 * xi - a2 * yi
            y[i] = yi
        x = y
    response = np.asarray(x, dtype=np.float64)
    response.setflags(write=False)  # cached and shared by every meter
    return response


@functools.cache
def _k_weighting_spectrum(sample_rate: int, nfft: int) -> np.ndarray:
    """Return the rfft of the K-weighting impulse response, zero-padded to nfft."""
    spectrum = np.fft.rfft(_k_weighting_ir(sample_rate), nfft)
    spectrum.setflags(write=False)
    return spectrum


class LoudnessMeter:
    """Integrated loudness (BS.1770-4 / EBU R128) of audio fed piece by piece.

    A section's gain is set from its loudness as a listener hears it: laid
    out with its pauses, since the 400 ms blocks that straddle speech and
    silence count in the gating of the final file. The section is rendered one
    utterance at a time and never exists as one array (a 4-minute section in
    float64 was ~150 MB), so the meter takes utterances and silences in turn
    (:meth:`feed`, :meth:`feed_silence`) and keeps, per 20 ms window, only the
    K-weighted energy and the sample peak (about 100 numbers per second of
    audio), plus the K-filter's state: 80 ms of ringing and less than a
    window of samples. Pieces are filtered in FFT blocks of a few times the
    filter's length (6k samples at 22.05 kHz).

    The K-weighting is an FFT convolution with the filter's impulse response,
    carried across pieces (overlap-add): numpy has no recursive filter and
    scipy costs more than a second to import. It matches the recursive
    biquads to 1e-9, so a signal fed in any pieces reads what one feed reads,
    and what the standard's time-domain filter reads, at every frequency. It
    costs about a second of CPU per 15 minutes of 22.05 kHz audio. All
    channels weigh 1.0 (mono and stereo are what narrator writes).
    """

    def __init__(self, sample_rate: int, channels: int = 1) -> None:
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self._rate = sample_rate
        self._channels = channels
        self._step = max(1, round(sample_rate * 0.1))  # BS.1770's 100 ms hop
        # Five windows per step when the step allows it (every common rate).
        per_step = _METER_WINDOWS_PER_STEP
        self._per_step = per_step if self._step % per_step == 0 else 1
        self._window = self._step // self._per_step
        response = _k_weighting_ir(sample_rate)
        self._taps = response.shape[0]
        self._nfft = 1 << (_OLA_FFT_PER_TAPS * self._taps - 1).bit_length()
        self._block = self._nfft - self._taps + 1  # input samples per FFT
        self._spectrum = _k_weighting_spectrum(sample_rate, self._nfft)
        # Filter output still to come from samples already fed (ringing).
        self._ringing = np.zeros((self._taps - 1, channels))
        # Samples of an unfinished window: as fed (for peaks), and K-weighted.
        self._raw = np.zeros((0, channels))
        self._weighted = np.zeros((0, channels))
        self._energy: list[np.ndarray] = []
        self._peak: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        """Add the next piece ``x``, shaped ``(n,)`` or ``(n, channels)``."""
        piece = as_2d(np.asarray(x))
        if piece.shape[1] != self._channels:
            raise ValueError(
                f"meter expects {self._channels} channel(s), got {piece.shape[1]}"
            )
        for start in range(0, piece.shape[0], self._block):
            block = piece[start : start + self._block]
            self._count(block, self._k_weight(block))

    def feed_silence(self, n: int) -> None:
        """Add ``n`` samples of digital silence, without materializing them.

        The filter rings on for a while into the silence; after that, and
        once the unfinished window is filled, whole windows of zeros are
        counted without touching any sample.
        """
        n = max(n, 0)
        if self._ringing.any():
            # One block (longer than the response) of zeros: what rings on
            # after it is exactly zero, so the rest needs no filtering.
            flush = min(n, self._taps - 1)
            self.feed(np.zeros((flush, self._channels)))
            n -= flush
        fill = min(n, -self._raw.shape[0] % self._window)
        if fill:
            zeros = np.zeros((fill, self._channels))
            self._count(zeros, zeros)
            n -= fill
        whole = n // self._window
        if whole:
            self._energy.append(np.zeros(whole))
            self._peak.append(np.zeros(whole))
        rest = np.zeros((n - whole * self._window, self._channels))
        self._count(rest, rest)

    def _k_weight(self, block: np.ndarray) -> np.ndarray:
        """K-weight one block (each channel), carrying the ringing onwards."""
        n = block.shape[0]
        out = np.empty((n, self._channels))
        if n == 0:
            return out
        size = n + self._taps - 1
        ringing = np.empty((self._taps - 1, self._channels))
        for channel in range(self._channels):
            column = block[:, channel].astype(np.float64)
            spectrum = np.fft.rfft(column, self._nfft) * self._spectrum
            conv = np.fft.irfft(spectrum, self._nfft)[:size]
            conv[: self._taps - 1] += self._ringing[:, channel]
            out[:, channel] = conv[:n]
            ringing[:, channel] = conv[n:]
        self._ringing = ringing
        return out

    def _count(self, raw: np.ndarray, weighted: np.ndarray) -> None:
        """Add the windows that ``raw`` (as fed) and ``weighted`` complete."""
        size = self._window
        head = min(raw.shape[0], -self._raw.shape[0] % size)
        if head or self._raw.shape[0]:
            # Finish the window left unfinished by the previous piece.
            self._raw = np.concatenate([self._raw, raw[:head]])
            self._weighted = np.concatenate([self._weighted, weighted[:head]])
            raw, weighted = raw[head:], weighted[head:]
            if self._raw.shape[0] < size:
                return
            self._windows(self._raw, self._weighted)
        whole = raw.shape[0] // size * size
        if whole:
            self._windows(raw[:whole], weighted[:whole])
        self._raw = raw[whole:].copy()
        self._weighted = weighted[whole:].copy()

    def _windows(self, raw: np.ndarray, weighted: np.ndarray) -> None:
        """Record the energy and peak of whole windows of samples."""
        size = self._window
        energy = np.zeros(raw.shape[0] // size)
        peak = np.zeros(raw.shape[0] // size)
        # Channel by channel: numpy reduces a short trailing axis slowly.
        for channel in range(self._channels):
            column = weighted[:, channel]
            energy += np.square(column).reshape(-1, size).sum(axis=1)
            level = np.abs(raw[:, channel]).reshape(-1, size).max(axis=1)
            np.maximum(peak, level, out=peak)
        self._energy.append(energy)
        self._peak.append(peak)

    def integrated_lufs(
        self,
        gain_db: float = 0.0,
        *,
        ceiling_dbtp: float | None = None,
        release_ms: float = 60.0,
    ) -> float:
        """Return the integrated loudness after ``gain_db`` (``-inf`` when silent).

        Reading does not change the meter, and the gain is applied to what was
        measured: mastering searches the gain that lands on a target without
        holding or re-measuring the audio. With ``ceiling_dbtp``, the reading
        models :func:`narrator.audio.peaks.limit_true_peak` with that ceiling
        and ``release_ms`` (see :meth:`_limited`).
        """
        # One array each, kept: mastering reads a meter a dozen times, and an
        # hours-long section has ~100,000 windows' pieces.
        self._energy = [np.concatenate(self._energy)] if self._energy else []
        self._peak = [np.concatenate(self._peak)] if self._peak else []
        energy = self._energy[0] if self._energy else np.zeros(0)
        if ceiling_dbtp is not None and energy.size:
            energy = self._limited(energy, gain_db, ceiling_dbtp, release_ms)
        return self._gated(energy * 10.0 ** (gain_db / 10.0))

    def _limited(
        self, energy: np.ndarray, gain_db: float, ceiling_dbtp: float, release_ms: float
    ) -> np.ndarray:
        """Return ``energy`` as the limiter would leave it, before ``gain_db``.

        Each window whose peak (after ``gain_db``) exceeds the ceiling is
        attenuated by the excess, and the attenuation decays with the release.
        On speech peaking 2 dB over the ceiling (what mastering meets) this
        reads within 0.05 LU of the real limiter; it attenuates whole windows,
        so with more overshoot it errs towards more loss (0.7 LU at 11 dB over).
        """
        # In place, in the order of the formula: an hours-long section
        # reads this with a few arrays of ~1M windows, not a dozen.
        work = self._peak[0].copy()
        with np.errstate(divide="ignore"):
            np.log10(work, out=work)
            work *= 20.0
            work += gain_db
            work -= ceiling_dbtp
            np.maximum(work, 0.0, out=work)  # the excess over the ceiling
            ramp = np.arange(work.size) * (
                self._window / self._rate / (release_ms / 1000.0)
            )
            np.log(work, out=work)
            work += ramp
            np.maximum.accumulate(work, out=work)
            work -= ramp
            del ramp
            np.exp(work, out=work)  # the attenuation (dB)
        np.divide(work, -10.0, out=work)
        np.power(10.0, work, out=work)
        work *= energy
        return work

    def _gated(self, energy: np.ndarray) -> float:
        """Return the gated loudness of windows of ``energy`` (BS.1770 blocks)."""
        size = _BLOCK_STEPS * self._per_step  # windows per 400 ms block
        if energy.size < size:
            return -math.inf
        sums = np.empty(energy.size + 1)
        sums[0] = 0.0
        np.cumsum(energy, out=sums[1:])
        del energy
        starts = np.arange(0, sums.size - size, self._per_step)
        blocks = (sums[starts + size] - sums[starts]) / (size * self._window)
        with np.errstate(divide="ignore"):
            block_lufs = _LOUDNESS_OFFSET + 10.0 * np.log10(blocks)
        kept = blocks[block_lufs > _ABSOLUTE_GATE_LUFS]
        if not kept.size:
            return -math.inf
        gate = _LOUDNESS_OFFSET + 10.0 * math.log10(float(kept.mean()))
        gate += _RELATIVE_GATE_LU
        with np.errstate(divide="ignore"):
            kept = kept[_LOUDNESS_OFFSET + 10.0 * np.log10(kept) > gate]
        return _LOUDNESS_OFFSET + 10.0 * math.log10(float(kept.mean()))


# One-shot measures feed the meter this many samples at a time, so a long
# recording costs a chunk's float64 copy, not the recording's.
_ONE_SHOT_CHUNK = 1 << 20


def integrated_loudness(x: np.ndarray, sample_rate: int) -> float:
    """Return the integrated loudness of ``x`` in LUFS (``-inf`` when silent).

    The same measure as :class:`LoudnessMeter`, so a one-shot reading and a
    section's streamed one never disagree by method.
    """
    audio = as_2d(x)
    meter = LoudnessMeter(sample_rate, audio.shape[1])
    for start in range(0, audio.shape[0], _ONE_SHOT_CHUNK):
        meter.feed(audio[start : start + _ONE_SHOT_CHUNK])
    return meter.integrated_lufs()
