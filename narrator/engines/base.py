"""The engine contract. Imports no engine library.

An engine turns the utterances of one section into audio, one Audio per
utterance, in one call. Batching per section (rather than one call per
sentence) lets a network engine keep several requests in flight. An
utterance's audio depends on its text (and the engine's ``identity()``)
alone, never on its neighbours in the call: the build cuts a long section
into several calls anywhere, and when a section is edited it asks only for
the utterances that changed, taking the others from the section's last clip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from narrator.model import Audio, WordTiming

# What a plugin engine needs, importable from the contract's own module (Audio and
# WordTiming are model values since the reshape; a plugin written against this
# module before keeps working).
__all__ = ["Audio", "Engine", "SectionRef", "WordTiming"]


@dataclass(frozen=True)
class SectionRef:
    """The section a ``synthesize`` call serves (0-based ``index``).

    Engines use it for logging and for their own per-section decisions; the
    user's error message is written by the pipeline (``EngineError.with_section``).
    """

    index: int
    title: str


@runtime_checkable
class Engine(Protocol):
    """A speech engine: everything the pipeline relies on, and nothing else.

    ``local`` engines run on this machine (CPU-bound: the pipeline bounds them
    by cores); network engines set it False (the pipeline bounds requests in
    flight instead). ``profile`` names the French normalization profile its
    voice needs (``narrator.speech.normalize.PROFILES``); it is declared once, as the
    engine module's ``PROFILE`` (``engines.profile_of`` reads that without
    creating the engine), and the class says ``profile = PROFILE``.
    ``identity()`` lists everything that changes the sound (engine name and
    version, language, voice, rate, a voice model's SHA-256...); it is hashed
    into the clip cache key. ``voice`` is recorded in the episode so ``auto``
    rebuilds with the same one. ``probe()`` is a cheap yes/no "can it run
    now?" used by ``--engine auto``; it never raises. ``synthesize`` returns
    one Audio per text, splits text to its own limits, raises EngineError
    (with ``retryable``) and never touches the cache, the output folder or the
    terminal. Each Audio depends on its own text only (see the module's
    docstring).
    """

    name: str
    local: bool
    profile: str
    voice: str  # as --voice names it ("" when the engine has no voice choice)

    def identity(self) -> Mapping[str, str]: ...

    def probe(self) -> bool: ...

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef
    ) -> list[Audio]: ...
