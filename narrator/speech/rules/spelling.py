"""What is read out letter by letter or part by part: acronyms ("IA" -> "i a"),
web and e-mail addresses, IP addresses.

They share :func:`spell`, so they share a module: a rule module imports no
other rule module (that would add a level under the normalizer).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from narrator.speech import numbers as num
from narrator.speech.builtin_lexicon import builtin
from narrator.speech.rules.base import Pass, Profile
from narrator.speech.rules.tables import (
    CAPS_WORDS,
    LETTER_NAMES,
    LOW,
    UP,
    URL_SEPARATORS,
    URL_WORDS,
)

_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>«»\"“”]+"
    r"|[A-Za-z0-9](?<![\w@.-][A-Za-z0-9])[A-Za-z0-9-]*\.(?:[A-Za-z0-9-]+\.)*"
    r"(?:com|fr|org|net|io|ai|eu|gouv|be|ch|ca|de|uk|info|app|dev|tv|co|edu|gov"
    r"|me|ly|us|it|es)(?:/[^\s<>«»\"“”]*)?(?![\w@-])"
)
_EMAIL_RE = re.compile(
    r"[\w+-](?<![\w.+-][\w+-])[\w.+-]*@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"
)
_IP_RE = re.compile(
    r"([0-9](?<![\w.][0-9])\d{0,2})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)"
)
_URL_HINT_RE = re.compile(
    r"://|www\.|\.(?:com|fr|org|net|io|ai|eu|gouv|be|ch|ca|de|uk|info|app|dev|tv|co"
    r"|edu|gov|me|ly|us|it|es)\b"
)
_VOWELS = set("aeiouyàâäéèêëîïôöùûü")

_ACRONYM_RE = re.compile(
    rf"[{UP}](?<![\w-][{UP}])[{UP}0-9]*[{UP}](?:s(?=\W|$))?(?![\w])"
)
_HAS_LOWER_RE = re.compile(f"[{LOW}]")


def spell(token: str) -> str:
    """Spell letters with their French names and read digits ("GPT4" -> ...)."""
    out: list[str] = []
    for part in re.findall(r"\d+|[^\W\d_]", token):
        if part.isdigit():
            out.append(num.integer(part))
        else:
            base = unicodedata.normalize("NFD", part)[0].upper()
            out.append(LETTER_NAMES.get(base, part))
    return " ".join(out)


# --- addresses ---------------------------------------------------------------


def _read_url_token(token: str, profile: Profile) -> str:
    if not token:
        return ""
    if token.isdigit():
        return num.integer(token)
    runs = re.findall(r"\d+|\D+", token)
    if len(runs) > 1:
        # "jean2024" in an address: the name, then the number, each read aloud.
        return " ".join(_read_url_token(run, profile) for run in runs)
    lower = token.lower()
    if lower in URL_WORDS:
        return URL_WORDS[lower]
    if profile.respell_brands:
        respelled = _url_respellings().get(lower)
        if respelled:
            return respelled
    if len(token) <= 3 or not (_VOWELS & set(lower)):
        return spell(token)
    return lower


@lru_cache(maxsize=1)
def _url_respellings() -> dict[str, str]:
    table = builtin()
    return {k.lower().replace(" ", ""): v.lower() for k, v in table.respell.items()}


def _read_url(url: str, profile: Profile) -> str:
    url = re.sub(r"^https?://", "", url, flags=re.I)
    url = url.rstrip("/")
    parts = re.split(r"([./\-_:?=&#@~+%])", url)
    out: list[str] = []
    for part in parts:
        if part in URL_SEPARATORS:
            out.append(URL_SEPARATORS[part])
        elif part:
            out.append(_read_url_token(part, profile))
    return " ".join(w for w in out if w)


def addresses(text: str, run: Pass) -> str:
    """E-mail, web and IP addresses read part by part ("point", "arobase"),
    then kept in the vault: no later rule reads their pieces again."""
    vault, profile = run.vault, run.profile

    def email(m: re.Match[str]) -> str:
        return vault.put(_read_url(m.group(), profile))

    def url(m: re.Match[str]) -> str:
        raw = m.group()
        trail = ""
        while raw and raw[-1] in ".,;:!?)»'\"":
            trail = raw[-1] + trail
            raw = raw[:-1]
        if not raw or "." not in raw:
            return m.group()
        return vault.put(_read_url(raw, profile)) + trail

    def ip(m: re.Match[str]) -> str:
        parts = m.groups()
        if any(int(p) > 255 for p in parts):
            return m.group()
        return vault.put(" point ".join(num.integer(p) for p in parts))

    if "@" in text:
        text = _EMAIL_RE.sub(email, text)
    if "." in text and _URL_HINT_RE.search(text):
        text = _URL_RE.sub(url, text)
        text = _IP_RE.sub(ip, text)
    return text


# --- acronyms ----------------------------------------------------------------


def acronyms(text: str, run: Pass) -> str:
    """Acronyms read as words when the lexicon says so ("OTAN"), spelled
    otherwise when the profile asks (espeak): short ones, those without a
    vowel, and those the lexicon lists. Capital words ("LA") stay words."""
    lexicon = builtin()
    table_words, spelled = lexicon.words, lexicon.spell
    profile = run.profile

    def one(m: re.Match[str]) -> str:
        token = m.group()
        if token in table_words:
            return table_words[token]
        if not profile.spell_acronyms:
            return token
        core = token[:-1] if token.endswith("s") else token
        if core in table_words:
            return table_words[core]
        if core in CAPS_WORDS or num.roman_value(core) is not None and len(core) > 1:
            return token
        has_vowel = any(c in "AEIOUYÀÂÉÈÊËÎÏÔÖÙÛÜ" for c in core)
        if core in spelled or not has_vowel or len(core) <= 3:
            return spell(core)
        return token

    def line(text_line: str) -> str:
        # A shouted line ("LA QUESTION DES RESSOURCES") is words, not acronyms.
        if not _HAS_LOWER_RE.search(text_line) and len(text_line.split()) > 2:
            return _ACRONYM_RE.sub(
                lambda m: table_words.get(m.group(), m.group()), text_line
            )
        return _ACRONYM_RE.sub(one, text_line)

    return "\n".join(line(t) for t in text.split("\n"))
