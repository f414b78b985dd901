"""Writing systems a French voice cannot read, taken out of the spoken text.

espeak-ng's French voice spells an Arabic, Cyrillic or Chinese word letter by
letter in English ("arabic kaf, arabic ta…") and Google's French voice skips
or garbles it; either way the listener hears noise. Such passages are removed
from what the engine receives, and counted per script so the caller can say
what was left out. The written text (transcripts, titles, tags) keeps them.

Python's `unicodedata` has no script property, but a letter's name starts with
its script for every script concerned ("ARABIC LETTER ALEF", "CYRILLIC SMALL
LETTER A", "CJK UNIFIED IDEOGRAPH-4E00", "HANGUL SYLLABLE GA"). Only letters,
marks and digits are looked at: punctuation and symbols of any block are left
to the normalizer, which verbalizes or drops them.

Greek is the exception that is not all-or-nothing. A Greek letter standing
alone in French text is a symbol (α, β-carotène, Δt, π/2) and is read by its
French name; Greek words (λόγος) are removed like any other script, and so is
every Greek letter of a text that holds a Greek word (the article "η" of a
Greek sentence is not a symbol).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

# First word(s) of a character name -> the script's name as Unicode spells it.
_SCRIPT_PREFIXES: dict[str, str] = {
    "ARABIC": "Arabic",
    "ARABIC-INDIC": "Arabic",
    "EXTENDED ARABIC-INDIC": "Arabic",
    "HEBREW": "Hebrew",
    "CYRILLIC": "Cyrillic",
    "GREEK": "Greek",
    "COPTIC": "Coptic",
    "ARMENIAN": "Armenian",
    "GEORGIAN": "Georgian",
    "SYRIAC": "Syriac",
    "THAANA": "Thaana",
    "NKO": "Nko",
    "SAMARITAN": "Samaritan",
    "MANDAIC": "Mandaic",
    "DEVANAGARI": "Devanagari",
    "VEDIC": "Devanagari",
    "BENGALI": "Bengali",
    "GURMUKHI": "Gurmukhi",
    "GUJARATI": "Gujarati",
    "ORIYA": "Oriya",
    "TAMIL": "Tamil",
    "TELUGU": "Telugu",
    "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam",
    "SINHALA": "Sinhala",
    "THAI": "Thai",
    "LAO": "Lao",
    "TIBETAN": "Tibetan",
    "MYANMAR": "Myanmar",
    "KHMER": "Khmer",
    "MONGOLIAN": "Mongolian",
    "ETHIOPIC": "Ethiopic",
    "CHEROKEE": "Cherokee",
    "CANADIAN SYLLABICS": "Canadian Aboriginal",
    "OGHAM": "Ogham",
    "RUNIC": "Runic",
    "TIFINAGH": "Tifinagh",
    "HIRAGANA": "Hiragana",
    "KATAKANA": "Katakana",
    "HALFWIDTH KATAKANA": "Katakana",
    "KATAKANA-HIRAGANA": "Katakana",
    "HANGUL": "Hangul",
    "HALFWIDTH HANGUL": "Hangul",
    "BOPOMOFO": "Bopomofo",
    "CJK": "Han",
    "KANGXI": "Han",
    "IDEOGRAPHIC": "Han",
    "YI": "Yi",
    "TANGUT": "Tangut",
    "JAVANESE": "Javanese",
    "BALINESE": "Balinese",
    "SUNDANESE": "Sundanese",
    "BUGINESE": "Buginese",
    "TAGALOG": "Tagalog",
    "LIMBU": "Limbu",
    "TAI": "Tai",
    "NEW TAI LUE": "New Tai Lue",
    "OL CHIKI": "Ol Chiki",
    "VAI": "Vai",
    "BAMUM": "Bamum",
    "ADLAM": "Adlam",
}
# Longest prefixes first, so "ARABIC-INDIC" wins over "ARABIC".
_PREFIXES = sorted(_SCRIPT_PREFIXES, key=len, reverse=True)

# French names of the Greek letters, keyed by the word after "LETTER".
_GREEK_NAMES = {
    "ALPHA": "alpha",
    "BETA": "bêta",
    "GAMMA": "gamma",
    "DELTA": "delta",
    "EPSILON": "epsilon",
    "ZETA": "dzêta",
    "ETA": "êta",
    "THETA": "thêta",
    "IOTA": "iota",
    "KAPPA": "kappa",
    "LAMDA": "lambda",
    "MU": "mu",
    "NU": "nu",
    "XI": "ksi",
    "OMICRON": "omicron",
    "PI": "pi",
    "RHO": "rhô",
    "SIGMA": "sigma",
    "TAU": "tau",
    "UPSILON": "upsilon",
    "PHI": "phi",
    "CHI": "khi",
    "PSI": "psi",
    "OMEGA": "oméga",
}
_GREEK_NAME_RE = re.compile(r"^GREEK (?:(?:SMALL|CAPITAL) LETTER (?:FINAL )?)?(\w+)")
_LATIN_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=4096)
def script_of(ch: str) -> str | None:
    """Return the script of a letter, mark or digit a French voice cannot read.

    None for everything it can: Latin letters with any accent or ligature,
    digits 0-9, punctuation, symbols, emoji, and letters of no listed script
    (µ, ℓ, mathematical letters). Greek letters return "Greek": whether one
    is read as a symbol is decided on the whole text (`strip_unreadable`).
    """
    if ch.isascii() or unicodedata.category(ch)[0] not in "LMN":
        return None
    name = unicodedata.name(ch, "")
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] in (
            " ",
            "-",
        ):
            return _SCRIPT_PREFIXES[prefix]
    return None


def _greek_letter_name(ch: str) -> str | None:
    match = _GREEK_NAME_RE.match(unicodedata.name(ch, ""))
    return _GREEK_NAMES.get(match.group(1)) if match else None


def strip_unreadable(
    text: str, runs: list[str] | None = None
) -> tuple[str, Counter[str]]:
    """Take out of `text` what a French voice cannot read; count it per script.

    Each run of removed characters becomes one space, so the words around it
    stay apart. Single Greek letters of a text without Greek words become
    their French name ("β-carotène" -> "bêta-carotène", "Δt" -> "delta t",
    "μg" -> "micro g"). The counter maps a script name ("Arabic") to the
    number of characters removed; `runs`, when given, receives each removed
    run as written (spaces between the words of one script included).
    """
    dropped: Counter[str] = Counter()
    if text.isascii():
        return text, dropped
    scripts = [script_of(ch) for ch in text]
    if not any(scripts):
        return text, dropped
    greek_word = any(
        a == b == "Greek" for a, b in zip(scripts, scripts[1:], strict=False)
    )
    out: list[str] = []
    removing: str | None = None  # the script of the run being removed
    covered = 0  # `runs` holds the text up to here
    for i, (ch, script) in enumerate(zip(text, scripts, strict=True)):
        if removing is not None and script is None and _is_mark(ch):
            script = removing  # an accent on a removed letter goes with it
        if script == "Greek" and not greek_word:
            name = _greek_letter_name(ch)
            if name is not None:
                after = text[i + 1 : i + 2]
                if name == "mu" and _LATIN_LETTER.match(after):
                    name = "micro"  # μg, μm: the micro prefix of a unit
                before = out[-1][-1:] if out else ""
                out.append(
                    (" " if before.isalnum() else "")
                    + name
                    + (" " if after.isalnum() else "")
                )
                removing = None
                continue
        if script is None:
            out.append(ch)
            removing = None
            continue
        dropped[script] += 1
        if removing is None:
            out.append(" ")
            if runs is not None and i >= covered:
                covered = _add_run(runs, text, i, scripts)
        removing = script
    return "".join(out), dropped


def _add_run(runs: list[str], text: str, start: int, scripts: list[str | None]) -> int:
    """Record the run of one script starting at `start`, its inner spaces and
    marks included ("القاهرة الكبرى" is one run); return where it ends."""
    script = scripts[start]
    end = start
    while end < len(text) and (
        scripts[end] == script
        or (scripts[end] is None and (text[end] == " " or _is_mark(text[end])))
    ):
        end += 1
    runs.append(text[start:end].strip())
    return end


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


def has_letter(text: str) -> bool:
    """Say whether `text` still holds a letter (a lexicon placeholder counts)."""
    return bool(re.search(r"[^\W\d_]|[\ue100-\uf8ff]", text))
