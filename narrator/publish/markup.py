"""How values become page text: HTML escaping and the formats the pages show.

Every text that comes from a document is untrusted: ``escape`` is the one
way it reaches a page, in text and in quoted attributes alike. The other
helpers format times and lengths the same way on every page. They import no
narrator module, so the page modules above them stay shallow.
"""

from __future__ import annotations

import html
import re

# C0 controls other than tab and newlines are not allowed in HTML text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: str | None) -> str:
    """Escape text for HTML content and quoted attributes alike."""
    return html.escape(_CONTROL.sub("", text or ""), quote=True)


def paragraphs(text: str, css_class: str) -> str:
    """Return ``text`` as escaped paragraphs (blank lines) and line breaks."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text or "") if b.strip()]
    if not blocks:
        return ""
    inner = "".join(
        "<p>"
        + "<br>".join(escape(line.strip()) for line in block.splitlines())
        + "</p>"
        for block in blocks
    )
    return f'<div class="{css_class}">{inner}</div>'


def teaser(text: str, limit: int = 220) -> str:
    """Return ``text`` on one line, cut at a word before ``limit`` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def title_or(title: str, fallback: str) -> str:
    """Return the title, or ``fallback`` when it is blank."""
    return title.strip() or fallback


def same_text(a: str, b: str) -> bool:
    """Tell whether two non-empty texts read the same (spacing and case aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold() != ""


def seconds_attr(seconds: float) -> str:
    """Format seconds for ``data-start``/``data-end``: at most 3 decimals."""
    text = f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def clock(seconds: float) -> str:
    """Format a moment as a clock: ``MM:SS``, or ``H:MM:SS`` past an hour."""
    whole = int(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def duration(seconds: float) -> str:
    """Format a length in words: ``1 h 05 min``, ``4 min 07 s``, ``12 s``."""
    whole = round(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


__all__ = [
    "clock",
    "duration",
    "escape",
    "paragraphs",
    "same_text",
    "seconds_attr",
    "teaser",
    "title_or",
]
