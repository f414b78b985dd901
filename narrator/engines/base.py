"""The engine contract. Imports no engine library.

An engine turns the utterances of one section into audio, one Audio per
utterance, in one call. Batching per section (rather than one call per
sentence) lets a network engine keep several requests in flight and makes a
section the unit of caching: editing one section costs exactly one call.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Audio:
    """Encoded audio as an engine produced it."""

    data: bytes
    format: str  # "wav" or "mp3"

    @classmethod
    def from_pcm(cls, pcm: bytes, sample_rate: int, channels: int = 1) -> Audio:
        """Wrap signed 16-bit little-endian PCM in a WAV container."""
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm)
        return cls(buf.getvalue(), "wav")


@runtime_checkable
class Engine(Protocol):
    """A speech engine.

    ``identity()`` lists everything that changes the sound (engine name and
    version, language, voice, rate...); it is part of the clip cache key.
    ``local`` engines run on this machine; network engines set it False so the
    pipeline bounds requests in flight instead of CPU jobs.
    ``synthesize`` raises EngineError (with ``retryable``) and never touches
    the cache, the output folder or the terminal.
    """

    name: str
    local: bool

    def identity(self) -> Mapping[str, str]: ...

    def synthesize(self, texts: Sequence[str]) -> list[Audio]: ...
