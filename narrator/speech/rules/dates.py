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
_MONTH_YEAR_RE = re.compile(r"(?P<m>[0-9](?<![\w/.,-][0-9])\d?)/(?P<y>\d{4})(?![\w/])")
# "14/07": a two-digit month makes a day and month, "3/4" stays a fraction
_DAY_MONTH_RE = re.compile(
    r"(?P<d>[0-9](?<![\w/.,-][0-9])\d?)/(?P<m>[01]\d)(?![\w/]|[.,]\d)"
)
_TIME_RE = re.compile(
    r"(?P<h>[0-9](?<![\w.,:][0-9])\d{0,2})\s?h(?:\s?(?P<m>[0-5]\d))?(?!\w)"
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
    return f"{MONTHS[mo - 1]} {num.cardinal(y)}"


def _day_month(m: re.Match[str]) -> str:
    d, mo = int(m.group("d")), int(m.group("m"))
    if not (1 <= d <= 31 and 1 <= mo <= 12):
        return m.group()
    return f"{_day(d)} {MONTHS[mo - 1]}"


def dates(text: str, _: Pass) -> str:
    """Day, month and year (d/m/y, d.m.y, ISO), month and year, day and month."""
    if "/" in text or "." in text:
        text = _DATE_RE.sub(_full, text)
    if "-" in text:
        text = _ISO_DATE_RE.sub(_full, text)
    if "/" in text:
        text = _MONTH_YEAR_RE.sub(_month_year, text)
        text = _DAY_MONTH_RE.sub(_day_month, text)
    return text


def _time(m: re.Match[str]) -> str:
    hours = m.group("h") or m.group("h2")
    minutes = m.group("m") if m.group("h") else m.group("m2")
    h = int(hours)
    if (minutes is not None and h > 24) or (m.group("h2") and h > 24):
        return m.group()
    words = num.feminine(num.cardinal(h)) + (" heures" if h >= 2 else " heure")
    if minutes and int(minutes):
        words += " " + num.feminine(num.cardinal(int(minutes)))
    return words


def times(text: str, _: Pass) -> str:
    """Times of day: "8h", "8 h 30", "20:15" (hours up to 24)."""
    return _TIME_RE.sub(_time, text)
