"""Quantities: money ("1,5 M€" -> "un virgule cinq million d'euros", "₹ 300"
-> "trois cents roupies indiennes") and percentages; units are in ``units.py``.

A quantity agrees with its noun: "une livre", "vingt et une tonnes", "un
million de dollars".
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.currency_names import (
    ALL_CURRENCIES,
    CURRENCY_WORDS,
    PREFIX_WORDS,
    SYMBOL_CLASS,
)
from narrator.speech.rules.tables import NUM, SCALES

_CUR_SYMBOLS = "|".join(
    re.escape(c) for c in sorted(ALL_CURRENCIES, key=len, reverse=True)
)
# The scales written as symbols ("3 M€") and as words ("2 millions €", "€ 2 millions").
_SCALES = {
    **SCALES,
    "million": 1_000_000,
    "millions": 1_000_000,
    "milliard": 1_000_000_000,
    "milliards": 1_000_000_000,
}
_SCALE_WORDS = "|".join(sorted(_SCALES, key=len, reverse=True))
_MONEY_RE = re.compile(
    rf"(?P<n>{NUM})\s?(?P<scale>{_SCALE_WORDS})?"
    rf"\s?(?P<cur>{_CUR_SYMBOLS})(?![\w{SYMBOL_CLASS}])"
)
_AMOUNT_AFTER = (
    rf"\s?(?P<n>{NUM})(?:\s?(?P<scale>{_SCALE_WORDS}))?(?![\w.,]\d|\w|\s?/\d)"
)
# A minus before the symbol ("-$5") or after it ("$-5", moved before) is the
# amount's.
_MINUS_AFTER_SYMBOL_RE = re.compile(
    rf"(?P<cur>[{SYMBOL_CLASS}])(?<![\w{SYMBOL_CLASS}][{SYMBOL_CLASS}])\s?-(?=\d)"
)
_MONEY_PREFIX_RE = re.compile(
    r"(?P<minus>-(?<![^\s(\[«:;/=]-))?"
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


def _money(m: re.Match[str]) -> str:
    amount = m.group("n")
    scale = m.group("scale")
    singular, plural, fem, cents = ALL_CURRENCIES[m.group("cur")]
    signs = m.groupdict()
    neg = "moins " if signs.get("minus") else ""
    value = num.to_float(amount)
    if scale:
        factor = _SCALES[scale]
        total = value * factor
        if factor == 1_000:
            if total == int(total):
                words = num.cardinal(int(total))
                return f"{neg}{words} {plural if num.is_plural(total) else singular}"
            return f"{neg}{num.quantity(amount)} mille {plural}"
        big = "million" if factor == 1_000_000 else "milliard"
        big += "s" if num.is_plural(value) else ""
        de = "d'" if plural[0] in "aeiouyé" else "de "
        return f"{neg}{num.quantity(amount)} {big} {de}{plural}"
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
    words = num.quantity(amount, feminine_form=fem)
    noun = plural if num.is_plural(value) else singular
    if re.search(r"(?:millions?|milliards?)$", words):
        de = "d'" if plural[0] in "aeiouyé" else "de "
        return f"{neg}{words} {de}{plural}"
    return f"{neg}{words} {noun}"


# A scale symbol before "de" counts a noun: "2,1 M d'habitants".
_SCALE_OF_RE = re.compile(
    rf"(?P<n>{NUM})\s?(?P<scale>M|Mn|Mds?|Mrds?)(?=\s+d(?:e\s|'|es\s))"
)


def _scale_of(m: re.Match[str]) -> str:
    big = "million" if _SCALES[m.group("scale")] == 1_000_000 else "milliard"
    plural = "s" if num.is_plural(num.to_float(m.group("n"))) else ""
    return f"{num.quantity(m.group('n'))} {big}{plural}"


def money(text: str, _: Pass) -> str:
    """Amounts with a currency after ("12 €", "3 M$", "5 EUR") or before ("$5")."""
    if "M" in text:
        text = _SCALE_OF_RE.sub(_scale_of, text)
    if any(w in text for w in _PREFIX_WORDS):
        text = _WORD_PREFIX_RE.sub(_money, text)
    text = _MONEY_RE.sub(_money, text)
    if "-" in text:
        text = _MINUS_AFTER_SYMBOL_RE.sub(r"-\g<cur>", text)
    return _MONEY_PREFIX_RE.sub(_money, text)


def _percent(m: re.Match[str]) -> str:
    tail = " pour cent" if m.group("p") == "%" else " pour mille"
    return num.quantity(m.group("n")) + tail


def percents(text: str, _: Pass) -> str:
    """Percentages and per mille: "12 %" -> "douze pour cent"."""
    return _PERCENT_RE.sub(_percent, text)
