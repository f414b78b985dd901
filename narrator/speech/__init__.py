"""French text made speakable, with a per-engine profile.

Public API: :func:`normalize` (and :func:`normalize_counted`, which also says
what was left out), :func:`split_sentences`, :func:`speak_section` (a section's
utterances and what its voice cannot read) and its shorthand
:func:`prepare_section`, :func:`load_lexicon` and the :data:`Lexicon` type. See
``normalize.py`` for the order of the rules and the "espeak" / "gtts" profiles,
``rules/`` for the rules, and
``scripts.py`` for the writing systems a French voice does not read.
"""

from __future__ import annotations

from narrator.speech.lexicon import Lexicon, load_lexicon
from narrator.speech.normalize import (
    PROFILES,
    SpokenSection,
    normalize,
    normalize_counted,
    prepare_section,
    profile_for,
    speak_section,
)
from narrator.speech.rules.base import Profile
from narrator.speech.scripts import script_of, strip_unreadable
from narrator.speech.sentences import split_sentences

__all__ = [
    "PROFILES",
    "Lexicon",
    "Profile",
    "SpokenSection",
    "load_lexicon",
    "normalize",
    "normalize_counted",
    "prepare_section",
    "profile_for",
    "script_of",
    "speak_section",
    "split_sentences",
    "strip_unreadable",
]
