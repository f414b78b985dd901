"""French text made speakable, with a per-engine profile.

Public API: :func:`normalize`, :func:`split_sentences`, :func:`prepare_section`,
:func:`load_lexicon` and the :data:`Lexicon` type. See ``normalize.py`` for the
rules and the "espeak" / "gtts" profiles.
"""

from __future__ import annotations

from narrator.speech.lexicon import Lexicon, load_lexicon
from narrator.speech.normalize import PROFILES, Profile, normalize, profile_for
from narrator.speech.sentences import prepare_section, split_sentences

__all__ = [
    "PROFILES",
    "Lexicon",
    "Profile",
    "load_lexicon",
    "normalize",
    "prepare_section",
    "profile_for",
    "split_sentences",
]
