"""Tests for narrator.audio.loudness, .peaks and .shaping, checked against
ffmpeg's ebur128 filter where it counts, and against the time-domain reference
in tests/loudness_ref.py."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import signal

from narrator.audio import peaks
from narrator.audio.loudness import LoudnessMeter, integrated_loudness
from narrator.audio.peaks import (
    apply_gain_db,
    kaiser_lowpass,
    limit_true_peak,
    true_peak_dbtp,
)
from narrator.audio.shaping import fade, from_int16, resample, to_int16, trim_silence

from . import loudness_ref
from .signals import RATES, ebur128, pink_noise, speech_like, tone


def interval_gain(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the per-sample gain y/x where x is not tiny."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(x) > 1e-3, y / x, np.nan)


# --- loudness -------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
def test_sine_reads_its_known_loudness(sample_rate: int) -> None:
    # BS.1770: the K-filter gain at 1 kHz cancels the -0.691 offset, so a mono
    # sine of amplitude A reads 20 log10(A) - 3.01 (its mean square is A^2/2)
    # and the same sine on both stereo channels reads 20 log10(A).
    x = tone(sample_rate, 5.0, 1000.0, 0.1)
    assert integrated_loudness(x, sample_rate) == pytest.approx(-23.01, abs=0.05)
    stereo = np.stack([x, x], axis=1)
    assert integrated_loudness(stereo, sample_rate) == pytest.approx(-20.0, abs=0.05)


@pytest.mark.parametrize("sample_rate", RATES)
def test_loudness_and_true_peak_agree_with_ffmpeg(sample_rate: int) -> None:
    signals = {
        "tone": tone(sample_rate, 4.0, 1000.0, 0.3),
        "pink": pink_noise(sample_rate, 4.0, 0.05, seed=1),
        "speech-like": speech_like(sample_rate, 8.0, seed=2),
        "quarter-rate tone": tone(sample_rate, 3.0, sample_rate / 4, 0.5, np.pi / 4),
    }
    for name, x in signals.items():
        ref_lufs, ref_peak = ebur128(x, sample_rate)
        lufs = integrated_loudness(x, sample_rate)
        peak = true_peak_dbtp(x, sample_rate)
        assert lufs == pytest.approx(ref_lufs, abs=0.2), name
        assert peak == pytest.approx(ref_peak, abs=0.3), name


def test_stereo_loudness_agrees_with_ffmpeg() -> None:
    left = speech_like(44100, 8.0, seed=3)
    right = 0.5 * speech_like(44100, 8.0, seed=4)
    x = np.stack([left, right], axis=1)
    ref_lufs, ref_peak = ebur128(x, 44100)
    assert integrated_loudness(x, 44100) == pytest.approx(ref_lufs, abs=0.2)
    assert true_peak_dbtp(x, 44100) == pytest.approx(ref_peak, abs=0.3)


def test_true_peak_sees_intersample_peaks() -> None:
    # A quarter-rate sine at 45 degrees is sampled at 0.707 of its crest.
    x = tone(44100, 1.0, 11025.0, 0.5, np.pi / 4)
    sample_peak_db = 20 * math.log10(float(np.abs(x).max()))
    assert sample_peak_db == pytest.approx(-9.03, abs=0.01)
    assert true_peak_dbtp(x, 44100) == pytest.approx(-6.02, abs=0.05)


def test_silence_and_short_clips_read_minus_infinity_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert integrated_loudness(np.zeros(48000, dtype=np.float32), 48000) == (
            -math.inf
        )
        short = tone(48000, 0.3, 1000.0, 0.5)
        assert integrated_loudness(short, 48000) == -math.inf
        assert integrated_loudness(np.zeros(0), 48000) == -math.inf
        assert true_peak_dbtp(np.zeros(100), 48000) == -math.inf
        assert true_peak_dbtp(np.zeros(0), 48000) == -math.inf
        meter = LoudnessMeter(48000)
        meter.feed_silence(5 * 48000)
        assert meter.integrated_lufs() == -math.inf
        assert meter.integrated_lufs(20.0, ceiling_dbtp=-1.0) == -math.inf


@pytest.mark.parametrize("sample_rate", RATES)
def test_meter_k_weighting_matches_the_recursive_filter(sample_rate: int) -> None:
    """The meter filters by FFT convolution (scipy is too slow to import at run
    time); it must read what scipy's recursive biquads read, from the bass the
    RLB high-pass takes away to the top of the band."""
    rng = np.random.default_rng(5)
    signals = {
        f"{freq:g} Hz": tone(sample_rate, 3.0, freq, 0.2)
        for freq in (30.0, 60.0, 250.0, 1000.0, 1500.0, 6000.0, 0.4 * sample_rate)
    }
    signals["pink"] = pink_noise(sample_rate, 6.0, 0.05, seed=1)
    signals["white"] = rng.standard_normal(sample_rate * 3 + 123) * 0.1
    for name, x in signals.items():
        ours = integrated_loudness(x, sample_rate)
        reference = loudness_ref.integrated_loudness(x, sample_rate)
        assert ours == pytest.approx(reference, abs=1e-6), name


@pytest.mark.parametrize("channels", [1, 2])
def test_meter_fed_in_pieces_reads_the_whole(channels: int) -> None:
    """Utterances and pauses fed in turn read as the section laid out."""
    sample_rate = 22050
    rng = np.random.default_rng(20)
    pieces: list[np.ndarray] = []
    meter = LoudnessMeter(sample_rate, channels)
    for index in range(12):
        silence = int(rng.integers(0, sample_rate))
        meter.feed_silence(silence)
        pieces.append(np.zeros((silence, channels)))
        speech = speech_like(sample_rate, float(rng.uniform(0.05, 2.0)), seed=index)
        speech *= np.float32(rng.uniform(0.1, 1.0))
        piece = np.stack([speech, 0.5 * speech][:channels], axis=1)
        meter.feed(piece[:, 0] if channels == 1 else piece)
        pieces.append(piece)
    whole = np.concatenate(pieces)
    expected = integrated_loudness(whole, sample_rate)
    assert meter.integrated_lufs() == pytest.approx(expected, abs=1e-9)
    assert meter.integrated_lufs() == pytest.approx(
        loudness_ref.integrated_loudness(whole, sample_rate), abs=1e-6
    )
    # A gain is read off what was measured, as if the audio had been scaled.
    for gain_db in (-12.0, -3.3, 4.0):
        scaled = integrated_loudness(apply_gain_db(whole, gain_db), sample_rate)
        assert meter.integrated_lufs(gain_db) == pytest.approx(scaled, abs=1e-6)
    with pytest.raises(ValueError, match="channel"):
        meter.feed(np.zeros((10, channels + 1)))


def test_meter_models_the_limiter() -> None:
    """With a ceiling the meter predicts what limit_true_peak will take away,
    erring towards more loss, and the prediction rises with the gain (the
    mastering bisects on it)."""
    sample_rate = 44100
    x = speech_like(sample_rate, 10.0, seed=3)
    x = apply_gain_db(x, -true_peak_dbtp(x, sample_rate))  # 0 dBTP
    meter = LoudnessMeter(sample_rate)
    meter.feed(x)
    previous = -math.inf
    for gain_db in (0.0, 3.0, 6.0, 9.0):
        limited = limit_true_peak(
            apply_gain_db(x, gain_db), sample_rate, -2.0, release_ms=60.0
        )
        real = integrated_loudness(limited, sample_rate)
        model = meter.integrated_lufs(gain_db, ceiling_dbtp=-2.0, release_ms=60.0)
        assert real - 1.0 < model <= real + 0.05, gain_db
        assert model < meter.integrated_lufs(gain_db) - 0.05
        assert model > previous
        previous = model
        if gain_db == 0.0:  # peaks 2 dB over: the case mastering meets
            assert model == pytest.approx(real, abs=0.1)


# --- limiter --------------------------------------------------------------


def hot_signal(sample_rate: int) -> np.ndarray:
    """Speech-like noise peaking at +6 dBTP plus a burst of intersample peaks.

    The noise is low-passed at 0.8 of Nyquist like real voice recordings and
    TTS output: a 4x meter (ours, BS.1770's, ffmpeg's) under-reads content
    close to Nyquist, where the readings would disagree by a few tenths of dB.
    """
    x = speech_like(sample_rate, 6.0, seed=11)
    lowpass = signal.butter(8, 0.8, output="sos")
    x = signal.sosfilt(lowpass, x).astype(np.float32)
    x = apply_gain_db(x, 6.0 - true_peak_dbtp(x, sample_rate))
    burst = tone(sample_rate, 0.3, sample_rate / 4, 2.0, np.pi / 4, fade_ms=2.0)
    start = 4 * sample_rate
    x[start : start + burst.size] = burst
    return x


@pytest.mark.parametrize("sample_rate", [22050, 44100])
@pytest.mark.parametrize("channels", [1, 2])
def test_limiter_holds_the_ceiling(sample_rate: int, channels: int) -> None:
    x = hot_signal(sample_rate)
    if channels == 2:
        x = np.stack([x, -0.7 * np.roll(x, 999)], axis=1)
    assert true_peak_dbtp(x, sample_rate) > 5.9
    before = x.copy()
    y = limit_true_peak(x, sample_rate, ceiling_dbtp=-1.5)
    assert np.array_equal(x, before)  # the input is left alone
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all()
    assert true_peak_dbtp(y, sample_rate) <= -1.5 + 1e-6
    _, ffmpeg_peak = ebur128(y, sample_rate)
    assert ffmpeg_peak <= -1.5 + 0.1
    if channels == 2:
        # One gain for all channels keeps the image: the ratio is unchanged.
        loud = (np.abs(x) > 1e-2).all(axis=1)
        ratio_in = x[loud, 0] / x[loud, 1]
        np.testing.assert_allclose(y[loud, 0] / y[loud, 1], ratio_in, rtol=1e-4)


def test_limiter_leaves_material_under_the_ceiling_untouched() -> None:
    x = speech_like(44100, 5.0, seed=12)
    x = apply_gain_db(x, -3.0 - true_peak_dbtp(x, 44100))
    y = limit_true_peak(x, 44100, ceiling_dbtp=-1.5)
    assert np.array_equal(y, x)
    assert y is not x


def test_limiter_gain_is_smooth_with_lookahead_and_release() -> None:
    sr = 48000
    n = 2 * sr
    x = np.full(n, 0.5)
    peak = sr // 2
    width = 480
    bump = 0.5 + 1.5 * np.hanning(2 * width + 1)  # up to 2.0 (+6 dBFS)
    x[peak - width : peak + width + 1] = bump
    x = fade(x, sr, 50.0, 50.0)
    y = limit_true_peak(x, sr, ceiling_dbtp=-1.0, lookahead_ms=2.0)
    assert y.dtype == np.float64
    gain = y / x
    ceiling = 10 ** (-1.0 / 20)
    assert float(np.abs(y).max()) <= ceiling
    assert gain.max() == 1.0
    # Unity well before the peak minus the lookahead and after the release.
    lookahead = 96
    assert np.all(gain[: peak - width - lookahead - 2] == 1.0)
    assert np.all(gain[sr + sr // 2 :] == 1.0)
    # The gain is already going down before the first sample over the ceiling.
    first_over = int(np.argmax(x > ceiling))
    assert gain[first_over - lookahead // 2] < 1.0
    assert y[first_over] <= ceiling
    # No clicks: the gain moves by small steps and never by a jump.
    assert float(np.abs(np.diff(gain)).max()) < 0.01
    # The release recovers monotonically after the bump.
    tail = gain[peak + width + lookahead : sr + sr // 2]
    assert np.all(np.diff(tail) >= -1e-12)


def test_limiter_on_quiet_region_after_a_peak_is_exactly_unity() -> None:
    sr = 44100
    x = speech_like(sr, 4.0, seed=13)
    x = apply_gain_db(x, -20.0 - true_peak_dbtp(x, sr))
    burst = tone(sr, 0.2, 1000.0, 1.5, fade_ms=5.0)
    x[sr : sr + burst.size] += burst
    y = limit_true_peak(x, sr, ceiling_dbtp=-2.0, release_ms=50.0)
    assert true_peak_dbtp(y, sr) <= -2.0
    assert np.array_equal(y[: sr - 200], x[: sr - 200])
    assert np.array_equal(y[2 * sr :], x[2 * sr :])
    assert not np.array_equal(y[sr : sr + burst.size], x[sr : sr + burst.size])


def test_limiter_handles_empty_and_silent_input() -> None:
    assert limit_true_peak(np.zeros(0, dtype=np.float32), 44100).size == 0
    silent = np.zeros((1000, 2), dtype=np.float32)
    assert np.array_equal(limit_true_peak(silent, 44100), silent)


# --- edits ----------------------------------------------------------------


def test_apply_gain_db_scales_and_keeps_dtype() -> None:
    x = np.array([0.25, -0.5], dtype=np.float32)
    y = apply_gain_db(x, 20 * math.log10(2))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0.5, -1.0], rtol=1e-6)


def test_trim_silence_finds_the_tone() -> None:
    sr = 24000
    rng = np.random.default_rng(14)
    x = (rng.standard_normal(2 * sr) * 10 ** (-75 / 20)).astype(np.float32)
    t = tone(sr, 1.0, 440.0, 0.5, fade_ms=1.0)
    x[sr // 2 : sr // 2 + t.size] += t
    start, end = trim_silence(x, sr, threshold_db=-50.0)
    assert abs(start - sr // 2) <= sr // 1000
    assert abs(end - (sr // 2 + sr)) <= sr // 1000
    kept = trim_silence(x, sr, threshold_db=-50.0, keep_ms=100.0)
    assert kept == (start - 2400, end + 2400)
    # Margins never leave the clip.
    assert trim_silence(x, sr, keep_ms=5000.0) == (0, x.size)
    stereo = np.stack([np.zeros_like(x), x], axis=1)
    assert trim_silence(stereo, sr) == (start, end)


def test_trim_silence_on_silence_is_empty() -> None:
    assert trim_silence(np.zeros(4800, dtype=np.float32), 48000) == (0, 0)
    assert trim_silence(np.zeros(0, dtype=np.float32), 48000) == (0, 0)
    quiet = np.full(4800, 10 ** (-60 / 20), dtype=np.float32)
    assert trim_silence(quiet, 48000, threshold_db=-50.0) == (0, 0)


def test_trim_silence_peak_gate_keeps_every_loud_sample() -> None:
    """The peak gate counts a lone click the RMS gate ignores; exact edges are
    the first and last loud samples, grid edges the windows holding them."""
    sr = 24000
    x = np.zeros(sr, dtype=np.float32)
    x[3001] = 0.01  # -40 dBFS: a click, its 10 ms window's RMS is far below
    x[9000:15000] = tone(sr, 0.25, 440.0, 0.5, fade_ms=1.0)
    x[20_005] = -0.01
    start, end = trim_silence(x, sr, threshold_db=-50.0)
    assert 9000 <= start < 9100 and 14900 < end <= 15000
    assert trim_silence(x, sr, threshold_db=-50.0, gate="peak") == (3001, 20_006)
    for window_ms in (1.0, 5.0, 20.0):
        assert trim_silence(x, sr, gate="peak", window_ms=window_ms) == (
            3001,
            20_006,
        )
    # 5 ms windows are 120 samples: 3001 is in [3000, 3120), 20005 in [19920, 20040).
    grid = trim_silence(x, sr, gate="peak", window_ms=5.0, exact=False)
    assert grid == (3000, 20_040)
    kept = trim_silence(x, sr, keep_ms=10.0, gate="peak", window_ms=5.0, exact=False)
    assert kept == (3000 - 240, 20_040 + 240)
    # The last window is cut at the clip's end, and silence is (0, 0).
    end_cut = trim_silence(x[:20_010], sr, gate="peak", window_ms=5, exact=False)
    assert end_cut == (3000, 20_010)
    assert trim_silence(x[:3000], sr, gate="peak") == (0, 0)
    rms_grid = trim_silence(x, sr, window_ms=5.0, exact=False)
    assert rms_grid[0] % 120 == 0 and rms_grid[0] <= start < rms_grid[0] + 120
    unknown: Any = "loud"
    with pytest.raises(ValueError, match="gate"):
        trim_silence(x, sr, gate=unknown)


def test_fade_ramps_monotonically_and_spares_the_middle() -> None:
    sr = 8000
    x = np.ones(sr, dtype=np.float32)
    y = fade(x, sr, in_ms=10.0, out_ms=20.0)
    assert y.dtype == np.float32
    n_in, n_out = 80, 160
    assert np.all(np.diff(y[: n_in + 1]) > 0)
    assert np.all(np.diff(y[-n_out - 1 :]) < 0)
    assert y[0] < 0.001 and y[-1] < 0.001
    assert np.array_equal(y[n_in:-n_out], x[n_in:-n_out])
    stereo = fade(np.ones((sr, 2)), sr)
    np.testing.assert_array_equal(stereo[:, 0], stereo[:, 1])
    # Fades longer than the clip shrink in proportion instead of failing.
    short = fade(np.ones(30), sr, in_ms=10.0, out_ms=10.0)
    assert short.shape == (30,) and short.max() <= 1.0 and short[0] < 0.01


@pytest.mark.parametrize(
    ("sr_in", "sr_out"),
    [(44100, 22050), (22050, 44100), (24000, 44100), (44100, 48000), (48000, 24000)],
)
def test_resample_keeps_length_and_pitch(sr_in: int, sr_out: int) -> None:
    seconds = 1.0
    x = tone(sr_in, seconds, 1000.0, 0.5)
    y = resample(x, sr_in, sr_out)
    assert y.dtype == np.float32
    assert y.shape == (x.size * sr_out // sr_in,)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    peak_hz = np.argmax(spectrum) * sr_out / y.size
    assert peak_hz == pytest.approx(1000.0, abs=1.5)
    stereo = resample(np.stack([x, x], axis=1), sr_in, sr_out)
    assert stereo.shape == (y.size, 2)


def test_resample_same_rate_is_a_copy() -> None:
    x = np.arange(10, dtype=np.float32)
    y = resample(x, 22050, 22050)
    assert np.array_equal(x, y) and y is not x


def test_int16_round_trip_and_clipping() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], dtype=np.float32)
    a = to_int16(x)
    assert a.dtype == np.int16
    assert a.tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768]
    back = from_int16(a)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back[:3], x[:3])
    noisy = to_int16(x, dither=True, seed=3)
    assert np.array_equal(noisy, to_int16(x, dither=True, seed=3))
    assert np.abs(noisy.astype(int) - a.astype(int)).max() <= 1


def test_kaiser_lowpass_matches_firwin() -> None:
    ours = kaiser_lowpass(97, 0.2, 8.0)
    reference = signal.firwin(97, 0.2, window=("kaiser", 8.0))
    assert np.max(np.abs(ours - reference)) < 1e-12


def test_limiter_curve_in_chunks_is_the_curve_in_one_piece(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Dense peaks: one stretch of gain reduction covering the whole clip.
    rate = 44100
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(rate * 3) * 0.5).astype(np.float32)
    monkeypatch.setattr(peaks, "_LIMITER_CHUNK", 1 << 30)
    whole = limit_true_peak(x, rate, ceiling_dbtp=-2.0)
    monkeypatch.setattr(peaks, "_LIMITER_CHUNK", 997)
    chunked = limit_true_peak(x, rate, ceiling_dbtp=-2.0)
    assert not np.array_equal(whole, x)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)
    assert true_peak_dbtp(chunked, rate) <= -2.0


def test_limiter_and_fade_in_place_match_their_copies() -> None:
    """Mastering limits and fades the utterance's own array (no copy per step):
    the same samples as the copying calls, and the caller's other arrays (an
    int16 input) are never written."""
    rate = 44100
    rng = np.random.default_rng(8)
    x = (rng.standard_normal(rate) * 0.5).astype(np.float32)
    limited = limit_true_peak(x, rate, ceiling_dbtp=-2.0)
    own = x.copy()
    assert limit_true_peak(own, rate, ceiling_dbtp=-2.0, inplace=True) is own
    assert np.array_equal(own, limited)
    faded = fade(limited, rate, 8.0, 8.0)
    assert fade(own, rate, 8.0, 8.0, inplace=True) is own
    assert np.array_equal(own, faded)
    ints = (x * 1000).astype(np.int16)
    before = ints.copy()
    assert fade(ints, rate, inplace=True) is not ints
    assert np.array_equal(ints, before)
