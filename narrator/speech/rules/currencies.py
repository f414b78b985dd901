"""Currency symbols read where no amount goes with them ("en €" -> "en
euros", "le ₿" -> "le bitcoin"), and Han currency signs kept from the removal
of scripts the voice cannot read ("100 元" -> "100 CNY", read by
``measures.money``). The names are in ``currency_names.py``.
"""

from __future__ import annotations

import re

from narrator.speech.rules.base import Pass
from narrator.speech.rules.currency_names import CURRENCY_SYMBOLS, SYMBOL_CLASS

# A symbol alone is plural after these words ("en €", "des $"), or with
# nothing before it; singular otherwise ("le ₿", "Le bitcoin (₿)").
_PLURAL_BEFORE = re.compile(
    r"(?:^|\W)(?:en|des|de|d'|les|aux|ces|plusieurs|milliers|millions|milliards)\s*$"
    r"|^\W*$",
    re.I,
)
_LONE_RE = re.compile(f"[{SYMBOL_CLASS}]")


def _lone(m: re.Match[str]) -> str:
    singular, plural, _fem, _cents = CURRENCY_SYMBOLS[m.group()]
    before = m.string[max(0, m.start() - 12) : m.start()]
    name = plural if _PLURAL_BEFORE.search(before) else singular
    return f" {name} "


def lone_symbols(text: str, _: Pass) -> str:
    """A currency symbol left without an amount is read by its name."""
    return _LONE_RE.sub(_lone, text)


# Currencies written with a letter of their own script ("100 元", "500 円"):
# as ISO codes they survive the removal of scripts the voice cannot read.
_NATIVE_SIGNS = {"元": "CNY", "円": "JPY", "圆": "CNY", "圓": "CNY"}
_NATIVE_RE = re.compile(r"(?<=\d)\s?([元円圆圓])")


def native_signs(text: str, _: Pass) -> str:
    """A Han currency sign after an amount becomes its ISO code."""
    if not any(c in text for c in _NATIVE_SIGNS):
        return text
    return _NATIVE_RE.sub(lambda m: " " + _NATIVE_SIGNS[m.group(1)], text)
