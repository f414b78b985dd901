"""Abbreviations read in full: "M. Dupont" -> "Monsieur Dupont", "cf." ->
"confère", "etc." -> "etcétéra".

The table (``tables.ABBREVIATIONS``) anchors each one on its context, so a
title is expanded only before a capitalised name and a page only before a
number; an abbreviation's period that also ends the sentence is given back.
"""

from __future__ import annotations

import re

from narrator.speech.rules.base import Pass, apply_table
from narrator.speech.rules.tables import ABBREVIATIONS

_ETC_RE = re.compile(r"e(?<![\w.]e)tc\.(\.\.)?(?P<after>\s*[,;:)\]]?)")


def abbreviations(text: str, _: Pass) -> str:
    """Titles, references and Latin shorthand, from ``tables.ABBREVIATIONS``."""
    return apply_table(text, ABBREVIATIONS)


def _etc(m: re.Match[str]) -> str:
    after = m.group("after")
    if after.strip():
        return "etcétéra" + after
    return "etcétéra." + after


def etc(text: str, _: Pass) -> str:
    """Read "etc." (or "etc...") in full; its stop stays unless punctuation follows."""
    return _ETC_RE.sub(_etc, text)
