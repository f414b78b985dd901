"""Numbers in figures: negatives, fractions ("3/4" -> "trois quarts"), ranges
("10-12" -> "dix à douze"), "2x", decimals ("3,5" -> "trois virgule cinq"),
and last every integer left, in agreement with a feminine noun after it
("21 personnes" -> "vingt et une personnes").

These run after the dates, quantities and ordinals, which read their own
figures first; the hyphen and capital splits make "COVID-19" and "A320" into
a word and a number.
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.tables import FEMININE_NOUNS
from narrator.speech.rules.tables import words_of as _words

_LETTER_DIGIT_HYPHEN_RE = re.compile(r"-(?:(?<=[^\W\d_]-)(?=\d)|(?<=\d-)(?=[^\W\d_]))")
_NEGATIVE_RE = re.compile(r"-(?<![^\s(\[«:;/=]-)(?=\d)")
_FRACTION_RE = re.compile(
    r"(?P<a>[0-9](?<![\w.,/][0-9])\d{0,3})/(?P<b>\d{1,4})(?![\w/]|[.,]\d)"
)
_RANGE_RE = re.compile(
    r"(?P<a>[0-9](?<![\w.,/-][0-9])\d*)\s?[-–—]\s?(?P<b>\d+)(?![\w/-]|[.,]\d)"
)
_TIMES_RE = re.compile(r"(?P<d>[0-9])(?:\s?[x×]\s?(?=\d)|\s?x(?=\s))")
_DECIMAL_RE = re.compile(
    r"(?P<i>[0-9](?<![\w.,][0-9])\d*)(?P<sep>[.,])(?P<f>\d+)(?![\w]|[.,]\d)"
)
_DOTTED_NUMBER_RE = re.compile(r"\.(?<=\d\.)(?=\d)")
_CAPS_DIGIT_RE = re.compile(r"[A-Z](?=\d)|[0-9](?=[A-Z]{1,4}(?![a-z]))")
_INTEGER_RE = re.compile(r"\d+")
_NEXT_WORD_RE = re.compile(r"[ \t]*([\w'-]+)")


def split_letter_digit_hyphens(text: str, _: Pass) -> str:
    """A hyphen between letters and digits is a space: "COVID-19" -> "COVID 19"."""
    return _LETTER_DIGIT_HYPHEN_RE.sub(" ", text)


def negatives(text: str, _: Pass) -> str:
    """A minus before a number, at a word's start: "-5" -> "moins 5"."""
    return _NEGATIVE_RE.sub("moins ", text)


_MIXED_RE = re.compile(
    r"(?P<w>[0-9](?<![\w.,/][0-9])\d{0,2}) (?P<a>\d{1,3})/(?P<b>\d{1,4})"
    r"(?![\w/]|[.,]\d)"
)
# "une note de 15/20", "noté 7/10": a mark is read "sur".
_MARK_RE = re.compile(r"(?:note|noté|notée|notes|score|moyenne|obtenu)\s+(?:de\s+)?$")


def _fraction(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    before = m.string[max(0, m.start() - 20) : m.start()]
    words = None if _MARK_RE.search(before) else num.fraction_words(a, b)
    return words or f"{num.integer(a)} sur {num.integer(b)}"


def _mixed(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    before = m.string[max(0, m.start() - 20) : m.start()]
    if int(a) >= int(b) or _MARK_RE.search(before):
        return m.group()
    words = num.fraction_words(a, b)
    if words is None:
        return m.group()
    if words == "un demi":
        words = "demi"
    return f"{num.integer(m.group('w'))} et {words}"


def fractions(text: str, _: Pass) -> str:
    """Fractions: "3/4" -> "trois quarts", "1/10" -> "un dixième", "4 2/4" ->
    "quatre et deux quarts"; a mark or a ratio with "sur" ("15/20", "24/7")."""
    text = _MIXED_RE.sub(_mixed, text)
    return _FRACTION_RE.sub(_fraction, text)


def _range(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    return f"{num.integer(a)} à {num.integer(b)}"


def ranges(text: str, _: Pass) -> str:
    """Ranges: "10-12" or "10 – 12" -> "dix à douze"."""
    return _RANGE_RE.sub(_range, text)


def multiplications(text: str, _: Pass) -> str:
    """A times sign is "fois": "3x4", "2 × 3"."""
    return _TIMES_RE.sub(lambda m: m.group("d") + " fois ", text)


# a name (a capital, or a brand kept in the vault) or a "v" before a version
_VERSIONED_RE = re.compile("(?:(?P<name>[A-Z]\\w*)|[\ue100-\uf8ff])[ -]$|(?<![\\w])v$")
_SENTENCE_WORDS = _words(
    """
    Le La Les L En De Du Des Un Une Et Ou À Au Aux Sur Par Pour Avec Dans Il
    Elle On Ce Cette Soit Environ Plus Moins Entre Près
    """
)


def _decimal(m: re.Match[str]) -> str:
    # A decimal point reads "virgule" as a comma does, but in a version
    # number after a name ("GPT-3.5", "Python 3.11", "v2.1") it is "point".
    sep = "virgule"
    if m.group("sep") == ".":
        before = m.string[max(0, m.start() - 30) : m.start()]
        version = _VERSIONED_RE.search(before)
        if version and version.group("name") not in _SENTENCE_WORDS:
            sep = "point"
    words = num.decimal(m.group("i"), m.group("f"), sep)
    return " " + words + " "


def decimals(text: str, _: Pass) -> str:
    """Decimals: "3,5" or "3.5" -> "trois virgule cinq"; "GPT-3.5" -> "gé pé té
    trois point cinq"."""
    return _DECIMAL_RE.sub(_decimal, text)


def dotted_numbers(text: str, _: Pass) -> str:
    """A period left between digits ("1.2.3") is read "point"."""
    return _DOTTED_NUMBER_RE.sub(" point ", text)


def split_caps_digits(text: str, _: Pass) -> str:
    """Capitals and digits are read apart: "A320" -> "A 320", "4K" -> "4 K"."""
    return _CAPS_DIGIT_RE.sub(lambda m: m.group() + " ", text)


def _next_word(text: str, pos: int) -> str:
    m = _NEXT_WORD_RE.match(text, pos)
    return m.group(1) if m else ""


def _integer(m: re.Match[str]) -> str:
    words = num.integer(m.group())
    nxt = _next_word(m.string, m.end())
    if nxt in FEMININE_NOUNS:
        words = num.feminine(words)
    before = m.string[m.start() - 1] if m.start() else " "
    after = m.string[m.end()] if m.end() < len(m.string) else " "
    left = " " if before.isalnum() else ""
    right = " " if after.isalnum() else ""
    return left + words + right


def integers(text: str, _: Pass) -> str:
    """Every integer left, feminine before a feminine noun, spaced from letters."""
    return _INTEGER_RE.sub(_integer, text)
