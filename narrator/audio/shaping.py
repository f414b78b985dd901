"""Shape PCM: trim silence, fade edges, resample, convert to and from int16.

Silence trimming has one implementation, :func:`trim_silence`, whose options
cover every caller: clips trimmed after synthesis, the silence an utterance
kept at its edges, gTTS pieces joined into one utterance.

Functions are pure and work on numpy arrays shaped ``(n,)`` (mono) or
``(n, channels)``, full scale being ``[-1, 1]`` in float. Callers pass one
clip at a time (a sentence or a section), and nothing allocates much more
than the clip. Like every DSP module of the audio package this one imports
no narrator module (pure numpy, the bottom of the import graph).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from narrator.audio.arrays import as_2d, float_dtype, owned

__all__ = ["fade", "from_int16", "resample", "to_int16", "trim_silence"]

_SILENCE_GATES = ("rms", "peak")


def trim_silence(
    x: np.ndarray,
    sample_rate: int,
    threshold_db: float = -50.0,
    keep_ms: float = 0.0,
    *,
    gate: Literal["rms", "peak"] = "rms",
    window_ms: float = 10.0,
    exact: bool = True,
) -> tuple[int, int]:
    """Return ``(start, end)`` sample indices of the non-silent part of ``x``.

    Sound is what exceeds ``threshold_db`` (dBFS, 0 dB = 1.0), judged per
    window of ``window_ms``: with ``gate="rms"`` a window is loud when its RMS
    does, so a lone click in a quiet stretch does not count as speech; with
    ``gate="peak"`` when any of its samples does, so nothing audible is lost.
    With ``exact`` the edges are refined to the first and last sample whose
    magnitude exceeds the threshold inside the first and last loud windows, so
    the amount trimmed does not jitter with window alignment (with the peak
    gate these are simply the first and last loud samples, whatever the
    window); without it the edges stay on the window grid. ``keep_ms`` of
    margin is kept on each side, never beyond the clip. Channels are judged
    together (mean square, largest magnitude). All-silent input gives
    ``(0, 0)``.
    """
    if gate not in _SILENCE_GATES:
        raise ValueError(f"gate must be one of {_SILENCE_GATES}, got {gate!r}")
    audio = as_2d(x)
    n = audio.shape[0]
    if n == 0:
        return 0, 0
    level = np.abs(audio[:, 0]).astype(np.float64)
    for channel in range(1, audio.shape[1]):
        np.maximum(level, np.abs(audio[:, channel]), out=level)
    threshold = 10.0 ** (threshold_db / 20.0)
    window = max(1, round(sample_rate * window_ms / 1000.0))
    if gate == "peak":
        above = level > threshold
        first_sample = int(np.argmax(above))
        if not above[first_sample]:
            return 0, 0
        last_sample = n - 1 - int(np.argmax(above[::-1]))
        if exact:
            start, end = first_sample, last_sample + 1
        else:
            start = first_sample // window * window
            end = min(n, (last_sample // window + 1) * window)
    else:
        start, end = _rms_bounds(audio, level, window, threshold, exact)
        if start == end:
            return 0, 0
    keep = round(keep_ms * sample_rate / 1000.0)
    return max(0, start - keep), min(n, end + keep)


def _rms_bounds(
    audio: np.ndarray, level: np.ndarray, window: int, threshold: float, exact: bool
) -> tuple[int, int]:
    """Return the sound's edges for :func:`trim_silence`'s RMS gate, ``(0, 0)``
    when no window is loud."""
    n = audio.shape[0]
    n_windows = -(-n // window)
    squares = np.zeros(n_windows * window)
    np.square(np.abs(audio[:, 0]).astype(np.float64), out=squares[:n])
    for channel in range(1, audio.shape[1]):
        squares[:n] += np.square(np.abs(audio[:, channel]).astype(np.float64))
    squares /= audio.shape[1]
    rms = np.sqrt(squares.reshape(n_windows, window).mean(axis=1))
    loud = np.flatnonzero(rms > threshold)
    if loud.size == 0:
        return 0, 0
    first = int(loud[0]) * window
    last = int(loud[-1]) * window
    if not exact:
        return first, min(last + window, n)
    # A window whose RMS exceeds the threshold has a sample that does.
    start = first + int(np.argmax(level[first : first + window] > threshold))
    above = np.flatnonzero(level[last : last + window] > threshold)
    end = last + int(above[-1]) + 1 if above.size else min(last + window, n)
    return start, end


def fade(
    x: np.ndarray,
    sample_rate: int,
    in_ms: float = 5.0,
    out_ms: float = 5.0,
    *,
    inplace: bool = False,
) -> np.ndarray:
    """Return ``x`` with raised-cosine fades at both edges so joins never click.

    When the clip is shorter than both fades, they are shortened in proportion.
    With ``inplace`` (``x`` a float array) ``x`` itself is faded and returned.
    """
    arr = np.asarray(x)
    dtype = float_dtype(arr)
    out = owned(arr, dtype, inplace)
    n = out.shape[0]
    n_in = max(0, round(in_ms * sample_rate / 1000.0))
    n_out = max(0, round(out_ms * sample_rate / 1000.0))
    if n_in + n_out > n and n_in + n_out > 0:
        scale = n / (n_in + n_out)
        n_in, n_out = int(n_in * scale), int(n_out * scale)
    if n_in:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_in) + 0.5) / n_in)
        out[:n_in] *= ramp.astype(dtype).reshape((n_in,) + (1,) * (out.ndim - 1))
    if n_out:
        ramp = 0.5 + 0.5 * np.cos(np.pi * (np.arange(n_out) + 0.5) / n_out)
        out[n - n_out :] *= ramp.astype(dtype).reshape((n_out,) + (1,) * (out.ndim - 1))
    return out


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample along the first axis with a polyphase filter.

    The output has ``n * sr_out / sr_in`` samples rounded to the nearest (exact
    when that is whole) and the input's float dtype;
    equal rates return a copy.
    """
    arr = np.asarray(x)
    dtype = float_dtype(arr)
    if sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_in}, {sr_out}")
    if sr_in == sr_out:
        return np.array(arr, dtype=dtype, copy=True)
    import soxr  # libsoxr: fast, high quality, and cheap to import

    out = soxr.resample(
        np.ascontiguousarray(arr, dtype=np.float32), sr_in, sr_out, quality="HQ"
    )
    return np.asarray(out, dtype=dtype)


def to_int16(x: np.ndarray, *, dither: bool = False, seed: int = 0) -> np.ndarray:
    """Convert float full scale to int16, clipping; TPDF dither on request.

    Dither is off by default so the same input always gives the same bytes
    (the cache and the tests rely on it); ``seed`` makes dithered output
    reproducible too.
    """
    scaled = np.asarray(x, dtype=np.float64) * 32768.0
    if dither:
        rng = np.random.default_rng(seed)
        scaled = scaled + rng.random(scaled.shape) - rng.random(scaled.shape)
    return np.clip(np.rint(scaled), -32768, 32767).astype(np.int16)


def from_int16(a: np.ndarray) -> np.ndarray:
    """Convert int16 samples to float32 full scale (``/ 32768``)."""
    return np.asarray(a, dtype=np.int16).astype(np.float32) / np.float32(32768.0)
