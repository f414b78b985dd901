"""Tests for the reference loudness of tests/loudness_ref.py: the oracle the
meter is held to must itself agree with BS.1770's table and with ffmpeg."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from . import loudness_ref as ref
from .signals import RATES, ebur128, pink_noise, speech_like, tone


def test_k_weighting_matches_bs1770_table_at_48k() -> None:
    sos = ref.k_weighting_sos(48000)
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
def test_reference_agrees_with_ffmpeg(sample_rate: int) -> None:
    signals = {
        "tone": tone(sample_rate, 4.0, 1000.0, 0.3),
        "pink": pink_noise(sample_rate, 4.0, 0.05, seed=1),
        "speech-like": speech_like(sample_rate, 8.0, seed=2),
    }
    for name, x in signals.items():
        ref_lufs, _ = ebur128(x, sample_rate)
        assert ref.integrated_loudness(x, sample_rate) == pytest.approx(
            ref_lufs, abs=0.2
        ), name
    n = signals["pink"].size
    stereo = np.stack([signals["speech-like"][:n], 0.5 * signals["pink"][::-1]], axis=1)
    ref_lufs, _ = ebur128(stereo, sample_rate)
    assert ref.integrated_loudness(stereo, sample_rate) == pytest.approx(
        ref_lufs, abs=0.2
    )


def test_silence_and_short_clips_read_minus_infinity_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = ref.loudness_stats(np.zeros(48000, dtype=np.float32), 48000)
        assert stats.integrated_lufs == -math.inf
        assert stats.silent and stats.gated_blocks == 0
        assert stats.total_blocks == 7
        short = tone(48000, 0.3, 1000.0, 0.5)
        assert ref.integrated_loudness(short, 48000) == -math.inf
        assert ref.combine([stats]) == -math.inf
        assert ref.combine([]) == -math.inf


def test_stats_hold_the_gated_measures() -> None:
    x = speech_like(24000, 6.0, seed=5)
    stats = ref.loudness_stats(x, 24000)
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
    stats = [ref.loudness_stats(p, sample_rate) for p in pieces]
    # Silent and too-short clips add nothing to the measure.
    stats.append(ref.loudness_stats(np.zeros(sample_rate), sample_rate))
    stats.append(ref.loudness_stats(whole[: sample_rate // 4], sample_rate))
    combined = ref.combine(stats)
    assert combined == pytest.approx(
        ref.integrated_loudness(whole, sample_rate), abs=0.1
    )


def test_merge_is_order_free_and_counts_everything() -> None:
    a = ref.loudness_stats(speech_like(22050, 5.0, seed=8), 22050)
    b = ref.loudness_stats(0.3 * speech_like(22050, 7.0, seed=9), 22050)
    ab, ba = ref.merge([a, b]), ref.merge([b, a])
    assert ab == ba
    assert ab.total_blocks == a.total_blocks + b.total_blocks
    assert ab.duration_s == pytest.approx(12.0)
    assert min(a.integrated_lufs, b.integrated_lufs) < ab.integrated_lufs
    assert ab.integrated_lufs < max(a.integrated_lufs, b.integrated_lufs)


def test_with_gain_predicts_the_scaled_clip() -> None:
    x = speech_like(44100, 10.0, seed=10)
    stats = ref.loudness_stats(x, 44100)
    for gain_db in (-12.0, -3.3, 4.0):
        predicted = ref.with_gain(stats, gain_db).integrated_lufs
        assert predicted == pytest.approx(stats.integrated_lufs + gain_db, abs=0.05)
        scaled = ref.integrated_loudness(x * 10 ** (gain_db / 20), 44100)
        assert predicted == pytest.approx(scaled, abs=0.05)
