"""What a rule is, and what it may read besides the text.

A rule is a function ``(text, pass) -> text``. The :class:`Pass` carries what
a few rules need: the engine's :class:`Profile`, the user lexicon, the vault
of spoken text later rules must not touch, and the count of what was left out.
Every rule takes it, so that the normalizer's list of rules is a plain tuple a
reader can reorder, remove from or add to.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

# Placeholders sit in the private use area, which is stripped from the input
# first (typography.clean), so no input character can pose as one.
PLACEHOLDER_BASE = 0xE100
PLACEHOLDER_MAX = 0xF8FF - PLACEHOLDER_BASE
_PLACEHOLDER_RE = re.compile(f"[{chr(PLACEHOLDER_BASE)}-\uf8ff]")


@dataclass(frozen=True)
class Profile:
    """What one engine needs help with."""

    name: str
    respell_brands: bool  # French-phonetic respellings of English names
    spell_acronyms: bool  # "IA" -> "i a": espeak reads "l'IA" as "lya"
    french_scripts_only: bool = True  # leave out Arabic, Cyrillic, Han…


class Vault:
    """Spoken text that later rules must not touch, behind placeholders."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, spoken: str) -> str:
        """Keep ``spoken`` aside; return the placeholder that stands for it."""
        if len(self.items) >= PLACEHOLDER_MAX:
            return spoken  # absurdly many: give up protecting, never fail
        self.items.append(spoken)
        return chr(PLACEHOLDER_BASE + len(self.items) - 1)

    def restore(self, text: str) -> str:
        """Put the kept text back in place of its placeholders."""
        if not self.items:
            return text
        return _PLACEHOLDER_RE.sub(
            lambda m: (
                self.items[ord(m.group()) - PLACEHOLDER_BASE]
                if ord(m.group()) - PLACEHOLDER_BASE < len(self.items)
                else ""
            ),
            text,
        )


@dataclass(frozen=True)
class Pass:
    """One normalization of one text: what its rules share besides the text."""

    profile: Profile
    lexicon: Mapping[str, str] | None = None
    vault: Vault = field(default_factory=Vault)
    # characters left out per script or kind ("Arabic": 42, "emoji": 1), for
    # the caller to report, and the written runs they were («القاهرة», «★»)
    dropped: Counter[str] = field(default_factory=Counter)
    left_out: list[str] = field(default_factory=list)

    def leave_out(self, kind: str, written: str, count: int | None = None) -> None:
        """Count ``written`` as left out of the speech, as ``kind`` (``count``
        characters; by default those a reader sees)."""
        count = visible_count(written) if count is None else count
        if count:
            self.dropped[kind] += count
            self.left_out.append(written.strip())


# Joiners, variation selectors, keycap and skin-tone marks belong to the emoji
# they shape: "👍🏽" is one character left out, not two.
_SHAPING_RE = re.compile("[\u200d\ufe00-\ufe0f\u20e3\U0001f3fb-\U0001f3ff]")


def visible_count(written: str) -> int:
    """How many characters a reader sees in ``written`` (not its joiners)."""
    return len(_SHAPING_RE.sub("", written).strip())


Rule = Callable[[str, Pass], str]


def apply_table(text: str, table: Iterable[tuple[str, re.Pattern[str], str]]) -> str:
    """Apply a table of (needle, pattern, replacement) rows in order.

    A row's pattern runs only when its needle is in the text: most texts hold
    none of the needles, and ``in`` is far cheaper than a regex scan.
    """
    for needle, pattern, repl in table:
        if needle in text:
            text = pattern.sub(repl, text)
    return text
