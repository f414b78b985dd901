"""Piper's text side: espeak-ng's phonemes made into the ids a voice model takes.

How text becomes ids follows Piper's published voice format: espeak-ng
phonemizes clause by clause; each clause's phonemes get their punctuation
back ("," "." "?" "!" ":" ";"), clauses of one sentence are joined by a space,
every sentence is decomposed to Unicode code points (NFD) and mapped to ids as
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
    "phoneme_ids",
    "sentence_phonemes",
    "sentences_of",
]

PAD, BOS, EOS = "_", "^", "$"  # the symbols every Piper phoneme_id_map has
# Phonemes per inference: VITS memory and time grow with the input, and very
# long inputs drift; 300 phonemes is 15-25 s of speech.
MAX_PHONEMES = 300

_TERMINATORS = ".,;:!?"
_SENTENCE_END = ".!?"
# espeak-ng marks a switch to another language's rules as "(en)" ... "(fr)".
_LANG_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")
_CLOSERS = "\"')]}»”’ \t"


@dataclass(frozen=True)
class Clause:
    """One clause as espeak-ng phonemized it, and the punctuation that ended it."""

    phonemes: str
    terminator: str  # one of _TERMINATORS, or "" (end of text, no punctuation)


def sentences_of(raw: Sequence[tuple[str, bytes]]) -> list[list[Clause]]:
    """espeak-ng's clauses (``espeak.text_to_phonemes``: phonemes and the text
    each consumed) grouped into sentences, each clause with its punctuation and
    without espeak-ng's language switch marks."""
    sentences: list[list[Clause]] = [[]]
    last = len(raw) - 1
    for index, (phonemes, consumed) in enumerate(raw):
        terminator = _terminator(consumed, final=index == last)
        phonemes = _LANG_SWITCH.sub("", phonemes).strip()
        if phonemes:
            sentences[-1].append(Clause(phonemes, terminator))
        if terminator in _SENTENCE_END and sentences[-1]:
            sentences.append([])
    return [s for s in sentences if s]


def _terminator(consumed: bytes, *, final: bool) -> str:
    """The punctuation that ended a clause, from the text espeak-ng consumed.

    espeak-ng reads one character past a clause's end before returning, so
    that character is dropped (except at the end of the text) before looking
    for the punctuation.
    """
    text = consumed.decode("utf-8", "replace")
    if not final and text:
        text = text[:-1]
    text = text.rstrip(_CLOSERS)
    if text.endswith("…"):
        return "."
    return text[-1] if text and text[-1] in _TERMINATORS else ""


def sentence_phonemes(clauses: Sequence[Clause]) -> list[str]:
    """A sentence as Piper feeds it: clause phonemes, their punctuation, a space
    between clauses, decomposed into code points."""
    parts = []
    for i, clause in enumerate(clauses):
        parts.append(clause.phonemes + clause.terminator)
        if i < len(clauses) - 1:
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
