"""French text made speakable: numbers, dates, abbreviations, acronyms, symbols.

Every rule is a precompiled regular expression applied once over the text, in a
fixed order (most specific first). Every rule is whole-word and anchored on its
context (a digit before a unit, a capitalised name after "M.", a regnal name
before a Roman numeral), so ordinary words never change.

The per-engine seam is :class:`Profile`: espeak-ng's French voice needs
brand names respelled and acronyms spelled out letter by letter; Google's voice
(gTTS) knows both, so its profile keeps them as written. Both voices are
French: text in a script they cannot read (Arabic, Cyrillic, Han…) is left out
of the speech (see ``scripts.py``), after the user lexicon has had its chance
to give such a word a French reading. Spoken text produced by a rule that later
rules must not touch (a user lexicon entry, a URL read out) is swapped for a
private-use placeholder and restored at the end.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from narrator.speech import numbers as num
from narrator.speech.lexicon import builtin, user_pattern, whole_word_pattern
from narrator.speech.scripts import has_letter, strip_unreadable

logger = logging.getLogger(__name__)


def _words(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a table written as prose."""
    return frozenset(text.split())


@dataclass(frozen=True)
class Profile:
    """What one engine needs help with."""

    name: str
    respell_brands: bool  # French-phonetic respellings of English names
    spell_acronyms: bool  # "IA" -> "i a": espeak reads "l'IA" as "lya"
    french_scripts_only: bool = True  # leave out Arabic, Cyrillic, Han…


PROFILES = {
    "espeak": Profile("espeak", respell_brands=True, spell_acronyms=True),
    "gtts": Profile("gtts", respell_brands=False, spell_acronyms=False),
}


def profile_for(name: str) -> Profile:
    """Return the profile called ``name`` (an engine's ``profile``).

    Engines declare which profile their voice needs; an unknown name gets the
    gTTS one, which suits neural and cloud voices (they read acronyms and
    numbers themselves).
    """
    return PROFILES.get(name.lower(), PROFILES["gtts"])


# --- character classes -----------------------------------------------------

UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
LOW = "a-zàâäçéèêëîïôöùûüÿæœ"
_SPACES = (
    "\u00a0\u202f\u2009\u2007\u2008\u200a\u205f\u3000\u2002\u2003\u2004\u2005\u2006"
)
_SPACE_CLASS = f"[ {_SPACES}]"
_PLACEHOLDER_BASE = 0xE100  # private use area; stripped from the input first
_PLACEHOLDER_MAX = 0xF8FF - _PLACEHOLDER_BASE

LETTER_NAMES = {
    "A": "a",
    "B": "bé",
    "C": "cé",
    "D": "dé",
    "E": "e",
    "F": "effe",
    "G": "gé",
    "H": "ache",
    "I": "i",
    "J": "ji",
    "K": "ka",
    "L": "elle",
    "M": "emme",
    "N": "enne",
    "O": "o",
    "P": "pé",
    "Q": "ku",
    "R": "erre",
    "S": "esse",
    "T": "té",
    "U": "u",
    "V": "vé",
    "W": "double vé",
    "X": "ixe",
    "Y": "i grec",
    "Z": "zède",
}

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# Nouns that make "un" agree: "21 personnes" -> "vingt et une personnes".
FEMININE_NOUNS = _words(
    """
    heure heures minute minutes seconde secondes personne personnes fois année
    années semaine semaines journée journées nuit nuits page pages femme femmes
    fille filles entreprise entreprises société sociétés voiture voitures étape
    étapes partie parties idée idées raison raisons chose choses question questions
    ville villes place places victoire victoires édition éditions version versions
    étoile étoiles tonne tonnes livre livres vidéo vidéos photo photos image images
    étude études mission missions nation nations ligne lignes équipe équipes famille
    familles langue langues région régions université universités école écoles
    maison maisons centaine centaines dizaine dizaines douzaine douzaines lettre
    lettres saison saisons start-up start-ups startup startups machine machines puce
    puces usine usines entrée entrées voix victime victimes propositions proposition
    règle règles mesure mesures série séries sœur sœurs mère mères tante tantes
    cousine cousines amie amies guerre guerres pièce pièces chambre chambres carte
    cartes note notes offre offres plateforme plateformes application applications
    technologie technologies donnée données heure réunion réunions semaine
    """
)

# Spoken unit: (singular, plural, feminine). Longest written forms first.
UNITS: dict[str, tuple[str, str, bool]] = {
    "km/h": ("kilomètre heure", "kilomètres heure", False),
    "m/s": ("mètre par seconde", "mètres par seconde", False),
    "km²": ("kilomètre carré", "kilomètres carrés", False),
    "km2": ("kilomètre carré", "kilomètres carrés", False),
    "m²": ("mètre carré", "mètres carrés", False),
    "m³": ("mètre cube", "mètres cubes", False),
    "cm²": ("centimètre carré", "centimètres carrés", False),
    "km": ("kilomètre", "kilomètres", False),
    "cm": ("centimètre", "centimètres", False),
    "mm": ("millimètre", "millimètres", False),
    "m": ("mètre", "mètres", False),
    "kg": ("kilogramme", "kilogrammes", False),
    "mg": ("milligramme", "milligrammes", False),
    "g": ("gramme", "grammes", False),
    "t": ("tonne", "tonnes", True),
    "ml": ("millilitre", "millilitres", False),
    "mL": ("millilitre", "millilitres", False),
    "cl": ("centilitre", "centilitres", False),
    "l": ("litre", "litres", False),
    "L": ("litre", "litres", False),
    "°C": ("degré", "degrés", False),
    "° C": ("degré", "degrés", False),
    "°F": ("degré Fahrenheit", "degrés Fahrenheit", False),
    "°": ("degré", "degrés", False),
    "To": ("téraoctet", "téraoctets", False),
    "Go": ("gigaoctet", "gigaoctets", False),
    "Mo": ("mégaoctet", "mégaoctets", False),
    "Ko": ("kilooctet", "kilooctets", False),
    "ko": ("kilooctet", "kilooctets", False),
    "TB": ("téraoctet", "téraoctets", False),
    "GB": ("gigaoctet", "gigaoctets", False),
    "MB": ("mégaoctet", "mégaoctets", False),
    "Gb/s": ("gigabit par seconde", "gigabits par seconde", False),
    "Mb/s": ("mégabit par seconde", "mégabits par seconde", False),
    "kWh": ("kilowattheure", "kilowattheures", False),
    "MWh": ("mégawattheure", "mégawattheures", False),
    "GWh": ("gigawattheure", "gigawattheures", False),
    "TWh": ("térawattheure", "térawattheures", False),
    "kW": ("kilowatt", "kilowatts", False),
    "MW": ("mégawatt", "mégawatts", False),
    "GW": ("gigawatt", "gigawatts", False),
    "W": ("watt", "watts", False),
    "GHz": ("gigahertz", "gigahertz", False),
    "MHz": ("mégahertz", "mégahertz", False),
    "kHz": ("kilohertz", "kilohertz", False),
    "Hz": ("hertz", "hertz", False),
    "min": ("minute", "minutes", True),
    "ms": ("milliseconde", "millisecondes", True),
    "s": ("seconde", "secondes", True),
    "hab.": ("habitant", "habitants", False),
    "Mds": ("milliard", "milliards", False),
    "Md": ("milliard", "milliards", False),
    "Mrd": ("milliard", "milliards", False),
    "k": ("mille", "mille", False),
}

# currency symbol or code -> (singular, plural, feminine, cents word)
CURRENCIES: dict[str, tuple[str, str, bool, str]] = {
    "€": ("euro", "euros", False, "centimes"),
    "EUR": ("euro", "euros", False, "centimes"),
    "$": ("dollar", "dollars", False, "cents"),
    "USD": ("dollar", "dollars", False, "cents"),
    "£": ("livre", "livres", True, "pence"),
    "GBP": ("livre", "livres", True, "pence"),
    "CHF": ("franc suisse", "francs suisses", False, "centimes"),
    "¥": ("yen", "yens", False, ""),
}
SCALES = {
    "k": 1_000,
    "K": 1_000,
    "M": 1_000_000,
    "Mn": 1_000_000,
    "Md": 1_000_000_000,
    "Mds": 1_000_000_000,
    "Mrd": 1_000_000_000,
    "Mrds": 1_000_000_000,
    "G": 1_000_000_000,
    "B": 1_000_000_000,
    "Bn": 1_000_000_000,
}

# Names after which a Roman numeral is a regnal number (I -> "premier").
REGNAL = _words(
    """
    Louis Henri Charles François Napoléon Philippe Jean Jean-Paul Benoît Pie Paul
    Léon Grégoire Innocent Clément Boniface Urbain Sixte Alexandre Nicolas Pierre
    Frédéric Guillaume Édouard Edouard George Georges Richard Jacques Ferdinand
    Alphonse Victor-Emmanuel Rodolphe Otton Constantin Juan Felipe Carlos Albert
    Baudouin Léopold Humbert Umberto Christian Gustave Haakon Olav Harald Rainier
    Mohammed Hassan Ramsès Ptolémée Élisabeth Elisabeth Elizabeth Catherine Marie
    Isabelle Victoria Anne Jeanne Charlemagne Lothaire Pépin Hugues Robert Raoul
    Eudes Sanche Pedro Manuel Vatican Windows
    """
)
FEMININE_REGNAL = _words(
    """
    Élisabeth Elisabeth Elizabeth Catherine Marie Isabelle Victoria Anne Jeanne
    """
)
# Words after which a Roman numeral is a plain number (chapitre IX -> neuf).
ROMAN_KEYWORDS = _words(
    """
    chapitre chapitres tome tomes livre livres acte actes scène scènes partie
    parties volume volumes vol. titre titres annexe annexes section sections leçon
    leçons épisode épisodes saison saisons article articles phase phases niveau
    niveaux catégorie type Chapitre Tome Livre Acte Scène Partie Volume Titre Annexe
    Section Leçon Épisode Saison Article Phase Niveau
    """
)

# All-capital French words that are words, not acronyms ("LA QUESTION").
CAPS_WORDS = _words(
    """
    A À AU AUX CE CES DE DES DU EN ET EST IL ILS JE LA LE LES MA MES MON NE NI NOS
    NOUS ON OU OÙ PAR PAS PEU QUE QUI SA SE SES SI SON SUR TA TES TON TU UN UNE VOS
    VU Y OUI NON EUX ELLE MAIS CAR DONC OR ÇA FIN
    """
)


# --- placeholders ----------------------------------------------------------


class _Vault:
    """Spoken text that later rules must not touch, behind placeholders."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, spoken: str) -> str:
        if len(self.items) >= _PLACEHOLDER_MAX:
            return spoken  # absurdly many: give up protecting, never fail
        self.items.append(spoken)
        return chr(_PLACEHOLDER_BASE + len(self.items) - 1)

    def restore(self, text: str) -> str:
        if not self.items:
            return text
        return _PLACEHOLDER_RE.sub(
            lambda m: (
                self.items[ord(m.group()) - _PLACEHOLDER_BASE]
                if ord(m.group()) - _PLACEHOLDER_BASE < len(self.items)
                else ""
            ),
            text,
        )


_PLACEHOLDER_RE = re.compile(f"[{chr(_PLACEHOLDER_BASE)}-\uf8ff]")
_PRIVATE_USE_RE = re.compile("[\ue000-\uf8ff]")


# --- helpers ---------------------------------------------------------------


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


def _next_word(text: str, pos: int) -> str:
    m = _NEXT_WORD_RE.match(text, pos)
    return m.group(1) if m else ""


_NEXT_WORD_RE = re.compile(r"[ \t]*([\w'-]+)")


# --- rules -----------------------------------------------------------------

Repl = Callable[[re.Match[str]], str] | str
GatedRule = tuple[str, re.Pattern[str], Repl]  # (needle that must be in the text, ...)

# Patterns open with a character class and check the character before it in
# a two-character lookbehind: a leading lookbehind would make sre try every
# position of a 60 000-character document (about ten times slower).
_NUM_START = r"[0-9](?<![\w.,/-][0-9])"  # a number starts here, not inside a token
_NUM = _NUM_START + r"\d*(?:[.,]\d+)?"

# Digit groups separated by (narrow) no-break or ordinary spaces: "1 000 000".
_THOUSANDS_RE = re.compile(
    rf"{_NUM_START}\d{{0,2}}(?:{_SPACE_CLASS}\d{{3}})+(?![\d])"
    r"(?!,\d{3}\b)"
)
_GROUP_SPACE_RE = re.compile(_SPACE_CLASS)
_OTHER_SPACE_RE = re.compile(f"[{_SPACES}\t\r\f\v]")
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_APOSTROPHE_RE = re.compile("[’ʼ‘`´]")
_SUPERSCRIPT = str.maketrans(
    {"ᵉ": "e", "ʳ": "r", "ᵈ": "d", "ᵐ": "m", "ˢ": "s", "ⁿ": "n", "ᵒ": "o", "º": "°"}
)
_BULLET_LINE_RE = re.compile(r"^[ \t]*(?:[-*•▪►–—]|\d+[.)])[ \t]+(.*?)[ \t]*$", re.M)

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
_URL_SEPARATORS = {
    ".": "point",
    "/": "slash",
    "-": "tiret",
    "_": "tiret bas",
    ":": "deux points",
    "?": "point d'interrogation",
    "=": "égale",
    "&": "et",
    "#": "dièse",
    "@": "arobase",
    "~": "tilde",
    "+": "plus",
    "%": "pour cent",
}
_URL_HINT_RE = re.compile(
    r"://|www\.|\.(?:com|fr|org|net|io|ai|eu|gouv|be|ch|ca|de|uk|info|app|dev|tv|co"
    r"|edu|gov|me|ly|us|it|es)\b"
)
_URL_WORDS = {
    "com": "com",
    "org": "org",
    "net": "nète",
    "gouv": "gouv",
    "info": "info",
    "www": "double vé double vé double vé",
    "http": "ache té té pé",
    "https": "ache té té pé esse",
}
_VOWELS = set("aeiouyàâäéèêëîïôöùûü")

# An abbreviation's period that also ends the sentence is given back.
_STOP = rf"(?:(?P<stop>\.)(?=\s*$|\s+[{UP}«\"\d])|\.)?"

_ABBREVIATIONS: list[GatedRule] = [
    (
        "av.",
        re.compile(r"a(?<![\w.]a)v\.\s*J\.?-C" + _STOP),
        r"avant Jésus-Christ\g<stop>",
    ),
    (
        "apr.",
        re.compile(r"a(?<![\w.]a)pr\.\s*J\.?-C" + _STOP),
        r"après Jésus-Christ\g<stop>",
    ),
    ("J.-C", re.compile(r"J(?<![\w.]J)\.-C" + _STOP), r"Jésus-Christ\g<stop>"),
    ("-à-d", re.compile(r"[cC](?<![\w.][cC])\.?-à-d\.?(?!\w)"), "c'est-à-dire"),
    ("i.", re.compile(r"i(?<![\w.]i)\.\s?e\.(?!\w)"), "c'est-à-dire"),
    ("g.", re.compile(r"e(?<![\w.]e)\.\s?g\.(?!\w)"), "par exemple"),
    ("ex.", re.compile(r"p(?<![\w.]p)\.\s?ex\.(?!\w)"), "par exemple"),
    ("par ex.", re.compile(r"p(?<![\w.]p)ar ex\.(?!\w)"), "par exemple"),
    ("cf.", re.compile(r"c(?<![\w.]c)f\.(?!\w)"), "confère"),
    ("Cf.", re.compile(r"C(?<![\w.]C)f\.(?!\w)"), "Confère"),
    ("env.", re.compile(r"e(?<![\w.]e)nv\.(?=\s)"), "environ"),
    ("vs", re.compile(r"v(?<![\w.]v)s\.?(?=\s)"), "contre"),
    ("°", re.compile(r"[nN](?<![\w.][nN])[°º]s(?!\w)"), "numéros"),
    ("°", re.compile(r"[nN](?<![\w.][nN])[°º](?=\s*\d)"), "numéro "),
    ("°", re.compile(r"[nN](?<![\w.][nN])[°º](?!\w)"), "numéro"),
    ("#", re.compile(r"#(?<![\w.]#)(?=\d)"), "numéro "),
    ("pp.", re.compile(r"p(?<![\w.]p)p\.(?=\s*\d)"), "pages"),
    ("p.", re.compile(r"p(?<![\w.]p)\.(?=\s*\d)"), "page"),
    ("chap.", re.compile(r"c(?<![\w.]c)hap\.(?=\s*[\dIVXLC])"), "chapitre"),
    ("art.", re.compile(r"a(?<![\w.]a)rt\.(?=\s*\d)"), "article"),
    ("fig.", re.compile(r"f(?<![\w.]f)ig\.(?=\s*\d)"), "figure"),
    ("vol.", re.compile(r"v(?<![\w.]v)ol\.(?=\s*[\dIVXLC])"), "volume"),
    ("tél.", re.compile(r"t(?<![\w.]t)él\.(?=\s*[:\d+])"), "téléphone"),
    ("max.", re.compile(r"m(?<![\w.]m)ax\.(?=\s*\d)"), "maximum"),
    ("min.", re.compile(r"m(?<![\w.]m)in\.(?=\s*\d)"), "minimum"),
    ("approx.", re.compile(r"a(?<![\w.]a)pprox\.(?=\s*\d)"), "environ"),
    ("Cie", re.compile(r"C(?<![\w.]C)ie(?!\w)"), "compagnie"),
    ("Sté", re.compile(r"S(?<![\w.]S)té(?!\w)"), "société"),
    # titles: only before a capitalised name ("M. Dupont", never "le M.")
    ("MM.", re.compile(rf"M(?<![\w.]M)M\.(?=\s*[{UP}])"), "Messieurs"),
    ("M.", re.compile(rf"M(?<![\w.]M)\.(?=\s*[{UP}])"), "Monsieur"),
    ("Mr", re.compile(rf"M(?<![\w.]M)r\.?(?=\s+[{UP}])"), "Monsieur"),
    ("Mmes", re.compile(rf"M(?<![\w.]M)mes\.?(?=\s+[{UP}])"), "Mesdames"),
    ("Mmes", re.compile(r"M(?<![\w.]M)mes(?!\w)"), "Mesdames"),
    ("Mme", re.compile(rf"M(?<![\w.]M)me\.?(?=\s+[{UP}])"), "Madame"),
    ("Mme", re.compile(r"M(?<![\w.]M)me(?!\w)"), "Madame"),
    ("Mlles", re.compile(rf"M(?<![\w.]M)lles\.?(?=\s+[{UP}])"), "Mesdemoiselles"),
    ("Mlles", re.compile(r"M(?<![\w.]M)lles(?!\w)"), "Mesdemoiselles"),
    ("Mlle", re.compile(rf"M(?<![\w.]M)lle\.?(?=\s+[{UP}])"), "Mademoiselle"),
    ("Mlle", re.compile(r"M(?<![\w.]M)lle(?!\w)"), "Mademoiselle"),
    ("Mgr", re.compile(rf"M(?<![\w.]M)gr\.?(?=\s+[{UP}])"), "Monseigneur"),
    ("Me", re.compile(rf"M(?<![\w.]M)e(?=\s+[{UP}][{LOW}])"), "Maître"),
    ("Drs", re.compile(rf"D(?<![\w.]D)rs\.?(?=\s+[{UP}])"), "docteurs"),
    ("Dr", re.compile(rf"D(?<![\w.]D)r\.?(?=\s+[{UP}])"), "docteur"),
    ("Pr", re.compile(rf"P(?<![\w.]P)r\.?(?=\s+[{UP}])"), "professeur"),
    ("Prof.", re.compile(rf"P(?<![\w.]P)rof\.(?=\s+[{UP}])"), "professeur"),
    ("Ste", re.compile(rf"S(?<![\w.]S)tes?\.?(?=[\s-]+[{UP}])"), "Sainte"),
    ("St", re.compile(rf"S(?<![\w.]S)ts?\.?(?=[\s-]+[{UP}])"), "Saint"),
]
_ETC_RE = re.compile(r"e(?<![\w.]e)tc\.(\.\.)?(?P<after>\s*[,;:)\]]?)")

_DATE_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)[/.](?P<m>\d{1,2})[/.](?P<y>\d{4}|\d{2})(?![\w/]|\.\d)"
)
_ISO_DATE_RE = re.compile(
    r"(?P<y>[0-9](?<![\w/.-][0-9])\d{3})-(?P<m>\d{2})-(?P<d>\d{2})(?![\w/]|-\d)"
)
_MONTH_YEAR_RE = re.compile(r"(?P<m>[0-9](?<![\w/.,-][0-9])\d?)/(?P<y>\d{4})(?![\w/])")
# "14/07": a two-digit month makes a day and month, "3/4" stays a fraction
_DAY_MONTH_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)/(?P<m>[01]\d)(?![\w/]|[.,]\d)"
)
_TIME_RE = re.compile(
    r"(?P<h>[0-9](?<![\w.,:][0-9])\d{0,2})\s?h(?:\s?(?P<m>[0-5]\d))?(?!\w)"
    r"|(?P<h2>[0-9](?<![\w.,:][0-9])\d?):(?P<m2>[0-5]\d)(?![\w:]|[.,]\d)"
)

_CUR_SYMBOLS = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_SCALE_WORDS = "|".join(sorted(SCALES, key=len, reverse=True))
_MONEY_RE = re.compile(
    rf"(?P<n>{_NUM})\s?(?P<scale>{_SCALE_WORDS})?"
    rf"\s?(?P<cur>{_CUR_SYMBOLS})(?![\w$€£])"
)
_MONEY_PREFIX_RE = re.compile(
    rf"(?P<cur>[$€£])(?<!\w[$€£])\s?(?P<n>{_NUM})(?:\s?(?P<scale>{_SCALE_WORDS}))?"
    rf"(?![\w.,]\d|\w)"
)
_PERCENT_RE = re.compile(rf"(?P<n>{_NUM})\s?(?P<p>%|‰)")
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_UNIT_RE = re.compile(
    rf"(?P<n>{_NUM})\s?(?P<u>{_UNIT_NAMES})"
    r"(?![\w²³/]|\.\w)"
)
_PER_RE = re.compile(
    r"/(?<=\w/)(?=(?:mois|an|année|jour|semaine|heure|h|habitant|personne|km|kg|"
    r"litre|l|tête|unité|utilisateur|mois|an)\b)"
)
_ORDINAL_RE = re.compile(
    r"(?P<n>[0-9](?<![\w.,][0-9])\d*)\s?(?P<s>ers?|res?|ères?|nds?|ndes?|e|es|èmes?|emes?|"
    r"ièmes?|è)(?!\w)"
)
_ROMAN_ORDINAL_RE = re.compile(
    r"(?P<r>[IVXLCDM](?<![\w.-][IVXLCDM])[IVXLCDM]*)(?P<s>er|re|ère|e|es|ème|èmes)(?!\w)"
)
_ROMAN_RE = re.compile(r"[IVXLCDM](?<![\w'-][IVXLCDM])[IVXLCDM]*(?![\w'-])")
_WORD_BEFORE_RE = re.compile(r"([\w.-]+)\s+$")
_RANGE_RE = re.compile(
    r"(?P<a>[0-9](?<![\w.,/-][0-9])\d*)\s?[-–—]\s?(?P<b>\d+)(?![\w/-]|[.,]\d)"
)
_FRACTION_RE = re.compile(
    r"(?P<a>[0-9](?<![\w.,/][0-9])\d{0,3})/(?P<b>\d{1,4})(?![\w/]|[.,]\d)"
)
_FRACTIONS = {
    ("1", "2"): "un demi",
    ("1", "3"): "un tiers",
    ("2", "3"): "deux tiers",
    ("1", "4"): "un quart",
    ("3", "4"): "trois quarts",
}
_TIMES_RE = re.compile(r"(?P<d>[0-9])(?:\s?[x×]\s?(?=\d)|\s?x(?=\s))")
_NEGATIVE_RE = re.compile(r"-(?<![^\s(\[«:;/=]-)(?=\d)")
_DECIMAL_RE = re.compile(
    r"(?P<i>[0-9](?<![\w.,][0-9])\d*)(?P<sep>[.,])(?P<f>\d+)(?![\w]|[.,]\d)"
)
_DOTTED_NUMBER_RE = re.compile(r"\.(?<=\d\.)(?=\d)")
_INTEGER_RE = re.compile(r"\d+")
_LETTER_DIGIT_HYPHEN_RE = re.compile(r"-(?:(?<=[^\W\d_]-)(?=\d)|(?<=\d-)(?=[^\W\d_]))")
_CAPS_DIGIT_RE = re.compile(r"[A-Z](?=\d)|[0-9](?=[A-Z]{1,4}(?![a-z]))")
_ACRONYM_RE = re.compile(
    rf"[{UP}](?<![\w-][{UP}])[{UP}0-9]*[{UP}](?:s(?=\W|$))?(?![\w])"
)
_HAS_LOWER_RE = re.compile(f"[{LOW}]")

_SYMBOLS: list[GatedRule] = [
    ("&", re.compile(r"\s?&\s?"), " et "),
    ("+", re.compile(r"\+\+(?<=\w\+\+)(?!\w)"), " plus plus"),
    ("+", re.compile(r"\+(?<=[^\W\d_]\+)(?!\w)"), " plus"),
    ("+", re.compile(r"\s?\+\s?(?=\w)"), " plus "),
    ("=", re.compile(r"\s?(?<![<>!])=\s?"), " égale "),
    ("≠", re.compile(r"\s?≠\s?"), " différent de "),
    ("≤", re.compile(r"\s?≤\s?"), " inférieur ou égal à "),
    ("≥", re.compile(r"\s?≥\s?"), " supérieur ou égal à "),
    ("<", re.compile(r"\s<\s"), " inférieur à "),
    (">", re.compile(r"\s>\s"), " supérieur à "),
    ("±", re.compile(r"\s?±\s?"), " plus ou moins "),
    ("~", re.compile(r"~\s?(?=\d)"), "environ "),
    ("≈", re.compile(r"\s?≈\s?"), " environ "),
    ("÷", re.compile(r"\s?÷\s?"), " divisé par "),
    ("×", re.compile(r"\s?×\s?"), " fois "),
    ("@", re.compile(r"\s?@\s?"), " arobase "),
    ("§", re.compile(r"§\s?"), " paragraphe "),
    ("%", re.compile(r"\s?%"), " pour cent"),
    ("‰", re.compile(r"\s?‰"), " pour mille"),
    ("°", re.compile(r"°"), " degrés"),
    ("€", re.compile(r"€"), " euros"),
    ("$", re.compile(r"\$"), " dollars"),
    ("£", re.compile(r"£"), " livres"),
    ("/", re.compile(r"/(?<=\w/)(?=\w)"), " "),
    ("/", re.compile(r"\s/\s"), ", "),
    ("/", re.compile(r"/"), " "),
    ("->", re.compile(r"\s?->\s?"), ", "),
    ("=>", re.compile(r"\s?=>\s?"), ", "),
    ("", re.compile(r"\s?[→⇒←↔⟶]\s?"), ", "),
    ("", re.compile(r"[*_|#^\\<>{}]+"), " "),
]

_QUOTES_RE = re.compile('[«»“”„‟"‹›]')
_STRAY_APOSTROPHE_RE = re.compile(r"'(?:(?<![\w\ue100-\uf8ff]')|(?![\w\ue100-\uf8ff]))")
_ELLIPSIS_RE = re.compile(r"(?:…|\.{3,})(?P<close>[\s)»\"”]*)(?P<next>.?)", re.S)
_DASH_RE = re.compile(r"[-–—]+(?<=\s[-–—])(?=\s)|[–—]+")
_PAREN_OPEN_RE = re.compile(r"[(\[]")
_PAREN_CLOSE_RE = re.compile(r"[)\]]")
_SPACE_RUN_RE = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+(?=[,.)])")
_COMMA_RUN_RE = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP_RE = re.compile(r",\s*(?=[.!?;:]|$)")
_COMMA_AFTER_STOP_RE = re.compile(r"([.!?;:])\s*,")
_COMMA_SPACE_RE = re.compile(r",(?=[^\s\d])")
# Emoji shown as pictures, keycaps (1️⃣ #️⃣) included: decoration, not words.
_EMOJI_SEQUENCE_RE = re.compile(r"\S\ufe0f\u20e3?|[0-9#*]\u20e3")
_SYMBOL_CHARS_RE = re.compile(r"[^\w\s.,;:!?'()\[\]«»\"\ue100-\uf8ff-]")


# --- the rules, applied in order --------------------------------------------


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _EMOJI_SEQUENCE_RE.sub(" ", text)
    text = _PRIVATE_USE_RE.sub(" ", text)
    text = _INVISIBLE_RE.sub("", text)
    text = _APOSTROPHE_RE.sub("'", text)
    text = text.translate(_SUPERSCRIPT).replace("−", "-").replace("\u2011", "-")
    text = _THOUSANDS_RE.sub(lambda m: _GROUP_SPACE_RE.sub("", m.group()), text)
    text = _OTHER_SPACE_RE.sub(" ", text)
    return text


def _bullets(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        item = m.group(1)
        if item and item[-1] not in ".!?…:;":
            item += "."
        return item

    return _BULLET_LINE_RE.sub(one, text)


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
    if lower in _URL_WORDS:
        return _URL_WORDS[lower]
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
        if part in _URL_SEPARATORS:
            out.append(_URL_SEPARATORS[part])
        elif part:
            out.append(_read_url_token(part, profile))
    return " ".join(w for w in out if w)


def _urls(text: str, vault: _Vault, profile: Profile) -> str:
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


def _apply_rules(text: str, rules: list[GatedRule]) -> str:
    for needle, pattern, repl in rules:
        if needle in text:
            text = pattern.sub(repl, text)
    return text


def _etc(m: re.Match[str]) -> str:
    after = m.group("after")
    if after.strip():
        return "etcétéra" + after
    return "etcétéra." + after


def _day(d: int) -> str:
    return "premier" if d == 1 else num.cardinal(d)


def _dates(text: str) -> str:
    def full(m: re.Match[str]) -> str:
        d, mo, y = int(m.group("d")), int(m.group("m")), m.group("y")
        if not (1 <= d <= 31 and 1 <= mo <= 12):
            return m.group()
        return f"{_day(d)} {MONTHS[mo - 1]} {num.integer(y.lstrip('0') or '0')}"

    def month_year(m: re.Match[str]) -> str:
        mo, y = int(m.group("m")), int(m.group("y"))
        if not (1 <= mo <= 12 and 1000 <= y <= 2999):
            return m.group()
        return f"{MONTHS[mo - 1]} {num.cardinal(y)}"

    def day_month(m: re.Match[str]) -> str:
        d, mo = int(m.group("d")), int(m.group("m"))
        if not (1 <= d <= 31 and 1 <= mo <= 12):
            return m.group()
        return f"{_day(d)} {MONTHS[mo - 1]}"

    if "/" in text or "." in text:
        text = _DATE_RE.sub(full, text)
    if "-" in text:
        text = _ISO_DATE_RE.sub(full, text)
    if "/" in text:
        text = _MONTH_YEAR_RE.sub(month_year, text)
        text = _DAY_MONTH_RE.sub(day_month, text)
    return text


def _times(m: re.Match[str]) -> str:
    hours = m.group("h") or m.group("h2")
    minutes = m.group("m") if m.group("h") else m.group("m2")
    h = int(hours)
    if (minutes is not None and h > 24) or (m.group("h2") and h > 24):
        return m.group()
    words = num.feminine(num.cardinal(h)) + (" heures" if h >= 2 else " heure")
    if minutes and int(minutes):
        words += " " + num.feminine(num.cardinal(int(minutes)))
    return words


def _money(m: re.Match[str]) -> str:
    amount = m.group("n")
    scale = m.group("scale")
    singular, plural, fem, cents = CURRENCIES[m.group("cur")]
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
    if sep and len(frac) <= 2 and frac.strip("0"):
        cents_value = int(frac.ljust(2, "0"))
        if int(int_part) == 0 and cents:
            return f"{neg}{num.cardinal(cents_value)} {cents}"
        units = int(int_part)
        head = num.feminine(num.cardinal(units)) if fem else num.cardinal(units)
        noun = plural if num.is_plural(units) else singular
        return f"{neg}{head} {noun} {num.cardinal(cents_value)}"
    if sep and not frac.strip("0"):
        amount, value = int_part, float(int_part)
    words = _number_words(amount, feminine=fem)
    noun = plural if num.is_plural(value) else singular
    if re.search(r"(?:millions?|milliards?)$", words):
        de = "d'" if plural[0] in "aeiouyé" else "de "
        return f"{neg}{words} {de}{plural}"
    return f"{neg}{words} {noun}"


def _percent(m: re.Match[str]) -> str:
    tail = " pour cent" if m.group("p") == "%" else " pour mille"
    return _number_words(m.group("n")) + tail


def _unit(m: re.Match[str]) -> str:
    singular, plural, fem = UNITS[m.group("u")]
    value = _to_float(m.group("n"))
    words = _number_words(m.group("n"), feminine=fem)
    return f"{words} {plural if num.is_plural(value) else singular}"


def _ordinal(m: re.Match[str]) -> str:
    n, suffix = int(m.group("n")), m.group("s")
    plural = suffix.endswith("s") and suffix not in ("s",)
    if suffix.startswith("nd"):
        if n != 2:
            return m.group()
        word = "seconde" if suffix.startswith("nde") else "second"
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


def _fraction(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    return _FRACTIONS.get((a, b)) or f"{num.integer(a)} sur {num.integer(b)}"


def _range(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.group("b")
    return f"{num.integer(a)} à {num.integer(b)}"


def _decimal(m: re.Match[str]) -> str:
    sep = "virgule" if m.group("sep") == "," else "point"
    words = num.decimal(m.group("i"), m.group("f"), sep)
    return " " + words + " "


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


def _ellipsis(m: re.Match[str]) -> str:
    nxt = m.group("next")
    close = m.group("close")
    if not nxt or nxt.isupper() or nxt in "\n":
        return "." + close + nxt
    return "," + close + nxt


def _acronyms(text: str, table_words: Mapping[str, str], profile: Profile) -> str:
    spelled = builtin().spell

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


def _typography(text: str) -> str:
    text = _QUOTES_RE.sub(" ", text)
    text = _STRAY_APOSTROPHE_RE.sub(" ", text)
    text = _ELLIPSIS_RE.sub(_ellipsis, text)
    text = _DASH_RE.sub(", ", text)
    text = _PAREN_OPEN_RE.sub(", ", text)
    text = _PAREN_CLOSE_RE.sub(",", text)
    return text


def _tidy(text: str) -> str:
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    text = _COMMA_RUN_RE.sub(",", text)
    text = _COMMA_BEFORE_STOP_RE.sub("", text)
    text = _COMMA_AFTER_STOP_RE.sub(r"\1", text)
    text = _COMMA_SPACE_RE.sub(", ", text)
    text = _SPACE_RUN_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    return "\n".join(line.strip(" ,") for line in text.split("\n")).strip()


def _readable(text: str, profile: Profile, dropped: Counter[str]) -> str:
    """Leave out what the voice cannot read; count it into `dropped`.

    A text that loses letters and keeps none of its own (only digits or
    punctuation) was a foreign passage: its leftovers are not spoken either.
    """
    if not profile.french_scripts_only:
        return text
    kept, removed = strip_unreadable(text)
    if removed:
        dropped.update(removed)
        if not has_letter(kept):
            return ""
    return kept


def _normalize(
    text: str,
    profile: Profile,
    lexicon: Mapping[str, str] | None,
    dropped: Counter[str],
) -> str:
    vault = _Vault()
    text = _clean(text)
    text = _bullets(text)
    if lexicon:
        items = tuple(sorted((k, v) for k, v in lexicon.items() if k.strip()))
        pattern = user_pattern(items)
        if pattern is not None:
            table = dict(items)
            spaced = {" ".join(k.split()): v for k, v in items}
            text = pattern.sub(
                lambda m: vault.put(
                    table.get(m.group()) or spaced.get(" ".join(m.group().split()), "")
                ),
                text,
            )
    text = _readable(text, profile, dropped)
    text = _urls(text, vault, profile)
    text = _LETTER_DIGIT_HYPHEN_RE.sub(" ", text)
    if profile.respell_brands:
        brands, brand_table = _brands()
        text = brands.sub(
            lambda m: vault.put(brand_table[" ".join(m.group().split())]), text
        )
    text = _apply_rules(text, _ABBREVIATIONS)
    text = _ETC_RE.sub(_etc, text)
    if any(c.isdigit() for c in text):
        text = _dates(text)
        text = _NEGATIVE_RE.sub("moins ", text)
        text = _TIME_RE.sub(_times, text)
        text = _MONEY_RE.sub(_money, text)
        text = _MONEY_PREFIX_RE.sub(_money, text)
        text = _PERCENT_RE.sub(_percent, text)
        text = _UNIT_RE.sub(_unit, text)
        text = _PER_RE.sub(" par ", text)
        text = _ORDINAL_RE.sub(_ordinal, text)
    text = _ROMAN_ORDINAL_RE.sub(_roman_ordinal, text)
    text = _ROMAN_RE.sub(_roman_in_context, text)
    if any(c.isdigit() for c in text):
        text = _FRACTION_RE.sub(_fraction, text)
        text = _RANGE_RE.sub(_range, text)
        text = _TIMES_RE.sub(lambda m: m.group("d") + " fois ", text)
        text = _DECIMAL_RE.sub(_decimal, text)
        text = _DOTTED_NUMBER_RE.sub(" point ", text)
        text = _CAPS_DIGIT_RE.sub(lambda m: m.group() + " ", text)
        text = _INTEGER_RE.sub(_integer, text)
    text = _acronyms(text, builtin().words, profile)
    text = _typography(text)
    text = _apply_rules(text, _SYMBOLS)
    text = _SYMBOL_CHARS_RE.sub(" ", text)
    text = vault.restore(text)
    return _tidy(text)


@lru_cache(maxsize=1)
def _brands() -> tuple[re.Pattern[str], dict[str, str]]:
    """Compile the built-in respellings once, on first use."""
    table = {" ".join(k.split()): v for k, v in builtin().respell.items()}
    return whole_word_pattern(list(table)) or re.compile(r"(?!)"), table


def normalize(
    text: str, *, engine: str = "espeak", lexicon: Mapping[str, str] | None = None
) -> str:
    """Return the text made speakable for an engine profile.

    ``engine`` is "espeak" or "gtts"; any other name gets the generic (gTTS-like)
    profile. The user ``lexicon`` is applied first: each key is a literal,
    whole-word, case-sensitive match, and its spoken form is final (the
    built-in rules do not rewrite it). Never raises on any ``str``.
    """
    return normalize_counted(text, engine=engine, lexicon=lexicon)[0]


def normalize_counted(
    text: str, *, engine: str = "espeak", lexicon: Mapping[str, str] | None = None
) -> tuple[str, Counter[str]]:
    """Like `normalize`, and count what was left out per script ("Arabic": 42).

    Text in a script the French voice cannot read is not spoken; the counter
    says how many characters of which script that was, so the caller can warn.
    """
    dropped: Counter[str] = Counter()
    if not isinstance(text, str) or not text:
        return "", dropped
    profile = profile_for(engine if isinstance(engine, str) else "")
    try:
        return _normalize(text, profile, lexicon, dropped), dropped
    except (ValueError, ArithmeticError, LookupError, RecursionError) as exc:
        # A rule hit input it was not written for: speak the text plainly
        # rather than fail the build.
        logger.warning("normalization fell back to plain text: %s", exc)
        dropped.clear()
        plain = _readable(_clean(text), profile, dropped)
        return _tidy(_SYMBOL_CHARS_RE.sub(" ", _typography(plain))), dropped
