"""Quantities: money ("1,5 M€" -> "un virgule cinq million d'euros"),
percentages, units ("12 km" -> "douze kilomètres") and rates ("/mois").

A quantity agrees with its noun: "une livre", "vingt et une tonnes", "un
million de dollars".
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.currencies import (
    ALL_CURRENCIES,
    CURRENCY_WORDS,
    PREFIX_WORDS,
    SYMBOL_CLASS,
)
from narrator.speech.rules.tables import NUM, SCALES
from narrator.speech.rules.units import (
    DENOMINATOR,
    SPACED_ONLY,
    UNIT_TABLE,
    per_name,
)
from narrator.speech.rules.units import rates as _rates

_CUR_SYMBOLS = "|".join(
    re.escape(c) for c in sorted(ALL_CURRENCIES, key=len, reverse=True)
)
_SCALE_WORDS = "|".join(sorted(SCALES, key=len, reverse=True))
_MONEY_RE = re.compile(
    rf"(?P<n>{NUM})\s?(?P<scale>{_SCALE_WORDS})?"
    rf"\s?(?P<cur>{_CUR_SYMBOLS})(?![\w{SYMBOL_CLASS}])"
)
_AMOUNT_AFTER = (
    rf"\s?(?P<n>{NUM})(?:\s?(?P<scale>{_SCALE_WORDS}))?(?![\w.,]\d|\w|\s?/\d)"
)
_MONEY_PREFIX_RE = re.compile(
    rf"(?P<cur>[{SYMBOL_CLASS}])(?<!\w[{SYMBOL_CLASS}])" + _AMOUNT_AFTER
)
_PREFIX_WORDS = [w for w in CURRENCY_WORDS if w.isupper() and w.isalpha()]
_PREFIX_WORDS += list(PREFIX_WORDS)
_WORD_PREFIX_RE = re.compile(
    r"(?<![\w$])(?P<cur>"
    + "|".join(re.escape(w) for w in sorted(_PREFIX_WORDS, key=len, reverse=True))
    + r")(?=\s?\d)"
    + _AMOUNT_AFTER
)
_PERCENT_RE = re.compile(rf"(?P<n>{NUM})\s?(?P<p>%|‰)")
_UNIT_NAMES = "|".join(
    re.escape(u) for u in sorted(UNIT_TABLE, key=len, reverse=True)
)
_UNIT_RE = re.compile(
    rf"(?P<n>{NUM})(?P<sp>\s?)(?P<u>{_UNIT_NAMES})(?:/(?P<per>{DENOMINATOR}))?"
    r"(?![\w²³]|\.\w)"
)


def _to_float(text: str) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def _number_words(text: str, *, feminine: bool = False) -> str:
    """Read a written number with an optional decimal comma or point."""
    text = text.strip()
    negative = text.startswith(("-", "−"))
    text = text.lstrip("-−+")
    if "," in text or "." in text:
        sep = "," if "," in text else "."
        left, _, right = text.partition(sep)
        words = num.decimal(left, right)
        if feminine and left and int(left) % 10 == 1 and int(left) != 11:
            head, _, rest = words.partition(" virgule ")
            words = num.feminine(head) + " virgule " + rest
    else:
        words = num.integer(text)
        if feminine:
            words = num.feminine(words)
    return ("moins " + words) if negative else words


def _money(m: re.Match[str]) -> str:
    amount = m.group("n")
    scale = m.group("scale")
    singular, plural, fem, cents = ALL_CURRENCIES[m.group("cur")]
    neg = ""
    value = _to_float(amount)
    if scale:
        factor = SCALES[scale]
        total = value * factor
        if factor == 1_000:
            if total == int(total):
                words = num.cardinal(int(total))
                return f"{neg}{words} {plural if num.is_plural(total) else singular}"
            return f"{neg}{_number_words(amount)} mille {plural}"
        big = "million" if factor == 1_000_000 else "milliard"
        big += "s" if num.is_plural(value) else ""
        de = "d'" if plural[0] in "aeiouyé" else "de "
        return f"{neg}{_number_words(amount)} {big} {de}{plural}"
    int_part, sep, frac = amount.replace(".", ",").partition(",")
    cents_form = len(frac) == 2 or (cents and len(frac) == 1)
    if sep and cents_form and frac.strip("0") and (cents or int(int_part)):
        cents_value = int(frac.ljust(2, "0"))
        if int(int_part) == 0 and cents:
            return f"{neg}{num.cardinal(cents_value)} {cents}"
        whole = int(int_part)
        head = num.feminine(num.cardinal(whole)) if fem else num.cardinal(whole)
        noun = plural if num.is_plural(whole) else singular
        return f"{neg}{head} {noun} {num.cardinal(cents_value)}"
    if sep and not frac.strip("0"):
        amount, value = int_part, float(int_part)
    words = _number_words(amount, feminine=fem)
    noun = plural if num.is_plural(value) else singular
    if re.search(r"(?:millions?|milliards?)$", words):
        de = "d'" if plural[0] in "aeiouyé" else "de "
        return f"{neg}{words} {de}{plural}"
    return f"{neg}{words} {noun}"


def money(text: str, _: Pass) -> str:
    """Amounts with a currency after ("12 €", "3 M$", "5 EUR") or before ("$5")."""
    if any(w in text for w in _PREFIX_WORDS):
        text = _WORD_PREFIX_RE.sub(_money, text)
    text = _MONEY_RE.sub(_money, text)
    return _MONEY_PREFIX_RE.sub(_money, text)


def _percent(m: re.Match[str]) -> str:
    tail = " pour cent" if m.group("p") == "%" else " pour mille"
    return _number_words(m.group("n")) + tail


def percents(text: str, _: Pass) -> str:
    """Percentages and per mille: "12 %" -> "douze pour cent"."""
    return _PERCENT_RE.sub(_percent, text)


def _unit(m: re.Match[str]) -> str:
    unit = m.group("u")
    if unit in SPACED_ONLY and not m.group("sp"):
        return m.group()
    singular, plural, fem = UNIT_TABLE[unit]
    value = _to_float(m.group("n"))
    words = _number_words(m.group("n"), feminine=fem)
    spoken = f"{words} {plural if num.is_plural(value) else singular}"
    if m.group("per"):
        spoken += " par " + per_name(m.group("per"))
    return spoken


def units(text: str, _: Pass) -> str:
    """A number and its unit, in agreement ("1,5 km", "21 t", "3 m³/s")."""
    return _UNIT_RE.sub(_unit, text)


def rates(text: str, run: Pass) -> str:
    """The slash of a rate is "par": "10 €/mois" -> "dix euros par mois"."""
    return _rates(text, run)
