"""French number words: cardinals, ordinals, decimals, feminine agreement.

num2words (lang "fr") gives correct cardinals but wrong ordinals for round
numbers ("quatre-vingtsième", "deux centsième") and only the masculine, so
ordinals and the feminine are derived here from its cardinals.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Past this many digits a figure is an identifier (phone, serial), not a
# quantity: it is read digit by digit, which also keeps num2words in range.
MAX_CARDINAL_DIGITS = 15

_DIGITS = (
    "zéro",
    "un",
    "deux",
    "trois",
    "quatre",
    "cinq",
    "six",
    "sept",
    "huit",
    "neuf",
)

# Masculine cardinal ending -> feminine: "un" is the only word that agrees.
_FEMININE_END = re.compile(r"(?<![\w-])un$|(?<=-)un$")


@lru_cache(maxsize=4096)
def cardinal(n: int) -> str:
    """Return the French cardinal for n ("vingt et un", "moins trois")."""
    if n < 0:
        return "moins " + cardinal(-n)
    if len(str(n)) > MAX_CARDINAL_DIGITS:
        return digits(str(n))
    from num2words import num2words  # lazy: only documents with numbers pay

    return str(num2words(n, lang="fr"))


def digits(text: str) -> str:
    """Read a string of digits one by one ("007" -> "zéro zéro sept")."""
    return " ".join(_DIGITS[int(c)] for c in text if c.isdigit())


def integer(text: str) -> str:
    """Read a written integer: leading zeros and very long runs digit by digit."""
    text = text.lstrip("+")
    if not text.isdigit() or not text.isascii():
        return text
    if (len(text) > 1 and text[0] == "0") or len(text) > MAX_CARDINAL_DIGITS:
        return digits(text)
    return cardinal(int(text))


def feminine(words: str) -> str:
    """Make a cardinal agree with a feminine noun ("vingt et un" -> "vingt et une")."""
    return _FEMININE_END.sub("une", words)


@lru_cache(maxsize=1024)
def ordinal(n: int, *, feminine_form: bool = False) -> str:
    """Return the French ordinal for n ("premier", "quatre-vingtième")."""
    if n == 1:
        return "première" if feminine_form else "premier"
    words = cardinal(n)
    if len(str(n)) > MAX_CARDINAL_DIGITS or n <= 0:
        return words
    # "un million" -> "millionième", not "un millionième"
    if words.startswith("un ") and n >= 1_000_000:
        words = words[3:]
    head, sep, last = words.rpartition(" ")
    prefix, dash, last = last.rpartition("-")
    stem = last
    if stem in ("vingts", "cents", "millions", "milliards"):
        stem = stem[:-1]
    if stem == "cinq":
        stem = "cinqu"
    elif stem == "neuf":
        stem = "neuv"
    elif stem.endswith("e"):
        stem = stem[:-1]
    return f"{head}{sep}{prefix}{dash}{stem}ième"


def decimal(integer_part: str, fraction_part: str, separator: str = "virgule") -> str:
    """Read "3,14" as "trois virgule quatorze" and "0,05" as "zéro virgule zéro cinq".

    A fraction of more than three digits is read digit by digit, as people do.
    """
    left = integer(integer_part) if integer_part else "zéro"
    if len(fraction_part) > 3:
        right = digits(fraction_part)
    else:
        zeros = len(fraction_part) - len(fraction_part.lstrip("0"))
        rest = fraction_part.lstrip("0")
        right = " ".join(["zéro"] * zeros + ([cardinal(int(rest))] if rest else []))
    return f"{left} {separator} {right}"


def to_float(text: str) -> float:
    """The value of a written number with a decimal comma or point."""
    return float(text.replace(",", ".")) if text else 0.0


def quantity(text: str, *, feminine_form: bool = False) -> str:
    """Read a written number with an optional sign and decimal comma or point,
    as the quantity of a noun ("21" -> "vingt et une" before "tonnes")."""
    text = text.strip()
    negative = text.startswith(("-", "−"))
    text = text.lstrip("-−+")
    if "," in text or "." in text:
        sep = "," if "," in text else "."
        left, _, right = text.partition(sep)
        words = decimal(left, right)
        if feminine_form and left and int(left) % 10 == 1 and int(left) != 11:
            head, _, rest = words.partition(" virgule ")
            words = feminine(head) + " virgule " + rest
    else:
        words = integer(text)
        if feminine_form:
            words = feminine(words)
    return ("moins " + words) if negative else words


def is_plural(value: float) -> bool:
    """Return True when French puts a noun after this quantity in the plural (≥ 2)."""
    return abs(value) >= 2


_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(text: str) -> int | None:
    """Return the value of a well-formed Roman numeral, or None."""
    if not text or not _ROMAN.fullmatch(text):
        return None
    total = 0
    for i, char in enumerate(text):
        value = _ROMAN_VALUES[char]
        if i + 1 < len(text) and _ROMAN_VALUES[text[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


_DENOMINATORS = {
    "2": ("demi", "demis"),
    "3": ("tiers", "tiers"),
    "4": ("quart", "quarts"),
}


def fraction_words(a: str, b: str) -> str | None:
    """Read a/b as French does ("un dixième", "trois centièmes", "deux tiers"),
    or None where it is a ratio ("24/7": "vingt-quatre sur sept")."""
    if a[:1] == "0" or b[:1] == "0" or len(a) > 6 or len(b) > 6:
        return None
    numerator, denominator = int(a), int(b)
    if denominator < 2 or (numerator >= denominator and denominator > 4):
        return None
    plural = numerator >= 2
    if b in _DENOMINATORS:
        noun = _DENOMINATORS[b][plural]
    else:
        noun = ordinal(denominator) + ("s" if plural else "")
    return f"{cardinal(numerator)} {noun}"
