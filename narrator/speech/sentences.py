"""Split a paragraph into sentences and a section into utterances."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from narrator.model import Section, Utterance
from narrator.speech.normalize import normalize_counted
from narrator.speech.pieces import split_pieces


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

# The longest text one utterance carries. A sentence has no bound (a line of
# 300,000 characters without a stop is 5 hours of speech), and an utterance is
# synthesized, trimmed and mastered as one array: the limit bounds memory for
# every engine, and is applied here, before synthesis, so every engine and the
# clip cache see the same pieces. About 40 s of speech; ordinary sentences
# are far shorter and are never cut.
MAX_UTTERANCE_CHARS = 600


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


@dataclass(frozen=True)
class SpokenSection:
    """A section as the engine will speak it, and what was left out of it.

    ``utterances`` may be empty, or hold only the heading, when everything
    the section says is in a script the voice cannot read: ``has_speech``
    (a sentence of the text, not just the heading, is spoken) is then false
    and the section has nothing worth synthesizing.
    """

    utterances: tuple[Utterance, ...]
    has_speech: bool
    # (script, characters) left out of the speech, most characters first.
    dropped: tuple[tuple[str, int], ...] = ()

    def left_out(self) -> str:
        """Say what was left out, e.g. "42 Arabic characters", or ""."""
        return ", ".join(
            f"{count} {script} character{'s' if count > 1 else ''}"
            for script, count in self.dropped
        )


def _spoken_pieces(
    display: str,
    engine: str,
    lexicon: Mapping[str, str] | None,
    dropped: Counter[str],
    budget: int = MAX_UTTERANCE_CHARS,
) -> list[tuple[str, str, str | None]]:
    """(text, display, cut) of each utterance ``display`` makes, none longer
    than ``MAX_UTTERANCE_CHARS`` once normalized.

    A sentence longer than ``budget`` is cut at clause, then word boundaries
    (``split_pieces``); a piece that normalizing made too long (numbers spelled
    out) is cut again with a smaller budget. ``cut`` is the kind of cut after a
    piece ("clause", "word", ...; None after the sentence's last): pause kinds
    with no configured pause, so the pieces of one sentence follow each other
    as closely as silence trimming leaves them.
    """
    parts: list[tuple[str, str | None]] = [(display, None)]
    if len(display) > budget:
        pieces = split_pieces(display, budget)
        parts = [(p.text, p.brk) for p in pieces]
        parts[-1] = (parts[-1][0], None)
    out: list[tuple[str, str, str | None]] = []
    for part, cut in parts:
        text, removed = normalize_counted(part, engine=engine, lexicon=lexicon)
        if len(text) > MAX_UTTERANCE_CHARS and len(part) > 1:
            smaller = max(
                1, min(len(part) - 1, budget * MAX_UTTERANCE_CHARS // len(text))
            )
            inner = _spoken_pieces(part, engine, lexicon, dropped, smaller)
            if inner:
                inner[-1] = (*inner[-1][:2], cut)
            out.extend(inner)
            continue
        dropped.update(removed)
        if _HAS_SPEAKABLE_RE.search(text):
            out.append((text, part, cut))
    return out


def speak_section(
    section: Section,
    *,
    engine: str = "espeak",
    lexicon: Mapping[str, str] | None = None,
) -> SpokenSection:
    """Return the section as utterances for an engine, and what was left out.

    The heading comes first (pause "title"), unless the section has none
    (``has_heading`` false: its chapter title is made up, so never spoken).
    Then each paragraph's sentences: pause "sentence" between sentences of a
    paragraph, "paragraph" after its last one, and "end" after the very last
    utterance of the section. ``display`` is the written sentence (a bullet
    item gains a final period), ``text`` its normalized form. A title or
    sentence with nothing left to speak, once what the French voice cannot
    read is taken out (`normalize_counted`), makes no utterance: an engine
    never receives an empty or unreadable text, and no transcript cue is
    timed for it.
    """
    dropped: Counter[str] = Counter()
    items: list[Utterance] = []
    sentences_spoken = 0
    title = section.title.strip()
    if section.has_heading:
        text, removed = normalize_counted(title, engine=engine, lexicon=lexicon)
        dropped.update(removed)
        if _HAS_SPEAKABLE_RE.search(text):
            items.append(Utterance(text=text, display=title, pause="title"))
    for paragraph in section.paragraphs:
        spoken: list[tuple[str, str, str | None]] = []
        sentences = split_sentences(paragraph.text)
        for i, sentence in enumerate(sentences):
            display = sentence
            if paragraph.bullet and i == len(sentences) - 1:
                display = _with_stop(sentence)
            spoken.extend(_spoken_pieces(display, engine, lexicon, dropped))
        for i, (text, display, cut) in enumerate(spoken):
            pause = cut or ("paragraph" if i == len(spoken) - 1 else "sentence")
            items.append(Utterance(text=text, display=display, pause=pause))
        sentences_spoken += len(spoken)
    if items:
        last = items[-1]
        items[-1] = Utterance(text=last.text, display=last.display, pause="end")
    return SpokenSection(
        utterances=tuple(items),
        has_speech=sentences_spoken > 0,
        dropped=tuple(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def prepare_section(
    section: Section,
    *,
    engine: str = "espeak",
    lexicon: Mapping[str, str] | None = None,
) -> tuple[Utterance, ...]:
    """Return the section's utterances (`speak_section` without the report)."""
    return speak_section(section, engine=engine, lexicon=lexicon).utterances
