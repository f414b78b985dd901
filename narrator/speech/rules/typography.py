"""Typography: the text cleaned before the rules, and tidied after them.

``clean`` runs first: one Unicode form, one apostrophe, ordinary spaces, digit
groups joined ("1 000" -> "1000"), and no character that could pose as a
placeholder. ``bullets`` ends list items with a stop. Near the end, quotes,
dashes, brackets and ellipses become the pauses they mark (``typography``),
symbols become words (``symbols``), what is left that is not a word goes
(``symbol_chars``), and ``tidy`` mends the spacing and commas all that leaves.
"""

from __future__ import annotations

import re
import unicodedata

from narrator.speech.rules.base import Pass, apply_table
from narrator.speech.rules.tables import NUM_START, SPACE_CLASS, SPACES, SYMBOLS

# A number starts here, or after a minus sign that starts a word ("-1 250",
# "(-2.500"), as the negatives rule reads it.
_SIGNED_START = rf"(?:{NUM_START}|[0-9](?<=-[0-9])(?<![^\s(\[«:;/=]-[0-9]))"
# Digit groups separated by (narrow) no-break or ordinary spaces: "1 000 000".
_THOUSANDS_RE = re.compile(
    rf"{_SIGNED_START}\d{{0,2}}(?:{SPACE_CLASS}\d{{3}})+(?![\d])"
)
# Digit groups separated by dots, as in "1.818,30" or "12.345.678": with a
# decimal comma after them, or two groups exactly (an IPv4 address has three),
# or one group after a figure other than 0 ("2.500 habitants": French writes
# no decimal point before exactly three decimals; "0.125" stays a decimal).
_DOT_THOUSANDS_RE = re.compile(
    rf"{_SIGNED_START}\d{{0,2}}(?:(?:\.\d{{3}})+(?=,\d)|\.\d{{3}}\.\d{{3}}(?![\d]|\.\d))"
    rf"|[1-9](?<![\w.,/][1-9])(?<![^\s(\[«:;/=]-[1-9])\d{{0,2}}\.\d{{3}}(?![\d]|[.,]\d)"
)
# Omega after a number (and a prefix) is the ohm: the ohm sign, which is not
# a Greek letter to name ("4,7 kΩ"); NFC made every ohm sign an omega.
_OHM_RE = re.compile(
    "Ω(?:(?<=[0-9]Ω)|(?<=[0-9] Ω)|(?<=[0-9][kMGmµ]Ω)|(?<=[0-9] [kMGmµ]Ω))"
)
_GROUP_SPACE_RE = re.compile(SPACE_CLASS)
_OTHER_SPACE_RE = re.compile(f"[{SPACES}\t\r\f\v]")
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_APOSTROPHE_RE = re.compile("[’ʼ‘`´]")

# The blocks that hold superscript and modifier letters (scanning only them
# keeps the import fast; tests/test_speech_kinds.py checks the whole range).
_SUPERSCRIPT_BLOCKS = (
    (0x2B0, 0x300),
    (0x1D00, 0x1DC0),
    (0x2070, 0x20A0),
    (0x2C7C, 0x2C7E),
    (0x2D6F, 0x2D70),
    (0xA69C, 0xA69E),
    (0xA770, 0xA771),
    (0xA7F2, 0xA7FA),
    (0xAB5C, 0xAB6A),
    (0x10780, 0x107C0),
    (0x1E030, 0x1E090),
)
_SUPERSCRIPT_CODES = [c for lo, hi in _SUPERSCRIPT_BLOCKS for c in range(lo, hi)]


def _superscript_letters() -> dict[int, str]:
    """Every superscript or modifier letter -> its plain letter ("ᵉ" -> "e").

    French writes ordinals and abbreviations with them (1ᵉʳ, XXᵉ, Mˡˡᵉ, Dʳ,
    nᵒ); read like their plain forms, they meet the same rules. A letter
    whose base is not a plain Latin letter (ᶦ is a small capital I) is
    folded through its base's name. "º" (the ordinal indicator of "nº")
    stays a degree-like sign for the "n°" rule.
    """
    table: dict[int, str] = {ord("º"): "°", ord("ª"): "a"}
    for code in _SUPERSCRIPT_CODES:
        char = chr(code)
        decomposition = unicodedata.decomposition(char)
        if not decomposition.startswith(("<super>", "<sub>")) or code in table:
            continue
        if not unicodedata.category(char).startswith("L"):
            continue
        base = chr(int(decomposition.split()[1], 16))
        if not base.isascii():
            name = unicodedata.name(base, "")
            last = name.rsplit(" ", 1)[-1]
            if not name.startswith("LATIN") or len(last) != 1:
                continue
            base = last if "CAPITAL" in name and "SMALL" not in name else last.lower()
        table[code] = base
    return table


_SUPERSCRIPT = _superscript_letters()
# Subscript figures are a formula's ("CO₂"); superscript ones stay (m², 10³).
_SUBSCRIPT_DIGITS = {0x2080 + d: str(d) for d in range(10)}
_GREEK_MICRO_RE = re.compile(r"μ(?<=[\d ]μ)(?=[a-zA-Z])")
_PRIVATE_USE_RE = re.compile("[\ue000-\uf8ff]")
# Emoji shown as pictures, keycaps (1️⃣ #️⃣) included: decoration, not words.
_EMOJI_SEQUENCE_RE = re.compile(r"\S\ufe0f\u20e3?|[0-9#*]\u20e3")
_BULLET_LINE_RE = re.compile(r"^[ \t]*(?:[-*•▪►–—]|\d+[.)])[ \t]+(.*?)[ \t]*$", re.M)

_QUOTES_RE = re.compile('[«»“”„‟"‹›]')
_STRAY_APOSTROPHE_RE = re.compile(r"'(?:(?<![\w\ue100-\uf8ff]')|(?![\w\ue100-\uf8ff]))")
_ELLIPSIS_RE = re.compile(r"(?:…|\.{3,})(?P<close>[\s)»\"”]*)(?P<next>.?)", re.S)
_DASH_RE = re.compile(r"[-–—]+(?<=\s[-–—])(?=\s)|[–—]+")
_PAREN_OPEN_RE = re.compile(r"[(\[]")
_PAREN_CLOSE_RE = re.compile(r"[)\]]")
_SYMBOL_CHARS_RE = re.compile(r"[^\w\s.,;:!?'()\[\]«»\"\ue100-\uf8ff-]")
_SYMBOL_RUN_RE = re.compile(_SYMBOL_CHARS_RE.pattern + "+")

_SPACE_RUN_RE = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+(?=[,.)])")
_COMMA_RUN_RE = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP_RE = re.compile(r",\s*(?=[.!?;:]|$)")
_COMMA_AFTER_STOP_RE = re.compile(r"([.!?;:])\s*,")
_COMMA_SPACE_RE = re.compile(r",(?=[^\s\d])")


def clean(text: str, run: Pass) -> str:
    """One Unicode form, apostrophe and space; digit groups joined; no
    emoji, invisible or private-use character (placeholders live there)."""
    text = unicodedata.normalize("NFC", text)
    text = _EMOJI_SEQUENCE_RE.sub(lambda m: _leave_out(m, run, "emoji"), text)
    text = _PRIVATE_USE_RE.sub(lambda m: _leave_out(m, run, "symbol"), text)
    text = _INVISIBLE_RE.sub("", text)
    text = _APOSTROPHE_RE.sub("'", text)
    text = text.translate(_SUPERSCRIPT).replace("−", "-").replace("\u2011", "-")
    text = text.translate(_SUBSCRIPT_DIGITS)  # "CO₂", "H₂O": a formula's figures
    if "μ" in text:  # Greek mu as the micro prefix of a unit: the micro sign
        text = _GREEK_MICRO_RE.sub("µ", text)
    if "Ω" in text:
        text = _OHM_RE.sub("\u2126", text)
    text = _THOUSANDS_RE.sub(lambda m: _GROUP_SPACE_RE.sub("", m.group()), text)
    if "." in text:
        text = _DOT_THOUSANDS_RE.sub(lambda m: m.group().replace(".", ""), text)
    text = _OTHER_SPACE_RE.sub(" ", text)
    return text


def bullets(text: str, _: Pass) -> str:
    """A list item ("- item", "2) item") loses its mark and ends with a stop."""

    def one(m: re.Match[str]) -> str:
        item = m.group(1)
        if item and item[-1] not in ".!?…:;":
            item += "."
        return item

    return _BULLET_LINE_RE.sub(one, text)


def _ellipsis(m: re.Match[str]) -> str:
    nxt = m.group("next")
    close = m.group("close")
    if not nxt or nxt.isupper() or nxt in "\n":
        return "." + close + nxt
    return "," + close + nxt


def typography(text: str, _: Pass) -> str:
    """Quotes go; dashes and brackets become commas; an ellipsis is a stop
    before a capital, a comma before a lower-case word."""
    text = _QUOTES_RE.sub(" ", text)
    text = _STRAY_APOSTROPHE_RE.sub(" ", text)
    text = _ELLIPSIS_RE.sub(_ellipsis, text)
    text = _DASH_RE.sub(", ", text)
    text = _PAREN_OPEN_RE.sub(", ", text)
    text = _PAREN_CLOSE_RE.sub(",", text)
    return text


def symbols(text: str, _: Pass) -> str:
    """Symbols read as words: "&" -> "et", "≥" -> "supérieur ou égal à"."""
    return apply_table(text, SYMBOLS)


def symbol_chars(text: str, run: Pass) -> str:
    """Any other character that is not a word, a space or punctuation goes,
    counted as left out (an emoji, a symbol with no reading, a control
    character; not an invisible format character such as a direction mark)."""
    return _SYMBOL_RUN_RE.sub(lambda m: _symbols_left_out(m.group(), run), text)


def _leave_out(match: re.Match[str], run: Pass, kind: str) -> str:
    run.leave_out(kind, match.group())
    return " "


def _symbols_left_out(written: str, run: Pass) -> str:
    """Count a run of characters with no reading, by kind, as one item."""
    kinds = [k for k in map(_symbol_kind, written) if k is not None]
    if kinds:
        shown = "".join(
            f"U+{ord(c):04X}" if unicodedata.category(c) == "Cc" else c for c in written
        )
        run.leave_out(max(set(kinds), key=kinds.count), shown, len(kinds))
    return " "


def _symbol_kind(ch: str) -> str | None:
    """ "emoji", "control" or "symbol"; None for what carries no sign (a mark, a
    format character, a joiner)."""
    category = unicodedata.category(ch)
    if category == "Cc":
        return "control"
    if category[0] in "MC" or 0x1F3FB <= ord(ch) <= 0x1F3FF:
        return None
    # Emoji without a variation selector (those with one go in `clean`).
    return "emoji" if 0x1F000 <= ord(ch) <= 0x1FAFF else "symbol"


def tidy(text: str, _: Pass) -> str:
    """One space between words, none before punctuation, no doubled or
    dangling comma, no space or comma at either end of a line."""
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    text = _COMMA_RUN_RE.sub(",", text)
    text = _COMMA_BEFORE_STOP_RE.sub("", text)
    text = _COMMA_AFTER_STOP_RE.sub(r"\1", text)
    text = _COMMA_SPACE_RE.sub(", ", text)
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    return "\n".join(line.strip(" ,") for line in text.split("\n")).strip()
