"""Test signals and ffmpeg's loudness meter, shared by the dsp tests."""

from __future__ import annotations

import re
import subprocess

import numpy as np
from scipy import signal

from narrator.audio.shaping import fade
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
    return fade(x.astype(np.float32), sample_rate, fade_ms, fade_ms)


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
    return fade(x.astype(np.float32), sample_rate, 10, 10)
