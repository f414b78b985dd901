"""A clip: one section as the engine spoke it, in memory or in the clip cache.

A *clip* is a section's trimmed utterances, mono int16 at the engine's
sample rate, with the engine's word timings. It is what the clip cache
stores (:meth:`Clip.payload_parts`, :func:`clip_meta`) and reads back, whole
(:meth:`Clip.from_payload`) or one utterance at a time while rendering
(:meth:`Clip.from_file`, :class:`StoredUtterances`). Making one from the
engine's audio is :mod:`narrator.audio.decode`; rendering it into a segment
is :mod:`narrator.audio.render`. Both import this module, never each other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast, overload

import numpy as np

from narrator.errors import AudioError
from narrator.model import WordTiming

# How a clip's utterances are trimmed, here because two modules rely on it:
# decoding trims them so, and rendering counts the silence left at their
# edges toward the pauses. Silence kept around each utterance after
# trimming, so consonants are not cut:
TRIM_KEEP_MS = 30.0
TRIM_THRESHOLD_DB = -50.0


class StoredUtterances(Sequence[np.ndarray]):
    """A clip's utterances in a cache file, read one at a time when used.

    A section has no length limit (a 5-hour line of text is one section), so
    its clip is never held whole: rendering reads each utterance, masters it
    and lets it go. Reads are positional on a descriptor the caller keeps open
    for the render, so another build replacing the entry meanwhile (an atomic
    rename) cannot change what is read.
    """

    def __init__(self, fd: int, offset: int, lengths: Sequence[int]) -> None:
        self._fd = fd
        self._lengths = tuple(lengths)
        starts = [offset]
        for n in self._lengths:
            starts.append(starts[-1] + 2 * n)
        self._starts = tuple(starts)

    def __len__(self) -> int:
        return len(self._lengths)

    @property
    def lengths(self) -> tuple[int, ...]:
        """Each utterance's sample count, without reading any."""
        return self._lengths

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        size = 2 * self._lengths[index]
        data = os.pread(self._fd, size, self._starts[index])
        if len(data) != size:
            raise AudioError("cached clip is shorter than its lengths")
        return np.frombuffer(data, dtype="<i2")


def clip_meta(
    sample_rate: int,
    lengths: Sequence[int],
    words: Sequence[Sequence[WordTiming]],
) -> dict[str, object]:
    """The cache metadata of a clip: its rate, its utterances' lengths and,
    when the engine gave any, their word timings."""
    meta: dict[str, object] = {"sample_rate": sample_rate, "lengths": list(lengths)}
    if any(words):
        meta["words"] = [
            [[w.start_ms, w.end_ms, w.text] for w in utterance] for utterance in words
        ]
    return meta


def _stored_words(meta: Mapping[str, object]) -> tuple[tuple[WordTiming, ...], ...]:
    stored = cast("list[list[list[object]]]", meta.get("words", []))
    return tuple(
        tuple(
            WordTiming(int(cast(int, a)), int(cast(int, b)), str(t))
            for a, b, t in utterance
        )
        for utterance in stored
    )


@dataclass(frozen=True)
class Clip:
    """One section as synthesized: trimmed mono int16 utterances.

    ``utterances`` are in memory (a tuple) or in the clip cache
    (:class:`StoredUtterances`, read one at a time). ``words`` holds, per
    utterance, the engine's word timings in ms from the start of the
    *trimmed* utterance (empty when the engine gives none); they are stored
    with the clip for features that follow the voice word by word.
    """

    sample_rate: int
    utterances: Sequence[np.ndarray]
    words: tuple[tuple[WordTiming, ...], ...] = ()

    def utterance_lengths(self) -> list[int]:
        """Each utterance's sample count (a stored clip reads none for it)."""
        if isinstance(self.utterances, StoredUtterances):
            return list(self.utterances.lengths)
        return [int(u.shape[0]) for u in self.utterances]

    def payload_parts(self) -> tuple[list[memoryview], dict[str, object]]:
        """The payload as views on the utterances (no joined copy), and its meta."""
        lengths = [int(u.shape[0]) for u in self.utterances]
        parts = [
            np.ascontiguousarray(u, dtype="<i2").data.cast("B") for u in self.utterances
        ]
        return parts, clip_meta(self.sample_rate, lengths, self.words)

    @classmethod
    def from_payload(cls, payload: bytes, meta: Mapping[str, object]) -> Clip:
        data = np.frombuffer(payload, dtype="<i2")
        # JSON from the cache: int()/float() still check what the casts assume.
        lengths = [int(n) for n in cast("list[int]", meta["lengths"])]
        if sum(lengths) != data.shape[0]:
            raise AudioError("cached clip does not match its lengths")
        parts = []
        pos = 0
        for n in lengths:
            parts.append(data[pos : pos + n])
            pos += n
        sample_rate = int(cast(int, meta["sample_rate"]))
        return cls(sample_rate, tuple(parts), _stored_words(meta))

    @classmethod
    def from_file(
        cls, fd: int, offset: int, size: int, meta: Mapping[str, object]
    ) -> Clip:
        """The clip whose payload is ``size`` bytes at ``offset`` of open file
        ``fd``, read utterance by utterance while rendering.

        Raises:
            AudioError: the lengths do not match the payload.
        """
        lengths = [int(n) for n in cast("list[int]", meta["lengths"])]
        if 2 * sum(lengths) != size or min(lengths, default=0) < 0:
            raise AudioError("cached clip does not match its lengths")
        sample_rate = int(cast(int, meta["sample_rate"]))
        return cls(
            sample_rate, StoredUtterances(fd, offset, lengths), _stored_words(meta)
        )
