"""Ordinals and Roman numerals: "1er" -> "premier", "XIXe" -> "dix-neuvième",
"Louis XIV" -> "Louis quatorze", "chapitre IX" -> "chapitre neuf".

A bare Roman numeral is read only where its context makes it one (a regnal
name, a word like "chapitre", a capitalised name before I, V or X), so "MIX"
or "CV" stay words.
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.tables import FEMININE_REGNAL, REGNAL, ROMAN_KEYWORDS

_ORDINAL_RE = re.compile(
    r"(?P<n>[0-9](?<![\w.,][0-9])\d*)\s?(?P<s>ers?|res?|ères?|n?ds?|n?des?|e|es|èmes?|emes?|"
    r"ièmes?|è)(?!\w)"
)
_ROMAN_ORDINAL_RE = re.compile(
    r"(?P<r>[IVXLCDM](?<![\w.-][IVXLCDM])[IVXLCDM]*)(?P<s>er|re|ère|e|es|ème|èmes)(?!\w)"
)
_ROMAN_RE = re.compile(r"[IVXLCDM](?<![\w'-][IVXLCDM])[IVXLCDM]*(?![\w'-])")
_WORD_BEFORE_RE = re.compile(r"([\w.-]+)\s+$")


def _ordinal(m: re.Match[str]) -> str:
    n, suffix = int(m.group("n")), m.group("s")
    plural = suffix.endswith("s") and suffix not in ("s",)
    if suffix.startswith(("nd", "d")):
        # "2d", "2de" only when joined: "2 de plus" is a number and a word
        if n != 2 or (suffix[0] == "d" and not m.group().endswith("2" + suffix)):
            return m.group()
        word = "seconde" if suffix.lstrip("n").startswith("de") else "second"
    elif suffix.startswith(("r", "èr")):
        if n != 1:
            return m.group()
        word = "première"
    elif suffix.startswith("er"):
        if n != 1:
            return m.group()
        word = "premier"
    else:
        if n == 1 and suffix in ("e", "es"):
            return "premier" + ("s" if plural else "")
        word = num.ordinal(n)
    return word + ("s" if plural else "")


def ordinals(text: str, _: Pass) -> str:
    """Ordinals in figures: "1er", "1re", "2nd", "3e", "21èmes"."""
    return _ORDINAL_RE.sub(_ordinal, text)


def _roman_ordinal(m: re.Match[str]) -> str:
    roman = m.group("r")
    value = num.roman_value(roman)
    # a lone L, C, D or M + "e" is a word: "Le", "Ce", "De", "Me"
    if value is None or (len(roman) == 1 and roman not in "IVX"):
        return m.group()
    suffix = m.group("s")
    if suffix == "er":
        return "premier" if value == 1 else m.group()
    if suffix in ("re", "ère"):
        return "première" if value == 1 else m.group()
    plural = suffix.endswith("s")
    return num.ordinal(value) + ("s" if plural else "")


def roman_ordinals(text: str, _: Pass) -> str:
    """Roman ordinals: "XIXe siècle" -> "dix-neuvième siècle", "Ier" -> "premier"."""
    return _ROMAN_ORDINAL_RE.sub(_roman_ordinal, text)


def _roman_in_context(m: re.Match[str]) -> str:
    roman = m.group()
    value = num.roman_value(roman)
    if value is None:
        return roman
    before = _WORD_BEFORE_RE.search(m.string, max(0, m.start() - 40), m.start())
    if before is None:
        return roman
    word = before.group(1)
    if word in REGNAL:
        if value == 1:
            return "première" if word in FEMININE_REGNAL else "premier"
        return num.cardinal(value)
    if word in ROMAN_KEYWORDS or word.lower() in ROMAN_KEYWORDS:
        return num.cardinal(value)
    if (
        len(roman) >= 2
        and set(roman) <= set("IVX")
        and word[:1].isupper()
        and word[1:].replace("-", "").islower()
    ):
        # "Rocky II", "Pie XII": a capitalised name, a numeral of I, V, X only
        return num.cardinal(value)
    return roman


def roman_numerals(text: str, _: Pass) -> str:
    """Roman numerals their context makes numbers: "Louis XIV", "tome III"."""
    return _ROMAN_RE.sub(_roman_in_context, text)
