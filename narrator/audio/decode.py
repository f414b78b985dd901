"""Engine audio -> clip: decode each utterance's WAV, trim it, keep its words.

Every utterance of a section is brought to the first one's sample rate,
trimmed to its sound (keeping ``TRIM_KEEP_MS`` of silence at each edge) and
its word timings moved onto the trimmed audio. :func:`make_clip` does it in
memory; the build uses :class:`ClipWriter`, which writes each batch of
engine output to the clip cache as it comes, so synthesis holds one batch,
not the section.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from narrator.audio.clip import TRIM_KEEP_MS, TRIM_THRESHOLD_DB, Clip, clip_meta
from narrator.audio.shaping import from_int16, resample, to_int16, trim_silence
from narrator.errors import AudioError
from narrator.model import Audio, WordTiming


def decode_audio(audio: Audio) -> tuple[np.ndarray, int]:
    """Decode engine output (16-bit WAV) to mono int16 samples and their rate.

    Raises:
        AudioError: the bytes are not 16-bit PCM WAV.
    """
    if audio.format != "wav":
        raise AudioError(f"unsupported engine audio format {audio.format!r}")
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


def _trimmed(audio: Audio, rate: int) -> tuple[np.ndarray, tuple[WordTiming, ...], int]:
    """One utterance decoded (at ``rate`` if set) and trimmed, its word
    timings moved onto the trimmed audio, and its rate."""
    samples, r = decode_audio(audio)
    if rate and r != rate:
        samples = to_int16(resample(from_int16(samples), r, rate))
    rate = rate or r
    start, end = trim_silence(
        from_int16(samples),
        rate,
        threshold_db=TRIM_THRESHOLD_DB,
        keep_ms=TRIM_KEEP_MS,
    )
    words = _shift_words(audio.words, start * 1000 / rate, (end - start) * 1000 / rate)
    return np.ascontiguousarray(samples[start:end]), words, rate


def make_clip(audios: Sequence[Audio]) -> Clip:
    """Decode and trim one section's engine output, in memory; keep its word
    timings. (The build writes clips with :class:`ClipWriter` instead.)

    Raises:
        AudioError: an utterance cannot be decoded or rates differ.
    """
    parts: list[np.ndarray] = []
    words: list[tuple[WordTiming, ...]] = []
    rate = 0
    for audio in audios:
        samples, timings, rate = _trimmed(audio, rate)
        parts.append(samples)
        words.append(timings)
    if not rate:
        raise AudioError("the engine returned no audio")
    return Clip(rate, tuple(parts), tuple(words) if any(words) else ())


def _shift_words(
    words: Sequence[WordTiming], offset_ms: float, length_ms: float
) -> tuple[WordTiming, ...]:
    """Word timings moved onto the trimmed utterance, kept inside it."""

    def clamp(ms: float) -> int:
        return int(round(min(max(ms - offset_ms, 0.0), length_ms)))

    return tuple(WordTiming(clamp(w.start_ms), clamp(w.end_ms), w.text) for w in words)


class ClipWriter:
    """A section's clip written to ``out`` as it is synthesized, batch by batch.

    Each batch of engine output is decoded, trimmed, written and let go, so
    synthesis holds one batch, not the section. ``meta()`` is what
    :meth:`Clip.from_file` reads back.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.sample_rate = 0
        self._lengths: list[int] = []
        self._words: list[tuple[WordTiming, ...]] = []

    def add(self, audios: Sequence[Audio]) -> None:
        """Decode, trim and write one batch of utterances.

        Raises:
            AudioError: an utterance cannot be decoded.
        """
        for audio in audios:
            samples, words, self.sample_rate = _trimmed(audio, self.sample_rate)
            self._write(samples, words)

    def add_trimmed(
        self, samples: np.ndarray, words: tuple[WordTiming, ...], rate: int
    ) -> None:
        """Write one utterance already decoded and trimmed (another clip's),
        brought to this clip's rate."""
        if self.sample_rate and rate != self.sample_rate:
            samples = to_int16(resample(from_int16(samples), rate, self.sample_rate))
        self.sample_rate = self.sample_rate or rate
        self._write(samples, words)

    def _write(self, samples: np.ndarray, words: tuple[WordTiming, ...]) -> None:
        self._out.write(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        self._lengths.append(int(samples.shape[0]))
        self._words.append(words)

    def meta(self) -> dict[str, object]:
        """The clip's cache metadata.

        Raises:
            AudioError: nothing was synthesized.
        """
        if not self.sample_rate:
            raise AudioError("the engine returned no audio")
        return clip_meta(self.sample_rate, self._lengths, self._words)
