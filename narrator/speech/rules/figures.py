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
from narrator.speech.rules.tables import FEMININE_NOUNS, FRACTIONS

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


def _fraction(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    return FRACTIONS.get((a, b)) or f"{num.integer(a)} sur {num.integer(b)}"


def fractions(text: str, _: Pass) -> str:
    """Fractions: "3/4" -> "trois quarts", "5/8" -> "cinq sur huit"."""
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


def _decimal(m: re.Match[str]) -> str:
    sep = "virgule" if m.group("sep") == "," else "point"
    words = num.decimal(m.group("i"), m.group("f"), sep)
    return " " + words + " "


def decimals(text: str, _: Pass) -> str:
    """Decimals: "3,5" -> "trois virgule cinq", "3.5" -> "trois point cinq"."""
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
