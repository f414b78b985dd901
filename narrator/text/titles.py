"""An episode title for a document that gives none: its file name when that
is made of words, else its first sentence, shortened.

A file name is often not words at all («000_4308e03e8e9adbfa», «IMG_1234»,
«doc1»), and a podcast app shows the title everywhere: a hash there is a
surprise. A name of words («budget-2026») stays the title («Budget 2026»).
Nothing here is ever spoken.
"""

from __future__ import annotations

import re

__all__ = ["MAX_TITLE_CHARS", "shorten_title", "stem_title"]

# A title cut from a sentence fits in this many characters, «…» included: what
# a podcast app shows in one line of its episode list.
MAX_TITLE_CHARS = 70

_SEPARATORS = re.compile(r"[\s_.\-–—+]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
# A number a title may hold: up to 4 digits (a year, a chapter, an edition).
_NUMBER = re.compile(r"\d{1,4}")


def _letters(token: str) -> bool:
    """Letters only, an apostrophe inside allowed («l'économie»)."""
    return token.replace("'", "").replace("’", "").isalpha()


def _is_word(token: str) -> bool:
    """A token that reads as a word, not a code: letters only, two or more,
    not a hex string («deadbeef»), not a short all-capitals camera or scanner
    prefix («IMG», «DSC», «PXL»)."""
    if len(token) < 2 or not _letters(token):
        return False
    if len(token) >= 6 and _HEX.fullmatch(token):
        return False
    return not (token.isupper() and len(token) <= 4)


def stem_title(stem: str) -> str | None:
    """The title a file stem makes when it is words, else None.

    The stem is split on spaces, ``_``, ``-``, ``.`` and ``+``. Every part must
    be a word of letters, an acronym beside words, a single letter (an elided
    «l», «d») or a number of at most four digits (a year), and at least one
    part must be a word (`_is_word`): «budget-2026» → «Budget 2026»,
    «rapport_ONU_2024» → «Rapport ONU 2024»; «000_4308e03e8e9adbfa»,
    «IMG_1234», «doc1», «2024-03-15» and «notes_v2» give None. The first
    letter is capitalised; the rest stays as written.
    """
    tokens = [t for t in _SEPARATORS.split(stem) if t]
    if not tokens or not any(_is_word(t) for t in tokens):
        return None
    for token in tokens:
        if not (_letters(token) or _NUMBER.fullmatch(token)):
            return None
    title = " ".join(tokens)
    return title[0].upper() + title[1:]


def shorten_title(sentence: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A sentence made a title of at most `limit` characters.

    A sentence that fits is the title, without its final period. A longer
    one is cut at the last word boundary that leaves room for «…», the cut
    words losing a trailing comma, colon or opening quote; a first word
    longer than the limit is cut inside.
    """
    text = " ".join(sentence.split())
    if len(text) <= limit:
        return text.rstrip(".").rstrip() or text
    room = text[: limit - 1]
    cut = room.rfind(" ")
    if cut > 0 and text[limit - 1] != " ":
        room = room[:cut]
    return room.rstrip(" ,;:.-–—([«\"'") + "…"
