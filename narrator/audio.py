"""Decode, trim, master and render clips into encodable PCM, streaming.

A *clip* is one section as the engine spoke it: trimmed utterances at the
engine's sample rate plus their loudness, measured once when synthesized.
A *segment* is one section rendered for the episode: lead silence, utterances
with pauses between them, each utterance gain-adjusted to the loudness target
and true-peak limited, faded at its edges, resampled to the output rate, then
trailing silence. Segments are rendered one utterance at a time and streamed
to the encoder, so memory does not grow with the episode's length.

Every segment is normalized to the same target on its own. That keeps the
level even from chapter to chapter and, unlike one gain for the whole episode,
lets an edit re-master only the section it touched.
"""

from __future__ import annotations

import io
import struct
import subprocess
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from narrator import dsp
from narrator.config import Pauses
from narrator.engines.base import Audio
from narrator.errors import AudioError
from narrator.ffmpeg import ffmpeg_exe
from narrator.mp3 import Mp3Format, fill_to_frame

# Silence kept around each utterance after trimming, so consonants are not cut.
TRIM_KEEP_MS = 30.0
TRIM_THRESHOLD_DB = -50.0
FADE_MS = 8.0


@dataclass(frozen=True)
class Preset:
    """An output format, its loudness target and its true-peak ceiling.

    The ceiling is what the limiter aims for before encoding; MP3 encoding adds
    inter-sample overshoot, measured on espeak-ng French at each preset: worst
    +0.3 dB at 64 kbps mono, +0.6 dB at 40 kbps / 22.05 kHz, none at 128 kbps
    stereo. Each ceiling keeps the decoded file at or below -1 dBTP with margin.
    """

    name: str
    fmt: Mp3Format
    target_lufs: float
    ceiling_dbtp: float


PRESETS: dict[str, Preset] = {
    # Mono is played on two speakers and sounds ~3 LU louder: -19 mono ~ -16 stereo.
    "phone": Preset("phone", Mp3Format(44100, 1, 64), -19.0, -2.0),
    "small": Preset("small", Mp3Format(22050, 1, 40), -19.0, -2.5),
    "hq": Preset("hq", Mp3Format(44100, 2, 128), -16.0, -1.5),
}

# The decoded MP3 measures ~0.45 LU quieter than the PCM fed to LAME (its
# lowpass removes energy that K-weighting counts), at every bitrate we use:
# aim that much higher so the file, not the PCM, lands on target.
ENCODING_LOSS_LU = 0.45


@dataclass(frozen=True)
class Clip:
    """One section as synthesized: trimmed mono int16 utterances."""

    sample_rate: int
    utterances: tuple[np.ndarray, ...]
    lufs: float

    def to_payload(self) -> tuple[bytes, dict[str, object]]:
        meta = {
            "sample_rate": self.sample_rate,
            "lengths": [int(u.shape[0]) for u in self.utterances],
            "lufs": self.lufs,
        }
        payload = b"".join(u.astype("<i2").tobytes() for u in self.utterances)
        return payload, meta

    @classmethod
    def from_payload(cls, payload: bytes, meta: dict[str, object]) -> Clip:
        data = np.frombuffer(payload, dtype="<i2")
        lengths = [int(n) for n in meta["lengths"]]  # type: ignore[union-attr]
        if sum(lengths) != data.shape[0]:
            raise AudioError("cached clip does not match its lengths")
        parts = []
        pos = 0
        for n in lengths:
            parts.append(data[pos : pos + n])
            pos += n
        return cls(int(meta["sample_rate"]), tuple(parts), float(meta["lufs"]))  # type: ignore[arg-type]


def decode_audio(audio: Audio) -> tuple[np.ndarray, int]:
    """Decode engine output to mono int16 samples and their rate.

    Raises:
        AudioError: the bytes are not decodable audio.
    """
    if audio.format == "wav":
        try:
            with wave.open(io.BytesIO(audio.data), "rb") as w:
                if w.getsampwidth() != 2:
                    raise AudioError("engine returned WAV that is not 16-bit PCM")
                rate = w.getframerate()
                channels = w.getnchannels()
                frames = w.readframes(w.getnframes())
        except (wave.Error, EOFError, struct.error) as exc:
            raise AudioError(f"engine returned undecodable WAV: {exc}") from exc
        samples = np.frombuffer(frames, dtype="<i2")
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
        return samples, rate
    if audio.format == "mp3":
        rate = 24000
        pcm = _ffmpeg_decode(["-f", "mp3", "-i", "pipe:0"], audio.data, rate, 1)
        return np.frombuffer(pcm, dtype="<i2"), rate
    raise AudioError(f"unsupported engine audio format {audio.format!r}")


def _ffmpeg_decode(
    inputs: list[str], data: bytes | None, rate: int, channels: int
) -> bytes:
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error"]
    if data is None:
        cmd.append("-nostdin")
    cmd += [*inputs, "-f", "s16le", "-ac", str(channels), "-ar", str(rate), "pipe:1"]
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(f"cannot run ffmpeg: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout:
        last = proc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(
            f"ffmpeg could not decode the audio: {last[-1] if last else 'no output'}"
        )
    return proc.stdout


def make_clip(audios: Sequence[Audio]) -> Clip:
    """Decode, trim and measure one section's engine output.

    Raises:
        AudioError: an utterance cannot be decoded or rates differ.
    """
    parts: list[np.ndarray] = []
    rate = 0
    for audio in audios:
        samples, r = decode_audio(audio)
        if rate and r != rate:
            samples = dsp.to_int16(dsp.resample(dsp.from_int16(samples), r, rate))
        rate = rate or r
        start, end = dsp.trim_silence(
            dsp.from_int16(samples),
            rate,
            threshold_db=TRIM_THRESHOLD_DB,
            keep_ms=TRIM_KEEP_MS,
        )
        parts.append(np.ascontiguousarray(samples[start:end]))
    if not rate:
        raise AudioError("the engine returned no audio")
    speech = np.concatenate([p for p in parts if p.size] or [np.zeros(1, np.int16)])
    lufs = dsp.integrated_loudness(dsp.from_int16(speech), rate)
    return Clip(rate, tuple(parts), float(lufs) if np.isfinite(lufs) else -70.0)


@dataclass
class SegmentLayout:
    """Where each utterance of a segment landed, filled while rendering."""

    samples: int = 0
    utterances: list[tuple[int, int]] | None = None  # (start, end) in output samples

    def __post_init__(self) -> None:
        if self.utterances is None:
            self.utterances = []


def _gain_db(lufs: float, preset: Preset, target_lufs: float | None) -> float:
    target = (
        preset.target_lufs if target_lufs is None else target_lufs
    ) + ENCODING_LOSS_LU
    if lufs <= -69.0:
        return 0.0  # silence: nothing to normalize
    if preset.fmt.channels == 2:
        # The clip was measured in mono; the same samples on two channels read +3 LU.
        lufs += 3.0103
    return target - lufs


def _silence(n: int, channels: int) -> bytes:
    return bytes(2 * n * channels)


def _master(x: np.ndarray, rate_in: int, preset: Preset, gain_db: float) -> np.ndarray:
    fmt = preset.fmt
    y = dsp.resample(x, rate_in, fmt.sample_rate)
    y = dsp.apply_gain_db(y, gain_db)
    y = dsp.limit_true_peak(y, fmt.sample_rate, ceiling_dbtp=preset.ceiling_dbtp)
    return dsp.fade(y, fmt.sample_rate, in_ms=FADE_MS, out_ms=FADE_MS)


def _emit(y: np.ndarray, channels: int) -> bytes:
    pcm = dsp.to_int16(y)
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    return pcm.astype("<i2").tobytes()


def render_clip(
    clip: Clip,
    pauses_after: Sequence[str],
    preset: Preset,
    pauses: Pauses,
    *,
    lead_ms: int,
    tail_ms: int,
    target_lufs: float | None,
    layout: SegmentLayout,
) -> Iterator[bytes]:
    """Yield the segment's PCM (s16le, interleaved), one utterance at a time."""
    fmt = preset.fmt
    rate = fmt.sample_rate
    gain = _gain_db(clip.lufs, preset, target_lufs)
    pos = int(round(lead_ms * rate / 1000))
    yield _silence(pos, fmt.channels)
    assert layout.utterances is not None
    for samples, pause in zip(clip.utterances, pauses_after, strict=True):
        if samples.size:
            y = _master(dsp.from_int16(samples), clip.sample_rate, preset, gain)
            layout.utterances.append((pos, pos + y.shape[0]))
            pos += y.shape[0]
            yield _emit(y, fmt.channels)
        else:
            layout.utterances.append((pos, pos))
        gap = int(round(pauses.after(pause) * rate / 1000))
        if gap:
            pos += gap
            yield _silence(gap, fmt.channels)
    tail = int(round(tail_ms * rate / 1000))
    # End on a frame boundary: LAME then pads minimally, and readers that
    # ignore the declared padding (ffprobe 5) overstate the duration least.
    tail += fill_to_frame(pos + tail, fmt)
    pos += tail
    yield _silence(tail, fmt.channels)
    layout.samples = pos


def load_jingle(path: Path, preset: Preset, target_lufs: float | None) -> np.ndarray:
    """Decode an intro/outro file at the output rate, mono float, normalized.

    Raises:
        AudioError: ffmpeg cannot read the file.
    """
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file.")
    rate = preset.fmt.sample_rate
    pcm = _ffmpeg_decode(["-i", str(path)], None, rate, 1)
    x = dsp.from_int16(np.frombuffer(pcm, dtype="<i2"))
    lufs = dsp.integrated_loudness(x, rate)
    gain = _gain_db(float(lufs) if np.isfinite(lufs) else -70.0, preset, target_lufs)
    y = dsp.apply_gain_db(x, gain)
    y = dsp.limit_true_peak(y, rate, ceiling_dbtp=preset.ceiling_dbtp)
    return dsp.fade(
        y, rate, in_ms=20.0, out_ms=min(1000.0, 1000.0 * y.shape[0] / rate / 4)
    )


def render_jingle(
    x: np.ndarray, preset: Preset, *, lead_ms: int, tail_ms: int, layout: SegmentLayout
) -> Iterator[bytes]:
    """Yield an intro/outro segment: lead silence, the audio, tail silence."""
    rate = preset.fmt.sample_rate
    lead = int(round(lead_ms * rate / 1000))
    tail = int(round(tail_ms * rate / 1000))
    tail += fill_to_frame(lead + x.shape[0] + tail, preset.fmt)
    yield _silence(lead, preset.fmt.channels)
    for start in range(0, x.shape[0], rate * 10):
        yield _emit(x[start : start + rate * 10], preset.fmt.channels)
    yield _silence(tail, preset.fmt.channels)
    layout.samples = lead + x.shape[0] + tail
