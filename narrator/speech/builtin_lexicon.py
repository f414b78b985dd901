"""The built-in French lexicon, and the whole-word patterns lexicons compile to.

``narrator/data/lexicon_fr.toml`` holds what espeak respells (English names),
the acronyms read as words ("OTAN") and those always spelled. This is apart
from ``lexicon.py`` (user lexicon files, which raise ``ConfigError``) so that
the rules importing it stay one level above the leaves.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

BUILTIN_PATH = Path(__file__).resolve().parents[1] / "data" / "lexicon_fr.toml"


@dataclass(frozen=True)
class Builtin:
    """The built-in lexicon: espeak respellings and acronyms read as words."""

    respell: Mapping[str, str]
    words: Mapping[str, str]
    spell: frozenset[str]


@lru_cache(maxsize=1)
def builtin() -> Builtin:
    """Load narrator/data/lexicon_fr.toml once."""
    text = BUILTIN_PATH.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    respell = dict(data.get("respell", {}))
    # A lower-case key also matches its capitalised form ("podcast", "Podcast").
    for key, value in list(respell.items()):
        if key[:1].islower():
            respell.setdefault(key[:1].upper() + key[1:], value[:1].upper() + value[1:])
    return Builtin(
        respell=respell,
        words=dict(data.get("words", {})),
        spell=frozenset(data.get("spell", {}).get("acronyms", [])),
    )


def whole_word_pattern(keys: list[str]) -> re.Pattern[str] | None:
    """Compile keys into one whole-word, case-sensitive alternation.

    Longer keys win over their prefixes; a space in a key matches any run of
    whitespace so "Sam Altman" also matches across a line break.
    """
    keys = sorted({k for k in keys if k.strip()}, key=len, reverse=True)
    if not keys:
        return None
    parts = [r"\s+".join(re.escape(w) for w in k.split()) for k in keys]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


@lru_cache(maxsize=32)
def user_pattern(items: tuple[tuple[str, str], ...]) -> re.Pattern[str] | None:
    """Compile (and cache) the pattern of a user lexicon."""
    return whole_word_pattern([k for k, _ in items])
