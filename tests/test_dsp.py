"""Tests for narrator.dsp, checked against ffmpeg's ebur128 filter where it counts."""

from __future__ import annotations

import math
import re
import subprocess
import warnings
from typing import Any

import numpy as np
import pytest
from scipy import signal

from narrator import dsp
from narrator.ffmpeg import ffmpeg_exe

RATES = [22050, 24000, 44100, 48000]


def ebur128(x: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Measure (integrated LUFS, true peak dBTP) with the bundled ffmpeg."""
    data = np.ascontiguousarray(x, dtype=np.float32)
    channels = 1 if data.ndim == 1 else data.shape[1]
    result = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-f",
            "f32le",
            "-ar",
            str(sample_rate),
            "-ac",
            str(channels),
            "-i",
            "pipe:",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        input=data.tobytes(),
        capture_output=True,
        check=True,
    )
    log = result.stderr.decode()
    summary = log[log.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf)", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf)", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def tone(
    sample_rate: int,
    seconds: float,
    freq: float,
    amplitude: float,
    phase: float = 0.0,
    fade_ms: float = 20.0,
) -> np.ndarray:
    """Return a faded sine (fades keep edge transients out of true peak)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    x = amplitude * np.sin(2 * np.pi * freq * t + phase)
    return dsp.fade(x.astype(np.float32), sample_rate, fade_ms, fade_ms)


def pink_noise(sample_rate: int, seconds: float, rms: float, seed: int) -> np.ndarray:
    """Return pink-ish noise (Kellet's filter) with the given RMS."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(round(seconds * sample_rate))
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    pink = signal.lfilter(b, a, white)
    return (pink * (rms / pink.std())).astype(np.float32)


def speech_like(sample_rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Return syllable-modulated pink noise with pauses, peaking near 0 dBFS."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    syllables = (0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t)) ** 2
    phrases = np.sin(2 * np.pi * 0.35 * t + seed) > -0.4
    x = pink_noise(sample_rate, seconds, 0.12, seed) * syllables * phrases
    return dsp.fade(x.astype(np.float32), sample_rate, 10, 10)


def interval_gain(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the per-sample gain y/x where x is not tiny."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(x) > 1e-3, y / x, np.nan)


# --- loudness -------------------------------------------------------------


def test_k_weighting_matches_bs1770_table_at_48k() -> None:
    sos = dsp._k_weighting_sos(48000)
    np.testing.assert_allclose(
        sos[0],
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0]
        + [-1.69065929318241, 0.73248077421585],
        atol=1e-9,
    )
    np.testing.assert_allclose(
        sos[1], [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621], atol=1e-9
    )


@pytest.mark.parametrize("sample_rate", RATES)
def test_sine_reads_its_known_loudness(sample_rate: int) -> None:
    # BS.1770: the K-filter gain at 1 kHz cancels the -0.691 offset, so a mono
    # sine of amplitude A reads 20 log10(A) - 3.01 (its mean square is A^2/2)
    # and the same sine on both stereo channels reads 20 log10(A).
    x = tone(sample_rate, 5.0, 1000.0, 0.1)
    assert dsp.integrated_loudness(x, sample_rate) == pytest.approx(-23.01, abs=0.05)
    stereo = np.stack([x, x], axis=1)
    assert dsp.integrated_loudness(stereo, sample_rate) == pytest.approx(
        -20.0, abs=0.05
    )


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
        lufs = dsp.integrated_loudness(x, sample_rate)
        peak = dsp.true_peak_dbtp(x, sample_rate)
        assert lufs == pytest.approx(ref_lufs, abs=0.2), name
        assert peak == pytest.approx(ref_peak, abs=0.3), name


def test_stereo_loudness_agrees_with_ffmpeg() -> None:
    left = speech_like(44100, 8.0, seed=3)
    right = 0.5 * speech_like(44100, 8.0, seed=4)
    x = np.stack([left, right], axis=1)
    ref_lufs, ref_peak = ebur128(x, 44100)
    assert dsp.integrated_loudness(x, 44100) == pytest.approx(ref_lufs, abs=0.2)
    assert dsp.true_peak_dbtp(x, 44100) == pytest.approx(ref_peak, abs=0.3)


def test_true_peak_sees_intersample_peaks() -> None:
    # A quarter-rate sine at 45 degrees is sampled at 0.707 of its crest.
    x = tone(44100, 1.0, 11025.0, 0.5, np.pi / 4)
    sample_peak_db = 20 * math.log10(float(np.abs(x).max()))
    assert sample_peak_db == pytest.approx(-9.03, abs=0.01)
    assert dsp.true_peak_dbtp(x, 44100) == pytest.approx(-6.02, abs=0.05)


def test_silence_and_short_clips_read_minus_infinity_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = dsp.loudness_stats(np.zeros(48000, dtype=np.float32), 48000)
        assert stats.integrated_lufs == -math.inf
        assert stats.silent and stats.gated_blocks == 0
        assert stats.total_blocks == 7
        short = tone(48000, 0.3, 1000.0, 0.5)
        assert dsp.integrated_loudness(short, 48000) == -math.inf
        assert dsp.true_peak_dbtp(np.zeros(100), 48000) == -math.inf
        assert dsp.true_peak_dbtp(np.zeros(0), 48000) == -math.inf
        assert dsp.combine([stats]) == -math.inf
        assert dsp.combine([]) == -math.inf


def test_stats_hold_the_gated_measures() -> None:
    x = speech_like(24000, 6.0, seed=5)
    stats = dsp.loudness_stats(x, 24000)
    assert stats.gated_blocks > 0
    mean = stats.gated_energy_sum / stats.gated_blocks
    assert stats.integrated_lufs == pytest.approx(-0.691 + 10 * math.log10(mean))
    assert sum(count for _, count, _ in stats.histogram) <= stats.total_blocks
    assert stats.duration_s == pytest.approx(6.0)


@pytest.mark.parametrize("sample_rate", [22050, 44100])
def test_combined_stats_match_the_whole(sample_rate: int) -> None:
    whole = speech_like(sample_rate, 60.0, seed=6)
    # A quiet stretch (below the relative gate) must be gated out in both.
    whole[10 * sample_rate : 14 * sample_rate] *= 0.05
    rng = np.random.default_rng(7)
    cuts = np.sort(rng.integers(sample_rate, whole.size - sample_rate, size=14))
    pieces = np.split(whole, cuts)
    stats = [dsp.loudness_stats(p, sample_rate) for p in pieces]
    # Silent and too-short clips add nothing to the measure.
    stats.append(dsp.loudness_stats(np.zeros(sample_rate), sample_rate))
    stats.append(dsp.loudness_stats(whole[: sample_rate // 4], sample_rate))
    combined = dsp.combine(stats)
    assert combined == pytest.approx(
        dsp.integrated_loudness(whole, sample_rate), abs=0.1
    )


def test_merge_is_order_free_and_counts_everything() -> None:
    a = dsp.loudness_stats(speech_like(22050, 5.0, seed=8), 22050)
    b = dsp.loudness_stats(0.3 * speech_like(22050, 7.0, seed=9), 22050)
    ab, ba = dsp.merge([a, b]), dsp.merge([b, a])
    assert ab == ba
    assert ab.total_blocks == a.total_blocks + b.total_blocks
    assert ab.duration_s == pytest.approx(12.0)
    assert min(a.integrated_lufs, b.integrated_lufs) < ab.integrated_lufs
    assert ab.integrated_lufs < max(a.integrated_lufs, b.integrated_lufs)


def test_with_gain_predicts_the_scaled_clip() -> None:
    x = speech_like(44100, 10.0, seed=10)
    stats = dsp.loudness_stats(x, 44100)
    for gain_db in (-12.0, -3.3, 4.0):
        predicted = dsp.with_gain(stats, gain_db).integrated_lufs
        assert predicted == pytest.approx(stats.integrated_lufs + gain_db, abs=0.05)
        scaled = dsp.integrated_loudness(dsp.apply_gain_db(x, gain_db), 44100)
        assert predicted == pytest.approx(scaled, abs=0.05)


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
    x = dsp.apply_gain_db(x, 6.0 - dsp.true_peak_dbtp(x, sample_rate))
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
    assert dsp.true_peak_dbtp(x, sample_rate) > 5.9
    before = x.copy()
    y = dsp.limit_true_peak(x, sample_rate, ceiling_dbtp=-1.5)
    assert np.array_equal(x, before)  # the input is left alone
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all()
    assert dsp.true_peak_dbtp(y, sample_rate) <= -1.5 + 1e-6
    _, ffmpeg_peak = ebur128(y, sample_rate)
    assert ffmpeg_peak <= -1.5 + 0.1
    if channels == 2:
        # One gain for all channels keeps the image: the ratio is unchanged.
        loud = (np.abs(x) > 1e-2).all(axis=1)
        ratio_in = x[loud, 0] / x[loud, 1]
        np.testing.assert_allclose(y[loud, 0] / y[loud, 1], ratio_in, rtol=1e-4)


def test_limiter_leaves_material_under_the_ceiling_untouched() -> None:
    x = speech_like(44100, 5.0, seed=12)
    x = dsp.apply_gain_db(x, -3.0 - dsp.true_peak_dbtp(x, 44100))
    y = dsp.limit_true_peak(x, 44100, ceiling_dbtp=-1.5)
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
    x = dsp.fade(x, sr, 50.0, 50.0)
    y = dsp.limit_true_peak(x, sr, ceiling_dbtp=-1.0, lookahead_ms=2.0)
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
    x = dsp.apply_gain_db(x, -20.0 - dsp.true_peak_dbtp(x, sr))
    burst = tone(sr, 0.2, 1000.0, 1.5, fade_ms=5.0)
    x[sr : sr + burst.size] += burst
    y = dsp.limit_true_peak(x, sr, ceiling_dbtp=-2.0, release_ms=50.0)
    assert dsp.true_peak_dbtp(y, sr) <= -2.0
    assert np.array_equal(y[: sr - 200], x[: sr - 200])
    assert np.array_equal(y[2 * sr :], x[2 * sr :])
    assert not np.array_equal(y[sr : sr + burst.size], x[sr : sr + burst.size])


def test_limiter_handles_empty_and_silent_input() -> None:
    assert dsp.limit_true_peak(np.zeros(0, dtype=np.float32), 44100).size == 0
    silent = np.zeros((1000, 2), dtype=np.float32)
    assert np.array_equal(dsp.limit_true_peak(silent, 44100), silent)


# --- edits ----------------------------------------------------------------


def test_apply_gain_db_scales_and_keeps_dtype() -> None:
    x = np.array([0.25, -0.5], dtype=np.float32)
    y = dsp.apply_gain_db(x, 20 * math.log10(2))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0.5, -1.0], rtol=1e-6)


def test_trim_silence_finds_the_tone() -> None:
    sr = 24000
    rng = np.random.default_rng(14)
    x = (rng.standard_normal(2 * sr) * 10 ** (-75 / 20)).astype(np.float32)
    t = tone(sr, 1.0, 440.0, 0.5, fade_ms=1.0)
    x[sr // 2 : sr // 2 + t.size] += t
    start, end = dsp.trim_silence(x, sr, threshold_db=-50.0)
    assert abs(start - sr // 2) <= sr // 1000
    assert abs(end - (sr // 2 + sr)) <= sr // 1000
    kept = dsp.trim_silence(x, sr, threshold_db=-50.0, keep_ms=100.0)
    assert kept == (start - 2400, end + 2400)
    # Margins never leave the clip.
    assert dsp.trim_silence(x, sr, keep_ms=5000.0) == (0, x.size)
    stereo = np.stack([np.zeros_like(x), x], axis=1)
    assert dsp.trim_silence(stereo, sr) == (start, end)


def test_trim_silence_on_silence_is_empty() -> None:
    assert dsp.trim_silence(np.zeros(4800, dtype=np.float32), 48000) == (0, 0)
    assert dsp.trim_silence(np.zeros(0, dtype=np.float32), 48000) == (0, 0)
    quiet = np.full(4800, 10 ** (-60 / 20), dtype=np.float32)
    assert dsp.trim_silence(quiet, 48000, threshold_db=-50.0) == (0, 0)


def test_trim_silence_peak_gate_keeps_every_loud_sample() -> None:
    """The peak gate counts a lone click the RMS gate ignores; exact edges are
    the first and last loud samples, grid edges the windows holding them."""
    sr = 24000
    x = np.zeros(sr, dtype=np.float32)
    x[3001] = 0.01  # -40 dBFS: a click, its 10 ms window's RMS is far below
    x[9000:15000] = tone(sr, 0.25, 440.0, 0.5, fade_ms=1.0)
    x[20_005] = -0.01
    start, end = dsp.trim_silence(x, sr, threshold_db=-50.0)
    assert 9000 <= start < 9100 and 14900 < end <= 15000
    assert dsp.trim_silence(x, sr, threshold_db=-50.0, gate="peak") == (3001, 20_006)
    for window_ms in (1.0, 5.0, 20.0):
        assert dsp.trim_silence(x, sr, gate="peak", window_ms=window_ms) == (
            3001,
            20_006,
        )
    # 5 ms windows are 120 samples: 3001 is in [3000, 3120), 20005 in [19920, 20040).
    grid = dsp.trim_silence(x, sr, gate="peak", window_ms=5.0, exact=False)
    assert grid == (3000, 20_040)
    kept = dsp.trim_silence(
        x, sr, keep_ms=10.0, gate="peak", window_ms=5.0, exact=False
    )
    assert kept == (3000 - 240, 20_040 + 240)
    # The last window is cut at the clip's end, and silence is (0, 0).
    end_cut = dsp.trim_silence(x[:20_010], sr, gate="peak", window_ms=5, exact=False)
    assert end_cut == (3000, 20_010)
    assert dsp.trim_silence(x[:3000], sr, gate="peak") == (0, 0)
    rms_grid = dsp.trim_silence(x, sr, window_ms=5.0, exact=False)
    assert rms_grid[0] % 120 == 0 and rms_grid[0] <= start < rms_grid[0] + 120
    unknown: Any = "loud"
    with pytest.raises(ValueError, match="gate"):
        dsp.trim_silence(x, sr, gate=unknown)


def test_fade_ramps_monotonically_and_spares_the_middle() -> None:
    sr = 8000
    x = np.ones(sr, dtype=np.float32)
    y = dsp.fade(x, sr, in_ms=10.0, out_ms=20.0)
    assert y.dtype == np.float32
    n_in, n_out = 80, 160
    assert np.all(np.diff(y[: n_in + 1]) > 0)
    assert np.all(np.diff(y[-n_out - 1 :]) < 0)
    assert y[0] < 0.001 and y[-1] < 0.001
    assert np.array_equal(y[n_in:-n_out], x[n_in:-n_out])
    stereo = dsp.fade(np.ones((sr, 2)), sr)
    np.testing.assert_array_equal(stereo[:, 0], stereo[:, 1])
    # Fades longer than the clip shrink in proportion instead of failing.
    short = dsp.fade(np.ones(30), sr, in_ms=10.0, out_ms=10.0)
    assert short.shape == (30,) and short.max() <= 1.0 and short[0] < 0.01


@pytest.mark.parametrize(
    ("sr_in", "sr_out"),
    [(44100, 22050), (22050, 44100), (24000, 44100), (44100, 48000), (48000, 24000)],
)
def test_resample_keeps_length_and_pitch(sr_in: int, sr_out: int) -> None:
    seconds = 1.0
    x = tone(sr_in, seconds, 1000.0, 0.5)
    y = dsp.resample(x, sr_in, sr_out)
    assert y.dtype == np.float32
    assert y.shape == (x.size * sr_out // sr_in,)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    peak_hz = np.argmax(spectrum) * sr_out / y.size
    assert peak_hz == pytest.approx(1000.0, abs=1.5)
    stereo = dsp.resample(np.stack([x, x], axis=1), sr_in, sr_out)
    assert stereo.shape == (y.size, 2)


def test_resample_same_rate_is_a_copy() -> None:
    x = np.arange(10, dtype=np.float32)
    y = dsp.resample(x, 22050, 22050)
    assert np.array_equal(x, y) and y is not x


def test_int16_round_trip_and_clipping() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0], dtype=np.float32)
    a = dsp.to_int16(x)
    assert a.dtype == np.int16
    assert a.tolist() == [0, 16384, -16384, 32767, -32768, 32767, -32768]
    back = dsp.from_int16(a)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back[:3], x[:3])
    noisy = dsp.to_int16(x, dither=True, seed=3)
    assert np.array_equal(noisy, dsp.to_int16(x, dither=True, seed=3))
    assert np.abs(noisy.astype(int) - a.astype(int)).max() <= 1


@pytest.mark.parametrize("sample_rate", [22050, 24000, 44100, 48000])
def test_fft_k_weighting_matches_the_recursive_filter(sample_rate: int) -> None:
    """narrator filters by FFT convolution (scipy is too slow to import at run
    time); it must equal scipy's recursive biquads."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(sample_rate * 3 + 123)
    ours = dsp._k_weight(x, sample_rate)
    reference = signal.sosfilt(dsp._k_weighting_sos(sample_rate), x)
    assert np.max(np.abs(ours - reference)) < 1e-9


def test_kaiser_lowpass_matches_firwin() -> None:
    ours = dsp._kaiser_lowpass(97, 0.2, 8.0)
    reference = signal.firwin(97, 0.2, window=("kaiser", 8.0))
    assert np.max(np.abs(ours - reference)) < 1e-12
