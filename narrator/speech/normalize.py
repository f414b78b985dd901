"""French text made speakable: the engine profiles, the rules in their order,
and a section turned into the utterances an engine receives.

Every rule is a precompiled regular expression applied once over the text, in
the fixed order of :data:`RULES` (most specific first). Every rule is
whole-word and anchored on its context (a digit before a unit, a capitalised
name after "M.", a regnal name before a Roman numeral), so ordinary words never
change. The rules live in ``narrator/speech/rules/``, one module per kind of
written form; the list below is the one place that says which run, and when.

The per-engine seam is :class:`~narrator.speech.rules.base.Profile`: espeak-ng's
French voice needs brand names respelled and acronyms spelled out letter by
letter; Google's voice (gTTS) knows both, so its profile keeps them as
written. Both voices are French: text in a script they cannot read (Arabic,
Cyrillic, Han…) is left out of the speech (see ``scripts.py``), after the user
lexicon has had its chance to give such a word a French reading. Spoken text
produced by a rule that later rules must not touch (a user lexicon entry, a URL
read out) is swapped for a private-use placeholder and restored at the end.

:func:`speak_section` is here rather than beside the sentence splitter it
calls (``sentences.py``) to keep the import graph shallow: the leaf modules
(tables, number words, scripts, the splitter) are one level deep, the rule
modules two, this module three, the most a module of ``narrator.speech`` may
be; a module of its own, importing this one, would be four.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from narrator.model import Section, Utterance
from narrator.speech.pieces import split_pieces
from narrator.speech.rules import (
    abbreviations,
    currencies,
    dates,
    figures,
    markup,
    measures,
    ordinals,
    respellings,
    spelling,
    typography,
    units,
)
from narrator.speech.rules.base import Pass, Profile, Rule
from narrator.speech.scripts import has_letter, strip_unreadable
from narrator.speech.sentences import split_sentences

logger = logging.getLogger(__name__)

PROFILES = {
    "espeak": Profile("espeak", respell_brands=True, spell_acronyms=True),
    "gtts": Profile("gtts", respell_brands=False, spell_acronyms=False),
}


def profile_for(name: str) -> Profile:
    """Return the profile called ``name`` (an engine's ``profile``).

    Engines declare which profile their voice needs; an unknown name gets the
    gTTS one, which suits neural and cloud voices (they read acronyms and
    numbers themselves).
    """
    return PROFILES.get(name.lower(), PROFILES["gtts"])


# --- the normalizer's own steps ----------------------------------------------


def readable(text: str, run: Pass) -> str:
    """Leave out what the voice cannot read; count it into ``run.dropped``.

    A text that loses letters and keeps none of its own (only digits or
    punctuation) was a foreign passage: its leftovers are not spoken either.
    """
    if not run.profile.french_scripts_only:
        return text
    kept, removed = strip_unreadable(text, run.left_out)
    if removed:
        run.dropped.update(removed)
        if not has_letter(kept):
            return ""
    return kept


def restore(text: str, run: Pass) -> str:
    """Put back the spoken text the vault kept from the later rules."""
    return run.vault.restore(text)


def apply_rules(text: str, rules: tuple[Rule, ...], run: Pass) -> str:
    """Run ``rules`` over ``text`` in order."""
    for rule in rules:
        text = rule(text, run)
    return text


class WithDigits:
    """Rules that run only on a text holding a digit when they start.

    The check is made once, before the first of them: a later one still runs
    when an earlier one has read every digit out ("le 14/07, prix/mois" ->
    "le quatorze juillet, prix par mois", where "prix/mois" alone keeps its
    slash for the symbol rules).
    """

    def __init__(self, *rules: Rule) -> None:
        self.rules = rules

    def __call__(self, text: str, run: Pass) -> str:
        if any(c.isdigit() for c in text):
            text = apply_rules(text, self.rules, run)
        return text

    def __repr__(self) -> str:
        names = ", ".join(getattr(r, "__name__", repr(r)) for r in self.rules)
        return f"WithDigits({names})"


# --- the rules, in order ------------------------------------------------------

RULES: tuple[Rule, ...] = (
    markup.markup,  # HTML typed as text: its words, before anything reads it
    typography.clean,
    typography.bullets,
    respellings.user_lexicon,  # first, and final: later rules never rewrite it
    currencies.native_signs,  # before readable: "100 元" is a currency, not Han
    readable,
    spelling.addresses,
    figures.split_letter_digit_hyphens,
    respellings.brands,
    abbreviations.abbreviations,
    abbreviations.etc,
    WithDigits(
        units.fraction_units,
        dates.dates,
        figures.negatives,
        dates.times,
        measures.money,
        measures.percents,
        units.units,
        units.rates,
        ordinals.ordinals,
    ),
    ordinals.roman_ordinals,
    ordinals.roman_numerals,
    WithDigits(
        figures.fractions,
        figures.ranges,
        figures.multiplications,
        figures.decimals,
        figures.dotted_numbers,
        figures.split_caps_digits,
        figures.integers,
    ),
    spelling.acronyms,
    typography.typography,
    currencies.lone_symbols,
    typography.symbols,
    typography.symbol_chars,
    restore,
    typography.tidy,
)

# When a rule fails on input it was not written for: the text, plainly.
PLAIN_RULES: tuple[Rule, ...] = (
    markup.markup,  # HTML typed as text: its words, before anything reads it
    typography.clean,
    readable,
    typography.typography,
    typography.symbol_chars,
    typography.tidy,
)


def normalize(
    text: str, *, engine: str = "espeak", lexicon: Mapping[str, str] | None = None
) -> str:
    """Return the text made speakable for an engine profile.

    ``engine`` is "espeak" or "gtts"; any other name gets the generic (gTTS-like)
    profile. The user ``lexicon`` is applied first: each key is a literal,
    whole-word, case-sensitive match, and its spoken form is final (the
    built-in rules do not rewrite it). Never raises on any ``str``.
    """
    return normalize_counted(text, engine=engine, lexicon=lexicon)[0]


def normalize_counted(
    text: str, *, engine: str = "espeak", lexicon: Mapping[str, str] | None = None
) -> tuple[str, Counter[str]]:
    """Like `normalize`, and count what was left out per script or kind
    ("Arabic": 42, "emoji": 1, "symbol": 2, "control": 1).

    Text in a script the French voice cannot read, and a character with no
    reading, are not spoken; the counter says how many characters of which
    kind that was, so the caller can warn.
    """
    spoken, run = normalize_pass(text, engine=engine, lexicon=lexicon)
    return spoken, run.dropped


def normalize_pass(
    text: str, *, engine: str = "espeak", lexicon: Mapping[str, str] | None = None
) -> tuple[str, Pass]:
    """Like `normalize`, with the pass it ran: what it left out is counted in
    ``dropped`` and listed, as written, in ``left_out``."""
    profile = profile_for(engine if isinstance(engine, str) else "")
    run = Pass(profile, lexicon)
    if not isinstance(text, str) or not text:
        return "", run
    try:
        return apply_rules(text, RULES, run), run
    except (ValueError, ArithmeticError, LookupError, RecursionError) as exc:
        # A rule hit input it was not written for: speak the text plainly
        # rather than fail the build.
        logger.warning("normalization fell back to plain text: %s", exc)
        run = Pass(profile)
        return apply_rules(text, PLAIN_RULES, run), run


# --- a section made speakable ---------------------------------------------------

# The longest text one utterance carries. A sentence has no bound (a line of
# 300,000 characters without a stop is 5 hours of speech), and an utterance is
# synthesized, trimmed and mastered as one array: the limit bounds memory for
# every engine, and is applied here, before synthesis, so every engine and the
# clip cache see the same pieces. About 40 s of speech; ordinary sentences
# are far shorter and are never cut.
MAX_UTTERANCE_CHARS = 600
_HAS_SPEAKABLE_RE = re.compile(r"[^\W_]")


def _with_stop(sentence: str) -> str:
    stripped = sentence.rstrip()
    if stripped and stripped[-1] not in '.!?…:;»"”)':
        return stripped + "."
    return stripped


# What a section's report lists of the text left out: the first distinct runs,
# each cut short; the counts stay exact.
MAX_LEFT_OUT_ITEMS = 10
MAX_LEFT_OUT_ITEM_CHARS = 40
# Kinds of characters left out that are not a script, named for a person.
_KIND_NAMES = {
    "emoji": ("emoji", "emoji"),
    "symbol": ("symbol", "symbols"),
    "control": ("control character", "control characters"),
}


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
    # (script or kind, characters) left out of the speech, most characters
    # first: ("Arabic", 42), ("emoji", 1), ("symbol", 2), ("control", 1).
    dropped: tuple[tuple[str, int], ...] = ()
    # What was left out as written: the first distinct runs («القاهرة», «★»),
    # at most MAX_LEFT_OUT_ITEMS of at most MAX_LEFT_OUT_ITEM_CHARS each.
    left_out_items: tuple[str, ...] = ()

    @property
    def left_out_count(self) -> int:
        """Characters left out of the speech, every kind together."""
        return sum(count for _, count in self.dropped)

    def left_out(self) -> str:
        """Say what was left out, e.g. "42 Arabic characters, 1 emoji", or ""."""
        said = []
        for kind, count in self.dropped:
            one, many = _KIND_NAMES.get(kind, (f"{kind} character", ""))
            said.append(f"{count} {one if count == 1 else many or one + 's'}")
        return ", ".join(said)

    def examples(self) -> str:
        """The runs left out, quoted: «القاهرة», «★» (or "")."""
        return ", ".join(f"«{item}»" for item in self.left_out_items)


class _LeftOut:
    """What the passes over one section's texts left out, added up."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self.items: list[str] = []

    def add(self, run: Pass) -> None:
        self.dropped.update(run.dropped)
        for item in run.left_out:
            if len(item) > MAX_LEFT_OUT_ITEM_CHARS:
                item = item[: MAX_LEFT_OUT_ITEM_CHARS - 1].rstrip() + "…"
            if len(self.items) < MAX_LEFT_OUT_ITEMS and item not in self.items:
                self.items.append(item)

    def counts(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(self.dropped.items(), key=lambda kv: (-kv[1], kv[0])))


def _spoken_pieces(
    display: str,
    engine: str,
    lexicon: Mapping[str, str] | None,
    left_out: _LeftOut,
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
        text, run = normalize_pass(part, engine=engine, lexicon=lexicon)
        if len(text) > MAX_UTTERANCE_CHARS and len(part) > 1:
            smaller = max(
                1, min(len(part) - 1, budget * MAX_UTTERANCE_CHARS // len(text))
            )
            inner = _spoken_pieces(part, engine, lexicon, left_out, smaller)
            if inner:
                inner[-1] = (*inner[-1][:2], cut)
            out.extend(inner)
            continue
        left_out.add(run)
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
    read is taken out (`normalize_pass`), makes no utterance: an engine
    never receives an empty or unreadable text, and no transcript cue is
    timed for it. The section's lines of signs (``signs``: emoji, symbols,
    no word) are never spoken; what they hold is counted as left out.
    """
    left_out = _LeftOut()
    items: list[Utterance] = []
    sentences_spoken = 0
    title = section.title.strip()
    if section.has_heading:
        text, run = normalize_pass(title, engine=engine, lexicon=lexicon)
        left_out.add(run)
        if _HAS_SPEAKABLE_RE.search(text):
            items.append(Utterance(text=text, display=title, pause="title"))
    for paragraph in section.paragraphs:
        spoken: list[tuple[str, str, str | None]] = []
        sentences = split_sentences(paragraph.text)
        for i, sentence in enumerate(sentences):
            display = sentence
            if paragraph.bullet and i == len(sentences) - 1:
                display = _with_stop(sentence)
            spoken.extend(_spoken_pieces(display, engine, lexicon, left_out))
        for i, (text, display, cut) in enumerate(spoken):
            pause = cut or ("paragraph" if i == len(spoken) - 1 else "sentence")
            items.append(Utterance(text=text, display=display, pause=pause))
        sentences_spoken += len(spoken)
    for line in section.signs:  # lines of emoji or symbols: counted, not said
        left_out.add(normalize_pass(line, engine=engine, lexicon=lexicon)[1])
    if items:
        last = items[-1]
        items[-1] = Utterance(text=last.text, display=last.display, pause="end")
    return SpokenSection(
        utterances=tuple(items),
        has_speech=sentences_spoken > 0,
        dropped=left_out.counts(),
        left_out_items=tuple(left_out.items),
    )


def prepare_section(
    section: Section,
    *,
    engine: str = "espeak",
    lexicon: Mapping[str, str] | None = None,
) -> tuple[Utterance, ...]:
    """Return the section's utterances (`speak_section` without the report)."""
    return speak_section(section, engine=engine, lexicon=lexicon).utterances
