"""Piper's text side: espeak-ng's phonemes made into the ids a voice model takes.

How text becomes ids follows Piper's published voice format: espeak-ng
phonemizes clause by clause; each clause's phonemes get back their punctuation
as espeak-ng typed the clause ("." "?" "!", or "," ":" ";" and a space; none
after "…" or a clause cut for length, whose words then touch the next ones, as
the voices were trained), a clause of a sentence type ends the sentence, every
sentence is decomposed to Unicode code points (NFD) and mapped to ids as
BOS, then each phoneme's ids followed by PAD, then EOS. A sentence too long
for one inference is cut between clauses, then words. Pure functions on
strings: ``piper`` calls espeak-ng and runs the model.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BOS",
    "EOS",
    "MAX_PHONEMES",
    "PAD",
    "Chunk",
    "Clause",
    "chunk_sentences",
    "clause_type",
    "phoneme_ids",
    "sentence_phonemes",
    "sentences_of",
]

PAD, BOS, EOS = "_", "^", "$"  # the symbols every Piper phoneme_id_map has
# Phonemes per inference: VITS memory and time grow with the input, and very
# long inputs drift; 300 phonemes is 15-25 s of speech.
MAX_PHONEMES = 300

# espeak-ng's clause types as piper-tts 1.8 reports them (its espeak bridge keeps
# the punctuation of a clause whose type is exactly a period, question,
# exclamation, comma, colon or semicolon, and ends a sentence on the sentence
# types). These character classes were read off that reference, clause by
# clause; espeak-ng's own tables (Unicode properties) decide the type.
_PERIOD = ".۔܁܄።᙮᠃᠉⳹⳾⸳⸼︒﹒｡"
_QUESTION = "?;؟܉፧᥅⁇❓❔⳺⳻︖﹖"
_EXCLAMATION = "!܃߹᥄‼❕❗❢❣︕﹗"
_COMMA = ",՝،܂߸༔፣᠂᠈⸲⸴⹁︐︑﹐﹑､"
_COLON = ":܆܇፥፦᠄⦂︓﹕"
_SEMICOLON = ";·؛܈፤⁏⸵︔﹔–—⸺⸻︱︲"  # dashes end a clause as ";" does
_SENTENCE_NO_MARK = "։܀।॥෴།༎჻፨。！．？"  # end a sentence, keep no mark
_CLAUSE_NO_MARK = "¡¿᠁…⋮⋯⋰⋱、，：；︙"  # end a clause, keep no mark
# These end a clause even when a letter follows them.
_NO_SPACE_NEEDED = "¡¿։।෴།᠁…⋮⋯⋰⋱、。︙！，．：；？"
_MARKS: dict[str, tuple[str, bool]] = {}
for _chars, _mark in (
    (_PERIOD, (".", True)),
    (_QUESTION, ("?", True)),
    (_EXCLAMATION, ("!", True)),
    (_COMMA, (",", False)),
    (_COLON, (":", False)),
    (_SEMICOLON, (";", False)),
    (_SENTENCE_NO_MARK, ("", True)),
    (_CLAUSE_NO_MARK, ("", False)),
):
    _MARKS.update(dict.fromkeys(_chars, _mark))
_ASKING = set(_QUESTION + _EXCLAMATION)  # a run like "?!" is typed by its first
# Piper keeps a space after these, inside a sentence and at its end (a set:
# in a string, "" would be found too).
_SPACED = frozenset({",", ":", ";"})
# espeak-ng marks a switch to another language's rules as "(en)" ... "(fr)".
_LANG_SWITCH = re.compile(r"\([^)]+\)")


@dataclass(frozen=True)
class Clause:
    """One clause as espeak-ng phonemized it, the punctuation Piper keeps after
    it, and whether it ends a sentence (one inference)."""

    phonemes: str
    terminator: str  # one of ".?!,:;", or "" (no mark kept)
    ends_sentence: bool = False


def sentences_of(raw: Sequence[tuple[str, bytes]]) -> list[list[Clause]]:
    """espeak-ng's clauses (``espeak.text_to_phonemes``: phonemes and the text
    each consumed) grouped into sentences as piper-tts groups them, each clause
    with its punctuation and without espeak-ng's language switch marks.

    A clause with no phonemes still keeps its mark (a lone dash is "; "), as
    the reference does; a sentence with nothing in it is dropped.
    """
    sentences: list[list[Clause]] = [[]]
    last = len(raw) - 1
    for index, (phonemes, consumed) in enumerate(raw):
        terminator, ends = clause_type(consumed, final=index == last)
        phonemes = _LANG_SWITCH.sub("", phonemes)
        if phonemes or terminator:
            sentences[-1].append(Clause(phonemes, terminator, ends))
        if ends and sentences[-1]:
            sentences.append([])
    return [s for s in sentences if s]


def clause_type(consumed: bytes, *, final: bool) -> tuple[str, bool]:
    """The mark Piper keeps after a clause, and whether the clause ends a
    sentence, from the text espeak-ng consumed for it.

    espeak-ng reads one character past a clause's end before returning, so
    that character is set apart (except at the end of the text). A clause ends
    on punctuation followed by a space (or a bracket or quote); "..." and "…"
    end a clause without a mark; a run like "?!" is typed by its first mark;
    two line breaks make a paragraph (a sentence end, no mark); a clause that
    espeak-ng cut for length ends nothing and keeps no mark.
    """
    text = consumed.decode("utf-8", "replace")
    ahead = ""
    if not final and text:
        text, ahead = text[:-1], text[-1]
    body = text.rstrip()
    breaks = text[len(body) :].count("\n")
    if not body:
        return "", final or breaks >= 2
    mark = body[-1]
    if body.endswith("..."):
        mark = "…"
    elif mark in _ASKING:
        start = len(body) - 1
        while start > 0 and body[start - 1] in _ASKING:
            start -= 1
        mark = body[start]
    found = _MARKS.get(mark)
    if found is None or (
        body == text and ahead.isalnum() and mark not in _NO_SPACE_NEEDED
    ):
        # No punctuation ends it: the end of the text or a paragraph is a
        # sentence end; otherwise espeak-ng cut a long clause.
        return "", final or breaks >= 2
    if breaks >= 2:
        return "", True  # punctuation then a blank line: a paragraph
    return found


def sentence_phonemes(clauses: Sequence[Clause]) -> list[str]:
    """A sentence as Piper feeds it: each clause's phonemes and punctuation, a
    space after "," ":" ";" (also at the end), decomposed into code points."""
    parts = []
    for clause in clauses:
        parts.append(clause.phonemes + clause.terminator)
        if clause.terminator in _SPACED:
            parts.append(" ")
    return list(unicodedata.normalize("NFD", "".join(parts)))


def phoneme_ids(
    phonemes: Sequence[str], id_map: Mapping[str, Sequence[int]]
) -> tuple[list[int], set[str]]:
    """Map phonemes to ids: BOS, PAD, then each phoneme's ids and PAD, then EOS.

    Returns the ids and the phonemes the voice does not know (skipped).
    """
    pad = list(id_map[PAD])
    ids = list(id_map[BOS]) + pad
    missing: set[str] = set()
    for phoneme in phonemes:
        found = id_map.get(phoneme)
        if found is None:
            missing.add(phoneme)
            continue
        ids.extend(found)
        ids.extend(pad)
    ids.extend(id_map[EOS])
    return ids, missing


@dataclass(frozen=True)
class Chunk:
    """Phonemes sent in one inference; ``brk`` is the boundary after it."""

    phonemes: list[str]
    brk: str = "end"


def chunk_sentences(
    sentences: Sequence[Sequence[Clause]], max_phonemes: int = MAX_PHONEMES
) -> list[Chunk]:
    """Group an utterance's phonemes into inferences of at most ``max_phonemes``.

    Every sentence is its own inference (as Piper does); a sentence too long is
    cut between clauses, a clause too long between words, a word too long
    anywhere.
    """
    chunks: list[Chunk] = []
    for clauses in sentences:
        whole = sentence_phonemes(clauses)
        if len(whole) <= max_phonemes:
            chunks.append(Chunk(whole, "sentence"))
            continue
        group: list[Clause] = []
        for clause in clauses:
            if group and len(sentence_phonemes([*group, clause])) > max_phonemes:
                chunks.append(Chunk(sentence_phonemes(group), "clause"))
                group = []
            group.append(clause)
            if len(sentence_phonemes(group)) > max_phonemes:
                chunks.extend(_split_words(group[0], max_phonemes))
                group = []
        if group:
            chunks.append(Chunk(sentence_phonemes(group), "clause"))
        if chunks:
            chunks[-1] = Chunk(chunks[-1].phonemes, "sentence")
    if chunks:
        chunks[-1] = Chunk(chunks[-1].phonemes, "end")
    return chunks


def _split_words(clause: Clause, max_phonemes: int) -> list[Chunk]:
    words = unicodedata.normalize("NFD", clause.phonemes + clause.terminator).split()
    chunks: list[Chunk] = []
    current: list[str] = []
    for word in words:
        for start in range(0, len(word), max_phonemes):
            piece = list(word[start : start + max_phonemes])
            if current and len(current) + 1 + len(piece) > max_phonemes:
                chunks.append(Chunk(current, "word"))
                current = []
            current = [*current, " ", *piece] if current else piece
    if current:
        chunks.append(Chunk(current, "clause"))
    return chunks
