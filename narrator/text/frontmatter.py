"""Front matter: the ``key: value`` lines between ``---`` fences atop a summary.

Only a flat subset of YAML is read (plain, quoted and list values), by hand,
so that no YAML library is needed and a typo is reported with its line
instead of silently becoming a value. The keys land in `Document.meta`;
``title`` names the document.
"""

from __future__ import annotations

import re

from narrator.errors import SummaryError

__all__ = ["front_matter_end", "parse_front_matter", "split_front_matter"]


_FM_FENCE = re.compile(r"^---[ \t]*$")
_FM_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_FM_KEY = re.compile(r"^([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")
_FM_ITEM = re.compile(r"^[ \t]+-[ \t]+(.*?)[ \t]*$|^-[ \t]+(.*?)[ \t]*$")
_DQ_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "/": "/", "0": ""}


def front_matter_end(lines: list[str]) -> int | None:
    """Return the index of the closing fence if `lines` open with front matter.

    A first line ``---`` opens front matter only when the next non-blank line
    looks like ``key:``; otherwise it is a Markdown horizontal rule.

    Raises:
        SummaryError: the front matter is never closed (path added by caller).
    """
    if not lines or not _FM_FENCE.match(lines[0]):
        return None
    for line in lines[1:]:
        if line.strip():
            if not _FM_KEY.match(line):
                return None
            break
    else:
        return None
    for index in range(1, len(lines)):
        if _FM_END.match(lines[index]):
            return index
    raise SummaryError(
        "the front matter opened here is never closed; add a line '---' after "
        "its last 'key: value' line.",
        line=1,
    )


def _fm_value(raw: str, line: int) -> str:
    """Unquote one front matter value (YAML flow scalar subset)."""
    raw = raw.strip()
    if raw.startswith('"'):
        out: list[str] = []
        i = 1
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                nxt = raw[i + 1]
                if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
                    out.append(chr(int(raw[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                if nxt not in _DQ_ESCAPES:
                    raise SummaryError(
                        f"front matter value has an unknown escape '\\{nxt}'; "
                        "write the text without it or use single quotes.",
                        line=line,
                    )
                out.append(_DQ_ESCAPES[nxt])
                i += 2
                continue
            if ch == '"':
                rest = raw[i + 1 :].strip()
                if rest and not rest.startswith("#"):
                    break
                return "".join(out)
            out.append(ch)
            i += 1
        raise SummaryError(
            "front matter value has an unclosed or misplaced double quote; close "
            "the quote at the end of the value.",
            line=line,
        )
    if raw.startswith("'"):
        match = re.fullmatch(r"'((?:[^']|'')*)'[ \t]*(?:#.*)?", raw)
        if match is None:
            raise SummaryError(
                "front matter value has an unclosed single quote; close it, and "
                "write a quote inside the value as ''.",
                line=line,
            )
        return match.group(1).replace("''", "'")
    # A plain scalar ends at " #" (a YAML comment).
    return re.sub(r"[ \t]+#.*$", "", raw).strip()


def parse_front_matter(lines: list[str], *, first_line: int = 2) -> dict[str, str]:
    """Parse flat ``key: value`` front matter lines into a dict of str.

    Keys are lower-cased. Values may be plain, 'single' or "double" quoted;
    a key with no value followed by ``- item`` lines gets its items joined
    with ", ". Blank lines and ``# comments`` are ignored. Nothing else is
    accepted, so a typo is reported instead of silently dropped.

    Raises:
        SummaryError: a line is not ``key: value`` or a key repeats (the
            error names the line; the caller adds the path).
    """
    meta: dict[str, str] = {}
    items: dict[str, list[str]] = {}
    last_key: str | None = None
    for offset, line in enumerate(lines):
        number = first_line + offset
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _FM_ITEM.match(line)
        if item is not None and last_key is not None and not meta[last_key]:
            value = item.group(1) if item.group(1) is not None else item.group(2)
            items.setdefault(last_key, []).append(_fm_value(value or "", number))
            continue
        match = _FM_KEY.match(line)
        if match is None:
            raise SummaryError(
                "front matter line is not 'key: value'; fix it, quote the value, "
                "or remove the line.",
                line=number,
            )
        key = match.group(1).lower()
        if key in meta:
            raise SummaryError(
                f'front matter key "{key}" appears twice; keep only one.',
                line=number,
            )
        meta[key] = _fm_value(match.group(2) or "", number)
        last_key = key
    for key, values in items.items():
        meta[key] = ", ".join(values)
    return meta


def split_front_matter(lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    """Return the front matter, the body lines and the body's first line number.

    The line number is 1-based, so that errors in the body name the line of
    the file, front matter included.

    Raises:
        SummaryError: malformed front matter (the caller adds the path).
    """
    meta: dict[str, str] = {}
    body_first = 0
    fm_end = front_matter_end(lines)
    if fm_end is not None:
        meta = parse_front_matter(lines[1:fm_end], first_line=2)
        body_first = fm_end + 1
    return meta, lines[body_first:], body_first + 1
