"""Unit symbols and their French names, built from SI prefixes and bases:
"km²" -> "kilomètre carré", "µg" -> "microgramme", "hPa" -> "hectopascal",
"Mbit/s" -> "mégabit par seconde"; and the "per" of a rate ("habitants/km²"
-> "habitants par kilomètre carré").

``units`` reads a number and its unit (``UNIT_TABLE``), in agreement
(plural from 2: "1,5 kilomètre", "deux kilomètres"). Squares and cubes are
written with ² and ³, or with a plain 2 or 3 after a length ("40 m2"), where
nothing else is meant.
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.currency_names import ALL_CURRENCIES
from narrator.speech.rules.tables import NUM, UNITS

Unit = tuple[str, str, bool]  # singular, plural, feminine

_PREFIXES = {
    "n": "nano",
    "µ": "micro",
    "m": "milli",
    "c": "centi",
    "d": "déci",
    "da": "déca",
    "h": "hecto",
    "k": "kilo",
    "K": "kilo",
    "M": "méga",
    "G": "giga",
    "T": "téra",
    "P": "péta",
}

# base symbol -> (singular, plural, feminine, the prefixes it takes)
_BASES: dict[str, tuple[str, str, bool, str]] = {
    "m": ("mètre", "mètres", False, "n µ m c d da h k"),
    "g": ("gramme", "grammes", False, "µ m c d k"),
    "l": ("litre", "litres", False, "µ m c d h"),
    "L": ("litre", "litres", False, "µ m c d h k M"),
    "s": ("seconde", "secondes", True, "n µ m"),
    "W": ("watt", "watts", False, "m k M G T"),
    "Wh": ("wattheure", "wattheures", False, "k M G T"),
    "V": ("volt", "volts", False, "µ m k M"),
    "A": ("ampère", "ampères", False, "µ m k"),
    "Hz": ("hertz", "hertz", False, "k M G T"),
    "Pa": ("pascal", "pascals", False, "h k M G"),
    "bar": ("bar", "bars", False, "m"),
    "kN": ("kilonewton", "kilonewtons", False, ""),
    "MN": ("méganewton", "méganewtons", False, ""),
    "J": ("joule", "joules", False, "k M G"),
    "cal": ("calorie", "calories", True, "k"),
    "mol": ("mole", "moles", True, "µ m k"),
    "\u2126": ("ohm", "ohms", False, "k M m"),  # the ohm sign (typography.clean)
    "eV": ("électronvolt", "électronvolts", False, "k M G T"),
    "o": ("octet", "octets", False, "k K M G T P"),
    "bit": ("bit", "bits", False, "k K M G T"),
    "kb": ("kilobit", "kilobits", False, ""),
    "Mb": ("mégabit", "mégabits", False, ""),
    "Gb": ("gigabit", "gigabits", False, ""),
    "K": ("kelvin", "kelvins", False, ""),
    "dB": ("décibel", "décibels", False, ""),
    "Bq": ("becquerel", "becquerels", False, "k M G"),
    "Sv": ("sievert", "sieverts", False, "µ m"),
    "lm": ("lumen", "lumens", False, ""),
    "lx": ("lux", "lux", False, ""),
    "ha": ("hectare", "hectares", False, ""),
    "t": ("tonne", "tonnes", True, "k M G"),
    "tr": ("tour", "tours", False, ""),
    "ch": ("cheval", "chevaux", False, ""),
    "ppm": ("partie par million", "parties par million", True, ""),
    "ppb": ("partie par milliard", "parties par milliard", True, ""),
    "mmHg": ("millimètre de mercure", "millimètres de mercure", False, ""),
    "Å": ("angström", "angströms", False, ""),
    "octets": ("octet", "octets", False, ""),
    "°K": ("kelvin", "kelvins", False, ""),
}
# Symbols a prefix would make ambiguous or that mean something else; "N",
# "B" and "b" alone are left out too ("48 N" is a latitude, "l'article 3 b").
_NOT_UNITS = frozenset({"Ms", "dl", "Pm", "Pg", "Ps", "Kb", "Kbit", "TB", "Tb"})
_LENGTHS = ("m", "km", "cm", "mm", "dm", "µm", "nm")


def _build() -> dict[str, Unit]:
    table: dict[str, Unit] = {}
    for base, (singular, plural, fem, prefixes) in _BASES.items():
        table[base] = (singular, plural, fem)
        for prefix in prefixes.split():
            symbol = prefix + base
            if symbol not in _NOT_UNITS:
                word = _PREFIXES[prefix]
                table[symbol] = (word + singular, word + plural, fem)
    for symbol in _LENGTHS:
        singular, plural, fem = table[symbol]
        for mark, plain, name in (("²", "2", "carré"), ("³", "3", "cube")):
            spoken = (f"{singular} {name}", f"{plural} {name}s", fem)
            table[symbol + mark] = spoken
            table[symbol + plain] = spoken
    table["s²"] = ("seconde carrée", "secondes carrées", True)
    table["min"] = ("minute", "minutes", True)
    table["h"] = ("heure", "heures", True)
    table["j"] = ("jour", "jours", False)
    table.update(UNITS)  # the tuned forms: "km/h" -> "kilomètre heure", "k" -> "mille"
    return table


UNIT_TABLE: dict[str, Unit] = _build()
# Units that need a space after the number ("300 K", never the "4K" of video).
SPACED_ONLY = frozenset({"K", "A", "o", "J", "V", "j", "h"})

# Denominators of a rate, beyond the unit symbols: "/mois", "/an", "/hab."
_PER_WORDS = {
    "mois": "mois",
    "an": "an",
    "année": "année",
    "jour": "jour",
    "j": "jour",
    "semaine": "semaine",
    "sem.": "semaine",
    "heure": "heure",
    "h": "heure",
    "min": "minute",
    "habitant": "habitant",
    "hab.": "habitant",
    "hab": "habitant",
    "pers.": "personne",
    "pers": "personne",
    "personne": "personne",
    "tête": "tête",
    "unité": "unité",
    "utilisateur": "utilisateur",
    "litre": "litre",
    "kilo": "kilo",
}
_DENOMINATORS: dict[str, str] = {s: u[0] for s, u in UNIT_TABLE.items() if s != "k"}
_DENOMINATORS.update(_PER_WORDS)
_DENOMINATOR_ALT = "|".join(
    re.escape(d) for d in sorted(_DENOMINATORS, key=len, reverse=True)
)
DENOMINATOR = rf"(?:{_DENOMINATOR_ALT})(?![\w²³]|\.\w)"
_PER_RE = re.compile(rf"/(?<=[\w²³.]/)(?P<d>{_DENOMINATOR_ALT})(?![\w²³]|\.\w)")


def per_name(symbol: str) -> str:
    """The singular French name of a rate's denominator ("km²" -> "kilomètre carré")."""
    return _DENOMINATORS.get(symbol, symbol)


# The last word of every unit's and currency's spoken name: a slash after
# one of them, before a plain word, is a rate ("80 €/nuit", "3 kg/portion").
_NAME_PAIRS: list[tuple[str, str]] = [u[:2] for u in UNIT_TABLE.values()]
_NAME_PAIRS += [c[:2] for c in ALL_CURRENCIES.values()]
_SPOKEN_NAMES = frozenset(n.rsplit(" ", 1)[-1] for pair in _NAME_PAIRS for n in pair)
_PER_ANY_WORD_RE = re.compile(r"(?P<w>[^\W\d_]+)/(?P<d>[a-zà-öø-ÿœæ]{2,})(?![\w/])")


def _per_any_word(m: re.Match[str]) -> str:
    if m.group("w") in _SPOKEN_NAMES:
        return f"{m.group('w')} par {m.group('d')}"
    return m.group()


def rates(text: str, _: Pass) -> str:
    """The slash of a rate is "par": "10 €/mois" -> "dix euros par mois",
    "habitants/km²" -> "habitants par kilomètre carré", "80 €/nuit" ->
    "quatre-vingts euros par nuit"."""
    if "/" not in text:
        return text
    text = _PER_RE.sub(lambda m: " par " + per_name(m.group("d")), text)
    if "/" in text:
        text = _PER_ANY_WORD_RE.sub(_per_any_word, text)
    return text


_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(UNIT_TABLE, key=len, reverse=True))
# Symbols of the unit table that are not units of a fraction or a count.
_SCALE_SYMBOLS = frozenset({"k", "Md", "Mds", "Mrd", "hab."})
# "5 L/100 km": a rate per a number of units is "pour" them.
_PER_COUNT = rf"/(?P<pn>[1-9]\d{{0,3}})\s?(?P<pu>{_UNIT_NAMES})"
_UNIT_RE = re.compile(
    rf"(?P<n>{NUM})(?P<sp>\s?)(?P<u>{_UNIT_NAMES})"
    rf"(?:/(?P<per>{DENOMINATOR})|{_PER_COUNT})?"
    r"(?![\w²³]|\.\w)"
)


def _unit(m: re.Match[str]) -> str:
    unit = m.group("u")
    if unit in SPACED_ONLY and not m.group("sp"):
        return m.group()
    singular, plural, fem = UNIT_TABLE[unit]
    amount = m.group("n")
    if len(amount) == 2 and amount[0] == "0":  # "09 s" of a duration: "neuf"
        amount = amount[1]
    value = num.to_float(amount)
    words = num.quantity(amount, feminine_form=fem)
    spoken = f"{words} {plural if num.is_plural(value) else singular}"
    if m.group("per"):
        spoken += " par " + per_name(m.group("per"))
    elif m.group("pu") and m.group("pu") not in _SCALE_SYMBOLS:
        count = int(m.group("pn"))
        per_singular, per_plural, per_fem = UNIT_TABLE[m.group("pu")]
        words = num.feminine(num.cardinal(count)) if per_fem else num.cardinal(count)
        spoken += f" pour {words} {per_plural if count >= 2 else per_singular}"
    elif m.group("pu"):
        return m.group()
    return spoken


def units(text: str, _: Pass) -> str:
    """A number and its unit, in agreement ("1,5 km", "21 t", "3 m³/s")."""
    return _UNIT_RE.sub(_unit, text)


# A fraction of a unit: "3/4 h" -> "trois quarts d'heure", "1/2 l" -> "un
# demi-litre", "1 1/2 h" -> "une heure et demie". Before the dates and the
# times, which would read "le 1/2 l" as the first of February and "3/4 h" as
# four o'clock. Only fractions a unit is cut into (a denominator up to 10, or
# 100 or 1000), so "17/18 h" stays for the ranges.
# An article just before (searched in the 7 characters before the fraction).
_ARTICLE_BEFORE_RE = re.compile(r"(?:^|\s)(?:[lL]e|[lL]a|[uU]ne?|[dDaA]u)\s$")
# The units' names written out, one word each ("1/2 litre", "3/4 heure").
_NAMED_UNITS: dict[str, Unit] = {
    name: unit
    for unit in UNIT_TABLE.values()
    for name in unit[:2]
    if " " not in name and unit[0] not in ("mille", "milliard")
}
_NAMED_UNITS["kilo"] = _NAMED_UNITS["kilos"] = ("kilo", "kilos", False)
_UNIT_WORDS = "|".join(sorted(_NAMED_UNITS, key=len, reverse=True))
_FRACTION_UNIT_RE = re.compile(
    r"(?:(?P<w>[0-9](?<![\w.,/-][0-9])\d{0,2}) )?"
    r"(?P<a>[0-9](?<![\w.,/-][0-9])\d{0,2})/(?P<b>\d{1,4})"
    rf"(?P<sp>\s?)(?:(?P<u>{_UNIT_NAMES})|(?<=\s)(?P<name>{_UNIT_WORDS}))"
    r"(?![\w²³/]|\.\w)"
)


def _fraction_unit(m: re.Match[str]) -> str:
    a, b, unit = int(m.group("a")), m.group("b"), m.group("u")
    if unit in _SCALE_SYMBOLS or (unit in SPACED_ONLY and not m.group("sp")):
        return m.group()
    named = _NAMED_UNITS.get(m.group("name") or "")
    if not (0 < a < int(b) and (int(b) <= 10 or b in ("100", "1000"))):
        return m.group()
    words = num.fraction_words(m.group("a"), b)
    if words is None:
        return m.group()
    singular, plural, fem = named or UNIT_TABLE[unit]
    half = words == "un demi"
    if m.group("w"):
        whole = int(m.group("w"))
        noun = plural if whole >= 2 else singular
        tail = ("demie" if fem else "demi") if half else words
        return f"{num.quantity(m.group('w'), feminine_form=fem)} {noun} et {tail}"
    if half:
        # "le 1/2 l" is "le demi-litre", "1/2 l" alone "un demi-litre"
        article = _ARTICLE_BEFORE_RE.search(m.string[max(0, m.start() - 7) : m.start()])
        return f"{'' if article else 'une ' if fem else 'un '}demi-{singular}"
    de = "d'" if singular[0] in "aeiouyéèêh" else "de "
    return f"{words} {de}{singular}"


def fraction_units(text: str, _: Pass) -> str:
    """A fraction of a unit, or a whole and a fraction: "3/4 h", "1 1/2 l"."""
    if "/" not in text:
        return text
    return _FRACTION_UNIT_RE.sub(_fraction_unit, text)
