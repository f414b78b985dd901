"""Test doubles at the engine seam."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence

import numpy as np

from narrator.engines.base import SectionRef
from narrator.errors import EngineError
from narrator.model import Audio


class FakeEngine:
    """Deterministic tones whose length grows with the text; counts calls.

    One ``synthesize`` call is one section, as with real engines.
    """

    name = "fake"
    local = True
    profile = "espeak"

    def probe(self) -> bool:
        return True

    def __init__(
        self,
        voice: str = "a",
        *,
        ms_per_char: float = 6.0,
        rate: int = 22050,
        fail_on: str | None = None,
    ):
        self.voice = voice
        self.ms_per_char = ms_per_char
        self.rate = rate
        self.fail_on = fail_on
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    def identity(self) -> Mapping[str, str]:
        return {"engine": "fake", "version": "1", "voice": self.voice}

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        with self._lock:
            self.calls.append(list(texts))
        if self.fail_on is not None and any(self.fail_on in t for t in texts):
            raise EngineError("fake failure", engine="fake")
        out = []
        for text in texts:
            n = max(
                int(self.rate * self.ms_per_char * len(text) / 1000), self.rate // 10
            )
            t = np.arange(n) / self.rate
            freq = 180 + (sum(map(ord, text)) % 200)
            # A syllable-like envelope so loudness gating and trimming see speech.
            env = 0.5 + 0.5 * np.sin(2 * math.pi * 4 * t) ** 2
            tone = 0.3 * env * np.sin(2 * math.pi * freq * t)
            pcm = (tone * 32767).astype("<i2").tobytes()
            out.append(Audio.from_pcm(pcm, self.rate))
        return out

    @property
    def call_count(self) -> int:
        return len(self.calls)
