"""What the Markdown and plain-text readers share: the `Block` they produce.

Both readers cut the body into blocks (headings and paragraphs); the section
assembler (`narrator.text.sections`) then gathers them into sections. The
small tests on a line that both readers apply live here too, so that neither
reader imports the other.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["PLAIN_BULLET", "Block", "as_sentence", "has_signs", "is_speakable"]

# A bullet as typed in plain text; a Markdown document may hold such lines too.
PLAIN_BULLET = re.compile(r"^[ \t]*[-*+•◦▪‣·–—][ \t]+(.*)$")


@dataclass
class Block:
    """A heading or a paragraph before sections are assembled."""

    # "heading", "para", "signs" (symbols or emoji without a word) or "media"
    # (images or links without a word: a chapter's picture, never spoken)
    kind: str
    raw: str  # source text, inline syntax still in place
    line: int
    level: int = 0
    bullet: bool = False
    title_like: bool = False  # plain text: a lone heading-shaped line
    markdown: bool = True
    text: str = ""  # inline syntax stripped, filled by narrator.text.sections
    # Markdown's images (target, alt) and link targets, filled there too.
    images: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()


_SPEAKABLE = re.compile(r"[^\W_]")
# Emoji shown as pictures, keycaps (1️⃣ #️⃣) included: decoration, not words.
_EMOJI_SEQUENCE = re.compile(r"\S\ufe0f\u20e3?|[0-9#*]\u20e3")


def is_speakable(text: str) -> bool:
    """Say whether `text` has a letter or digit that is not part of an emoji."""
    return bool(_SPEAKABLE.search(_EMOJI_SEQUENCE.sub(" ", text)))


def has_signs(text: str) -> bool:
    """Say whether `text` holds an emoji or a symbol (not mere punctuation or
    ASCII layout such as ``***`` or ``---``): a line of them says something
    the voice will not, and the report must count it."""
    return any(
        unicodedata.category(ch) in ("So", "Sc")
        or (not ch.isascii() and unicodedata.category(ch) == "Sm")
        for ch in text
    )


def as_sentence(text: str) -> str:
    """End `text` with a full stop unless it already ends with punctuation."""
    stripped = text.rstrip()
    if not stripped or stripped[-1] in ".!?…:;":
        return stripped
    return stripped + "."
