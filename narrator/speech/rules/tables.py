"""The tables the rules read: what French says for letters, months, units,
currencies, titles, symbols and web addresses, and which words make a number
agree or a Roman numeral a number.

Data only, so that every rule module can import it without adding a level.
Word lists are written as prose and split on whitespace. A "gated" table is a
list of (needle, pattern, replacement): the pattern runs only on a text that
holds the needle (``rules.base.apply_table``).
"""

from __future__ import annotations

import re


def words_of(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of a table written as prose."""
    return frozenset(text.split())


_words = words_of


# --- character classes and pattern pieces ----------------------------------

UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
LOW = "a-zàâäçéèêëîïôöùûüÿæœ"
SPACES = (
    "\u00a0\u202f\u2009\u2007\u2008\u200a\u205f\u3000\u2002\u2003\u2004\u2005\u2006"
)
SPACE_CLASS = f"[ {SPACES}]"

# Patterns open with a character class and check the character before it in
# a two-character lookbehind: a leading lookbehind would make sre try every
# position of a 60 000-character document (about ten times slower).
NUM_START = r"[0-9](?<![\w.,/-][0-9])"  # a number starts here, not inside a token
NUM = NUM_START + r"\d*(?:[.,]\d+)?"

# --- words -----------------------------------------------------------------

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

# --- web addresses, fractions -----------------------------------------------

URL_SEPARATORS = {
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
URL_WORDS = {
    "com": "com",
    "org": "org",
    "net": "nète",
    "gouv": "gouv",
    "info": "info",
    "www": "double vé double vé double vé",
    "http": "ache té té pé",
    "https": "ache té té pé esse",
}

# --- gated tables: abbreviations and symbols --------------------------------

GatedRule = tuple[str, re.Pattern[str], str]  # (needle, pattern, replacement)

# An abbreviation's period that also ends the sentence is given back.
_STOP = rf"(?:(?P<stop>\.)(?=\s*$|\s+[{UP}«\"\d])|\.)?"

ABBREVIATIONS: list[GatedRule] = [
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
    # "le XXe s.": the century after a Roman ordinal
    (
        "s.",
        re.compile(r"s(?<=[IVXL]e s)(?=\.)" + _STOP),
        r"siècle\g<stop>",
    ),
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
    ("no", re.compile(r"[nN](?<![\w.][nN])os\.?(?=\s?\d)"), "numéros "),
    ("no", re.compile(r"[nN](?<![\w.][nN])o\.?(?=\s?\d)"), "numéro "),
    ("No", re.compile(r"N(?<![\w.]N)os\.?(?=\s?\d)"), "numéros "),
    ("No", re.compile(r"N(?<![\w.]N)o\.?(?=\s?\d)"), "numéro "),
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
    ("M.", re.compile(r"M(?<![\w.]M)\.(?=\s+et\s+M)"), "Monsieur"),  # "M. et Mme X"
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
    ("Dres", re.compile(rf"D(?<![\w.]D)res\.?(?=\s+[{UP}])"), "docteures"),
    ("Dre", re.compile(rf"D(?<![\w.]D)re\.?(?=\s+[{UP}])"), "docteure"),
    ("Drs", re.compile(rf"D(?<![\w.]D)rs\.?(?=\s+[{UP}])"), "docteurs"),
    ("Dr", re.compile(rf"D(?<![\w.]D)r\.?(?=\s+[{UP}])"), "docteur"),
    ("Pres", re.compile(rf"P(?<![\w.]P)res\.?(?=\s+[{UP}])"), "professeures"),
    ("Pre", re.compile(rf"P(?<![\w.]P)re\.?(?=\s+[{UP}])"), "professeure"),
    ("Prs", re.compile(rf"P(?<![\w.]P)rs\.?(?=\s+[{UP}])"), "professeurs"),
    ("Pr", re.compile(rf"P(?<![\w.]P)r\.?(?=\s+[{UP}])"), "professeur"),
    ("Vve", re.compile(rf"V(?<![\w.]V)ve\.?(?=\s+[{UP}])"), "veuve"),
    ("Prof.", re.compile(rf"P(?<![\w.]P)rof\.(?=\s+[{UP}])"), "professeur"),
    ("Ste", re.compile(rf"S(?<![\w.]S)tes?\.?(?=[\s-]+[{UP}])"), "Sainte"),
    ("St", re.compile(rf"S(?<![\w.]S)ts?\.?(?=[\s-]+[{UP}])"), "Saint"),
]

SYMBOLS: list[GatedRule] = [
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
    ("/", re.compile(r"/(?<=\w/)(?=\w)"), " "),
    ("/", re.compile(r"\s/\s"), ", "),
    ("/", re.compile(r"/"), " "),
    ("->", re.compile(r"\s?->\s?"), ", "),
    ("=>", re.compile(r"\s?=>\s?"), ", "),
    ("", re.compile(r"\s?[→⇒←↔⟶]\s?"), ", "),
    ("", re.compile(r"[*_|#^\\<>{}]+"), " "),
]
