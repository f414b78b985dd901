"""Dates and times: "14/07/1789" -> "quatorze juillet mille sept cent
quatre-vingt-neuf", "2024-03-01", "03/2024", "14/07"; "8h30", "20:15".

Every form checks its day, month and hour are in range; anything else is left
for the number rules ("3/4" stays a fraction).
"""

from __future__ import annotations

import re

from narrator.speech import numbers as num
from narrator.speech.rules.base import Pass
from narrator.speech.rules.tables import MONTHS

_DATE_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)[/.](?P<m>\d{1,2})[/.](?P<y>\d{4}|\d{2})(?![\w/]|\.\d)"
)
_ISO_DATE_RE = re.compile(
    r"(?P<y>[0-9](?<![\w/.-][0-9])\d{3})-(?P<m>\d{2})-(?P<d>\d{2})(?![\w/]|-\d)"
)
_DMY_DASH_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)-(?P<m>\d{1,2})-(?P<y>\d{4})(?![\w/]|-\d)"
)
_MONTH_YEAR_RE = re.compile(
    r"(?P<m>[0-9](?<![\w/.,-][0-9])\d?)(?P<sep>[/.])(?P<y>\d{4})(?![\w/]|[.,]\d)"
)
# "14/07", "le 5/11", "le 17.06": a day and a month where the writing (a
# leading zero) or the words before ("le", "du", a weekday) call for a date;
# "5/11" alone, "1/10" stay fractions and "3.14" a decimal.
_DAY_MONTH_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)(?P<sep>[/.])(?P<m>\d\d?)(?![\w/]|[.,]\d)"
)
_MONTH_ALT = "|".join(MONTHS) + "|fév\\.|sept\\.|oct\\.|nov\\.|déc\\."
# "les 17/18 juin", "les 8-10 juillet": days before a month's name.
_DAY_RANGE_RE = re.compile(
    r"(?P<a>[0-9](?<![\w/.,-][0-9])\d?)\s?[/-]\s?(?P<b>\d\d?)"
    rf"(?=\s+(?:{_MONTH_ALT})(?!\w))"
)
# "le 1 mars": the first of a month is "premier".
# "du 1 au 3 mars", "les 1 et 2 juin": so is the first day of a range.
_FIRST_RE = re.compile(
    rf"1(?<![\w.,/-]1)(?=\s+(?:(?:au|et|à)\s+\d\d?\s+)?(?:{_MONTH_ALT})(?!\w))"
)
_DATE_CONTEXT_RE = re.compile(
    r"(?:^|[\s(«])(?:le|Le|du|Du|au|Au|jusqu'au|lundi|mardi|mercredi|jeudi|"
    r"vendredi|samedi|dimanche|Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|"
    r"Dimanche)\s+$"
)
# Decades: "les années 80", "les 80s", "les 1960's".
_DECADE_RE = re.compile(
    r"(?<=années )(?P<n>[1-9]0)(?:\s?[-–/]\s?(?P<to>[1-9]0))?(?![\w,.-]\d|\w)"
)
_ENGLISH_DECADE_RE = re.compile(
    r"(?P<w>[lLdD]es|[aA]ux)\s+'?(?P<n>(?:1[0-9]|20)?[0-9]0)'?s(?!\w)"
)
_FRACTION_AFTER_RE = re.compile(r"\s+(?:des|de|du|d')")
_TIME_RE = re.compile(
    r"(?P<h>[0-9](?<![\w.,:][0-9])\d{0,2})\s?h(?:\s?(?P<m>[0-5]\d)(?P<min>\s?min)?)?(?!\w)"
    r"|(?P<h2>[0-9](?<![\w.,:][0-9])\d?):(?P<m2>[0-5]\d)(?![\w:]|[.,]\d)"
)


def _day(d: int) -> str:
    return "premier" if d == 1 else num.cardinal(d)


def _full(m: re.Match[str]) -> str:
    d, mo, y = int(m.group("d")), int(m.group("m")), m.group("y")
    if not (1 <= d <= 31 and 1 <= mo <= 12):
        return m.group()
    return f"{_day(d)} {MONTHS[mo - 1]} {num.integer(y.lstrip('0') or '0')}"


def _month_year(m: re.Match[str]) -> str:
    mo, y = int(m.group("m")), int(m.group("y"))
    if not (1 <= mo <= 12 and 1000 <= y <= 2999):
        return m.group()
    short = len(m.group("m")) == 1
    if (short or m.group("sep") == ".") and not 1500 <= y <= 2199:
        return m.group()  # "1/1000" is a thousandth, "10.5000" a decimal
    if short and m.group("sep") == ".":
        return m.group()  # "3.2024" is a decimal; "03.2024" a month
    return f"{MONTHS[mo - 1]} {num.cardinal(y)}"


def _day_month(m: re.Match[str]) -> str:
    day, month = m.group("d"), m.group("m")
    d, mo = int(day), int(month)
    if not (1 <= d <= 31 and 1 <= mo <= 12):
        return m.group()
    # a leading zero marks a date after a slash; after a dot, "3.05" is a decimal
    written_as_date = m.group("sep") == "/" and (
        (len(month) == 2 and month[0] == "0") or (len(day) == 2 and day[0] == "0")
    )
    if not written_as_date:
        before = m.string[max(0, m.start() - 12) : m.start()]
        if not _DATE_CONTEXT_RE.search(before):
            return m.group()
        if _FRACTION_AFTER_RE.match(m.string, m.end()):
            return m.group()  # "le 1/3 des votants"
    return f"{_day(d)} {MONTHS[mo - 1]}"


def _decade_words(n: str) -> str:
    # "les années quatre-vingt": a decade's name is invariable
    words = num.cardinal(int(n))
    return words[:-1] if words.endswith("quatre-vingts") else words


def _decade(m: re.Match[str]) -> str:
    words = _decade_words(m.group("n"))
    if m.group("to"):  # "les années 70-80": "soixante-dix à quatre-vingt"
        words += " à " + _decade_words(m.group("to"))
    return words


def decades(text: str, _: Pass) -> str:
    """Decades: "les années 80" -> "les années quatre-vingt", "les 90s" ->
    "les années quatre-vingt-dix"."""
    if "années " in text:
        text = _DECADE_RE.sub(_decade, text)
    if "0s" in text or "0's" in text:
        text = _ENGLISH_DECADE_RE.sub(
            lambda m: f"{m.group('w')} années {_decade_words(m.group('n'))}", text
        )
    return text


def _day_range(m: re.Match[str]) -> str:
    a, b = int(m.group("a")), int(m.group("b"))
    if not (1 <= a < b <= 31):
        return m.group()
    link = "et" if b == a + 1 else "au"
    return f"{_day(a)} {link} {_day(b)}"


def dates(text: str, _: Pass) -> str:
    """Day, month and year (d/m/y, d.m.y, d-m-y, ISO), month and year, days
    before a month's name, day and month."""
    if "/" in text or "." in text:
        text = _DATE_RE.sub(_full, text)
    if "-" in text:
        text = _ISO_DATE_RE.sub(_full, text)
        text = _DMY_DASH_RE.sub(_full, text)
    if "/" in text or "-" in text:
        text = _DAY_RANGE_RE.sub(_day_range, text)
    if "/" in text or "." in text:
        text = _MONTH_YEAR_RE.sub(_month_year, text)
    if "/" in text or "." in text:
        text = _DAY_MONTH_RE.sub(_day_month, text)
    if "1" in text:
        text = _FIRST_RE.sub("premier", text)
    return decades(text, _)


def _time(m: re.Match[str]) -> str:
    hours = m.group("h") or m.group("h2")
    minutes = m.group("m") if m.group("h") else m.group("m2")
    h = int(hours)
    if (minutes is not None and h > 24) or (m.group("h2") and h > 24):
        return m.group()
    words = num.feminine(num.cardinal(h)) + (" heures" if h >= 2 else " heure")
    if minutes and int(minutes):
        words += " " + num.feminine(num.cardinal(int(minutes)))
        if m.group("min"):  # a duration: "2 h 01 min" -> "deux heures une minute"
            words += " minutes" if int(minutes) >= 2 else " minute"
    return words


def times(text: str, _: Pass) -> str:
    """Times of day: "8h", "8 h 30", "20:15" (hours up to 24)."""
    return _TIME_RE.sub(_time, text)
