"""What a section whose clip is not cached can keep: the utterances of the
last clip made for its title and voice whose text did not change.

Why a module of its own: it decides which utterances the engine must speak and
writes the clip in order, copying the others, so a one-word edit speaks one
sentence. An utterance's audio depends on its text alone (the engine
contract), so a copied utterance is what the engine would say again. It knows
clips and the cache's entries, not plans or settings: ``produce`` hands it
keys, texts and the engine call, and renders what it writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from narrator.audio.clip import Clip
from narrator.build.schedule import Cancelled
from narrator.cache import Cache, Entry
from narrator.errors import NarratorError
from narrator.model import Audio, WordTiming

__all__ = [
    "SYNTH_BATCH_CHARS",
    "Donor",
    "latest_clip",
    "open_clip",
    "remember",
    "text_digests",
    "write_utterances",
]

# Characters of text per call to the engine while synthesizing a section (about
# three minutes of speech): a batch's audio is decoded, trimmed and written to
# the clip file before the next is asked for, so synthesis holds one batch.
SYNTH_BATCH_CHARS = 3000

# The last clip of a title, and which of its utterances says which text (by
# digest).
Donor = tuple[Clip, dict[str, int]]


class Writer(Protocol):
    """Where a clip's utterances go, in order (``audio.decode.ClipWriter``)."""

    def add(self, audios: Sequence[Audio]) -> None: ...

    def add_trimmed(
        self, samples: np.ndarray, words: tuple[WordTiming, ...], rate: int
    ) -> None: ...


def open_clip(stack: contextlib.ExitStack, entry: Entry) -> Clip:
    """The clip of ``entry``, read utterance by utterance from a descriptor
    held open (by ``stack``) until the section is rendered.

    Raises:
        NarratorError: the entry's metadata does not describe its payload.
        OSError: the entry cannot be opened.
    """
    handle = stack.enter_context(entry.path.open("rb"))
    # Another build may have replaced the entry since it was read: the same
    # payload, but its header (and so the payload's offset) may differ.
    head = handle.read(8)
    if len(head) != 8 or 8 + int.from_bytes(head[4:], "little") != entry.payload_offset:
        raise NarratorError("the clip's cache entry changed while it was opened")
    return Clip.from_file(
        handle.fileno(), entry.payload_offset, entry.payload_bytes, entry.meta
    )


def text_digests(texts: Sequence[str]) -> list[str]:
    """What the ``latest`` pointer records of each text."""
    return [hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]


def latest_clip(cache: Cache, key: str, stack: contextlib.ExitStack) -> Donor | None:
    """The clip the ``latest`` pointer ``key`` names; None when there is none,
    or it is gone, damaged or does not match the pointer."""
    pointer = cache.get("latest", key) if key else None
    if pointer is None:
        return None
    clip_key, texts = pointer.meta.get("clip"), pointer.meta.get("texts")
    if not isinstance(clip_key, str) or not isinstance(texts, list):
        return None
    entry = cache.get("clips", clip_key)
    if entry is None:
        return None
    try:
        clip = open_clip(stack, entry)
    except (NarratorError, OSError, KeyError, TypeError, ValueError):
        return None
    if len(clip.utterances) != len(texts):
        return None
    return clip, {str(t): i for i, t in enumerate(texts)}


def remember(cache: Cache, key: str, clip_key: str, digests: list[str]) -> None:
    """Point ``latest`` ``key`` at the clip just made."""
    if key:
        cache.put("latest", key, b"", {"clip": clip_key, "texts": digests})


def _batches(texts: Sequence[str], indices: Sequence[int]) -> Iterator[list[int]]:
    """``indices`` of ``texts`` in runs of about ``SYNTH_BATCH_CHARS`` characters."""
    batch: list[int] = []
    size = 0
    for i in indices:
        if batch and size + len(texts[i]) > SYNTH_BATCH_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(i)
        size += len(texts[i])
    if batch:
        yield batch


def write_utterances(
    writer: Writer,
    texts: Sequence[str],
    digests: Sequence[str],
    speak: Callable[[list[str]], list[Audio]],
    cancel: threading.Event,
    donor: Donor | None,
) -> int:
    """Write ``texts``' utterances in order: those ``donor`` holds copied from
    it, the others spoken batch by batch (one Audio per text); how many were.

    Raises:
        EngineError: ``speak`` failed.
        Cancelled: another section failed meanwhile.
    """
    clip, where = donor if donor is not None else (None, {})
    missing = [i for i, d in enumerate(digests) if d not in where]
    done = 0

    def copy_until(end: int) -> None:  # utterances done..end are all in clip
        nonlocal done
        if clip is None:  # nothing to copy: every utterance is spoken
            return
        for i in range(done, end):
            j = where[digests[i]]
            words = clip.words[j] if clip.words else ()
            writer.add_trimmed(clip.utterances[j], words, clip.sample_rate)
        done = max(done, end)

    for batch in _batches(texts, missing):
        if cancel.is_set():
            raise Cancelled()
        audios = speak([texts[i] for i in batch])
        for i, audio in zip(batch, audios, strict=True):
            copy_until(i)
            writer.add([audio])
            done = i + 1
        del audios  # the encoded batch: free it before the next
    copy_until(len(texts))
    return len(missing)
