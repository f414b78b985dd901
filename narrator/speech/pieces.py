"""Text cut into request-sized pieces, where a French reader takes a breath.

A network voice (gTTS, Edge) refuses long texts, and every engine is handed
utterances of bounded length: ``split_pieces`` cuts at sentence, then clause,
then word boundaries, and says after each piece what kind of cut it was (the
joined audio puts a pause of that kind there). Changing the cutting changes the
sound: engines that use it carry an assembly version in their identity.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# A piece made only of these says nothing (gTTS's own list, and white space).
_PUNCTUATION = "?!？！.,¡()[]¿…‥،;:—。，、：\n"
_NOTHING_TO_SAY = re.compile(
    "^[{}]*$".format(re.escape(_PUNCTUATION + " \t\n\r\x0b\x0c"))
)


# --------------------------------------------------------------------------
# Splitting


@dataclass(frozen=True)
class Piece:
    """A run of at most 100 characters sent in one request.

    ``brk`` is the kind of boundary after the piece: "sentence", "clause",
    "word", "hard" (inside a word too long to split) or "end".
    """

    text: str
    brk: str = "end"


_SENTENCE_CUT = re.compile(r"(?<=[.!?…])\s+")
# After , ; : and a closing parenthesis, or before an opening one or a dash:
# where a French reader takes a breath.
_CLAUSE_CUT = re.compile(r"(?<=[,;:)])\s+|\s+(?=[(—–])")
_LEVELS = (("sentence", _SENTENCE_CUT), ("clause", _CLAUSE_CUT))


def split_pieces(text: str, max_chars: int) -> list[Piece]:
    """Split ``text`` into pieces of at most ``max_chars`` characters.

    Cuts at sentence ends first, then at clause punctuation, then between
    words (balanced, so no word is left alone at the end); a word longer than
    ``max_chars`` is cut as a last resort. Adjacent units are packed together
    while they fit, so short sentences share a request. Pieces made only of
    punctuation are dropped: there is nothing to say.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    flat = " ".join(text.split())
    if not flat:
        return []
    pieces = _split(flat, 0, max_chars)
    spoken = [p for p in pieces if not _NOTHING_TO_SAY.match(p.text)]
    if spoken and spoken[-1].brk != "end":
        spoken[-1] = Piece(spoken[-1].text, "end")
    return spoken


def _split(text: str, level: int, max_chars: int) -> list[Piece]:
    if len(text) <= max_chars:
        return [Piece(text)]
    if level == len(_LEVELS):
        return _split_words(text, max_chars)
    kind, pattern = _LEVELS[level]
    units = [u for u in pattern.split(text) if u]
    if len(units) < 2:
        return _split(text, level + 1, max_chars)
    pieces: list[Piece] = []
    groups = _pack(units, [" "] * len(units), max_chars)
    for index, group in enumerate(groups):
        sub = _split(" ".join(units[i] for i in group), level + 1, max_chars)
        if index < len(groups) - 1:
            sub[-1] = Piece(sub[-1].text, kind)
        pieces.extend(sub)
    return pieces


def _pack(units: list[str], glue: list[str], max_chars: int) -> list[list[int]]:
    """Group adjacent units (by index) into runs that fit in ``max_chars``.

    ``glue[i]`` joins unit i to the one before it. Groups are as few as greedy
    packing makes them, but evened out so the last one is not a lone scrap.
    """

    def run(target: float) -> list[list[int]]:
        groups: list[list[int]] = []
        current: list[int] = []
        length = 0
        for i, unit in enumerate(units):
            added = len(unit) + (len(glue[i]) if current else 0)
            if current and (length + added > max_chars or length >= target):
                groups.append(current)
                current, length = [i], len(unit)
            else:
                current.append(i)
                length += added
        groups.append(current)
        return groups

    greedy = run(math.inf)
    if len(greedy) == 1:
        return greedy
    total = sum(map(len, units)) + sum(map(len, glue[1:]))
    even = run(total / len(greedy))
    return even if len(even) <= len(greedy) else greedy


def _split_words(text: str, max_chars: int) -> list[Piece]:
    units: list[str] = []
    glue: list[str] = []
    for word in text.split(" "):
        # A word longer than a request is cut as a last resort.
        for start in range(0, len(word), max_chars):
            glue.append(" " if start == 0 else "")
            units.append(word[start : start + max_chars])
    groups = _pack(units, glue, max_chars)
    pieces = []
    for index, group in enumerate(groups):
        joined = "".join(glue[i] + units[i] for i in group).strip()
        if index == len(groups) - 1:
            brk = "end"
        else:
            brk = "hard" if glue[groups[index + 1][0]] == "" else "word"
        pieces.append(Piece(joined, brk))
    return pieces
