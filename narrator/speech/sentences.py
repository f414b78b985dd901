"""Split a paragraph into sentences and a section into utterances."""

from __future__ import annotations

import re
from collections.abc import Mapping

from narrator.model import Section, Utterance
from narrator.speech.normalize import normalize


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
_HAS_SPEAKABLE_RE = re.compile(r"[^\W_]")


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


def _with_stop(sentence: str) -> str:
    stripped = sentence.rstrip()
    if stripped and stripped[-1] not in '.!?…:;»"”)':
        return stripped + "."
    return stripped


def prepare_section(
    section: Section,
    *,
    engine: str = "espeak",
    lexicon: Mapping[str, str] | None = None,
) -> tuple[Utterance, ...]:
    """Return the section as utterances, ready for an engine.

    First the title (pause "title"), then each paragraph's sentences: pause
    "sentence" between sentences of a paragraph, "paragraph" after its last
    one, and "end" after the very last utterance of the section (the title
    itself when the section has no text). ``display`` is the written sentence
    (a bullet item gains a final period), ``text`` its normalized form.
    Sentences with nothing speakable are dropped; the title never is.
    """
    title = section.title.strip()
    items: list[Utterance] = [
        Utterance(
            text=normalize(title, engine=engine, lexicon=lexicon) or title,
            display=title,
            pause="title",
        )
    ]
    for paragraph in section.paragraphs:
        spoken: list[tuple[str, str]] = []
        sentences = split_sentences(paragraph.text)
        for i, sentence in enumerate(sentences):
            display = sentence
            if paragraph.bullet and i == len(sentences) - 1:
                display = _with_stop(sentence)
            text = normalize(display, engine=engine, lexicon=lexicon)
            if _HAS_SPEAKABLE_RE.search(text):
                spoken.append((text, display))
        for i, (text, display) in enumerate(spoken):
            pause = "paragraph" if i == len(spoken) - 1 else "sentence"
            items.append(Utterance(text=text, display=display, pause=pause))
    last = items[-1]
    items[-1] = Utterance(text=last.text, display=last.display, pause="end")
    return tuple(items)
