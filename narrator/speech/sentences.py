"""Split a paragraph into sentences.

A section made into utterances (sentences normalized, pauses between them)
is ``normalize.speak_section``.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a table written as prose."""
    return frozenset(text.split())


# Words after which a period is an abbreviation, not the end of a sentence.
NO_SPLIT_AFTER = _words(
    """
    M MM Mme Mmes Mlle Mlles Me Mgr Dr Drs Pr Prof St Ste Sts Stes cf Cf p pp ex env
    av apr n No vol chap art fig éd tél c.-à-d i.e e.g vs Mr Jr Sr réf hab max min
    approx coll dir trad
    """
)

# French typography puts a (no-break) space before a closing guillemet.
_END_RE = re.compile(r"[.!?…]+(?:[ \u00a0\u202f]*[»”])?[\"’')\]]*(?=\s)")
_CLOSERS = "»\"”’')] \u00a0\u202f"
_WORD_BEFORE_RE = re.compile(r"([\w.'-]+)$")


def _is_abbreviation(text: str, end: int) -> bool:
    """Return True when the period just before ``end`` closes an abbreviation."""
    m = _WORD_BEFORE_RE.search(text, 0, end)
    if not m:
        return False
    word = m.group(1).rstrip(".")
    last = word.rsplit(".", 1)[-1].rsplit("-", 1)[-1]
    if word in NO_SPLIT_AFTER or last in NO_SPLIT_AFTER:
        return True
    # initials: "J. R. R. Tolkien", "J.-C."
    return len(last) == 1 and last.isalpha() and last.isupper()


def split_sentences(text: str) -> list[str]:
    """Split a written paragraph into sentences.

    A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quote or
    bracket) followed by a space and a capital, a digit, an opening quote or a
    dash: never after an abbreviation (M., Mme., p. ex., cf.), an initial
    (J.-C.), inside a number or URL (no space follows), or before a lower-case
    word (« C'est fini… » dit-il). No text is lost: the words of the output are
    the words of the input.
    """
    sentences: list[str] = []
    start = 0
    for m in _END_RE.finditer(text):
        end = m.end()
        rest = text[end:].lstrip()
        if not rest:
            break
        nxt = rest[0]
        if not (nxt.isupper() or nxt.isdigit() or nxt in '«"“(-—–•'):
            continue
        single_period = m.group()[0] == "." and len(m.group().rstrip(_CLOSERS)) == 1
        if single_period and _is_abbreviation(text, m.start()):
            continue
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    piece = text[start:].strip()
    if piece:
        sentences.append(piece)
    return sentences
