"""Markdown lines -> heading and paragraph blocks.

`looks_like_markdown` decides whether a body is read as Markdown at all (an
ATX or setext heading, a code fence or a table gives it away). Then
`markdown_blocks` scans it one construct at a time: code is skipped (it is
not meant to be spoken), tables become one sentence per row, blockquotes and
footnotes are read like the text around them. Inline syntax stays in the
blocks; `narrator.text.inline` strips it later.
"""

from __future__ import annotations

import re

from narrator.errors import SummaryError
from narrator.text.blocks import PLAIN_BULLET, Block, as_sentence, is_speakable
from narrator.text.inline import reference_label

__all__ = ["blank_multiline_html", "looks_like_markdown", "markdown_blocks"]


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_ATX_ATTRS = re.compile(r"[ \t]*\{[#.][^{}]*\}$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_CONTAINER = re.compile(r"^ {0,3}:{3,}.*$")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?")
_MD_ITEM = re.compile(r"^([ \t]*)(?:[-*+•]|\d{1,9}[.)])(?:[ \t]+|$)(.*)$")
_TASK = re.compile(r"^\[[ xX]\][ \t]+")
_REF_DEF = re.compile(r"^ {0,3}\[([^\]^][^\]]*)\]:[ \t]*\S.*$")
_FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^[^\]]+\]:[ \t]*(.*)$")
_TABLE_SEP = re.compile(
    r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$"
)
# An HTML heading element written as a block: <h2>Titre</h2>, possibly over lines.
_HTML_HEADING_OPEN = re.compile(r"^ {0,3}<h([1-6])(?:\s[^<>]*)?>", re.I)
_HTML_ONLY = re.compile(r"^[ \t]*(?:<[^<>]+>[ \t]*)+$")
_MULTILINE_HTML = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.S | re.I)


def _blank_out(match: re.Match[str]) -> str:
    """Replace a multi-line construct by as many newlines, keeping line numbers.

    A comment on one line stays for the inline reader to take out, so that a
    heading made only of one (``## <!-- x -->``) is still a heading.
    """
    found = match.group(0)
    if found.startswith("<!--") and "\n" not in found:
        return found
    return "\n" * found.count("\n") + " "


def blank_multiline_html(text: str) -> str:
    """Blank out multi-line HTML comments and script/style elements.

    Their line breaks are kept, so line numbers stay those of the file and no
    line-by-line reader (Markdown or plain text) sees a piece of them.
    """
    return _MULTILINE_HTML.sub(_blank_out, text)


def _split_row(line: str) -> list[str]:
    row = line.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _is_table_start(lines: list[str], index: int) -> bool:
    if index + 1 >= len(lines) or "|" not in lines[index]:
        return False
    sep = lines[index + 1]
    return (
        "-" in sep
        and ("|" in sep or "|" in lines[index].strip()[1:-1])
        and bool(_TABLE_SEP.match(sep))
    )


def markdown_blocks(
    lines: list[str], first: int, *, html: bool = True
) -> tuple[list[Block], set[str]]:
    """Split Markdown body lines into heading and paragraph blocks.

    `first` is the 1-based number of ``lines[0]``. Also returns the labels of
    the reference definitions, which decide whether ``[label]`` is a link.
    Without `html` (a text file using Markdown's structure), tags are text:
    an ``<h2>`` line is not a heading and a line of tags does not end a
    paragraph.

    Raises:
        SummaryError: a code fence is never closed (the caller adds the path).
    """
    return _MarkdownScanner(lines, first, html=html).scan()


def _unquote(line: str) -> str:
    """Drop blockquote markers: a quote is read like the text around it."""
    while _QUOTE.match(line):
        line = _QUOTE.sub("", line, count=1)
    return line


def _fence_close(lines: list[str], start: int, marker: str) -> int | None:
    """Index of the line from `start` on that closes a fence opened by `marker`.

    The closer uses the same character, at least as many times, and may sit
    in a blockquote like its opener. None when no line closes the fence.
    """
    closer = re.compile(
        rf"^(?: {{0,3}}>[ \t]?)* {{0,3}}{re.escape(marker[0])}"
        rf"{{{len(marker)},}}[ \t]*$"
    )
    end = start
    while end < len(lines) and not closer.match(lines[end]):
        end += 1
    return end if end < len(lines) else None


class _MarkdownScanner:
    """Read Markdown lines one construct at a time, collecting blocks.

    Each construct method looks at the line at `index` (blockquote markers
    already dropped) and either returns None, leaving everything untouched,
    or consumes it and returns the index of the next unread line. They are
    tried in the order of `_step`, which is what gives one construct
    precedence over another (a fence over a list item, a table over text).
    """

    def __init__(self, lines: list[str], first: int, *, html: bool = True) -> None:
        self.lines = lines
        self.html = html
        self.first = first  # 1-based number of lines[0]
        self.blocks: list[Block] = []
        self.references: set[str] = set()
        self.para: list[str] = []  # lines of the open paragraph
        self.para_line = 0
        self.para_bullet = False

    def scan(self) -> tuple[list[Block], set[str]]:
        index = 0
        while index < len(self.lines):
            index = self._step(index)
        self._flush()
        return self.blocks, self.references

    def _step(self, index: int) -> int:
        line = _unquote(self.lines[index].expandtabs(4))
        constructs = (
            self._fence,
            self._html_heading,  # before _blank: "<h2><br></h2>" is only tags
            self._blank,
            self._atx_heading,
            self._setext_heading,
            self._rule,
            self._reference,
            self._footnote,
            self._table,
            self._list_item,
        )
        for construct in constructs:
            after = construct(index, line)
            if after is not None:
                return after
        if self.para:
            self.para.append(line.strip())
        else:
            self._start(line.strip(), self.first + index, False)
        return index + 1

    def _flush(self) -> None:
        if self.para:
            self.blocks.append(
                Block(
                    "para", " ".join(self.para), self.para_line, bullet=self.para_bullet
                )
            )
        self.para = []
        self.para_bullet = False

    def _start(self, text: str, line: int, bullet: bool) -> None:
        self._flush()
        self.para = [text]
        self.para_line = line
        self.para_bullet = bullet

    def _fence(self, index: int, line: str) -> int | None:
        """Skip a code block: code is not meant to be spoken.

        Raises:
            SummaryError: the fence is never closed (it would hide the rest).
        """
        fence = _FENCE.match(line)
        # A backtick in a backtick fence's info string makes it inline code.
        if not fence or (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            return None
        self._flush()
        marker = fence.group(1)
        end = _fence_close(self.lines, index + 1, marker)
        if end is None:
            raise SummaryError(
                f"the code block opened here with {marker} is never closed; "
                f"add a closing {marker} line.",
                line=self.first + index,
            )
        return end + 1

    def _blank(self, index: int, line: str) -> int | None:
        """End the paragraph at a blank line, a ``:::`` container or bare HTML."""
        bare_html = self.html and _HTML_ONLY.match(line)
        if line.strip() and not _CONTAINER.match(line) and not bare_html:
            return None
        self._flush()
        return index + 1

    def _atx_heading(self, index: int, line: str) -> int | None:
        atx = _ATX.match(line)
        if not atx:
            return None
        self._flush()
        title = _ATX_ATTRS.sub("", (atx.group(2) or "").strip())
        if title:
            level = len(atx.group(1))
            self.blocks.append(Block("heading", title, self.first + index, level=level))
        return index + 1

    def _html_heading(self, index: int, line: str) -> int | None:
        """An ``<h1>``-``<h6>`` element opens a section as a ``#`` heading does:
        CommonMark keeps raw HTML as markup, and a reader of the rendered page
        sees a heading (the inline reader takes the tags out of its title)."""
        found = _HTML_HEADING_OPEN.match(line) if self.html else None
        if not found:
            return None
        close = re.compile(rf"</h{found.group(1)}\s*>", re.I)
        end, parts = index, [line[found.end() :]]
        while not close.search(parts[-1]):
            end += 1  # an element over lines ends at its closing tag or a blank
            if end >= len(self.lines) or not self.lines[end].strip():
                return None
            parts.append(self.lines[end])
        title = close.split(" ".join(p.strip() for p in parts), 1)[0]
        self._flush()
        self.blocks.append(
            Block(
                "heading", title.strip(), self.first + index, level=int(found.group(1))
            )
        )
        return end + 1

    def _setext_heading(self, index: int, line: str) -> int | None:
        """Turn the open paragraph into a heading underlined by ``===``/``---``."""
        setext = _SETEXT.match(line)
        if not (setext and self.para and not self.para_bullet):
            return None
        title = " ".join(self.para)
        level = 1 if setext.group(1)[0] == "=" else 2
        self.blocks.append(Block("heading", title, self.para_line, level=level))
        self.para = []
        return index + 1

    def _rule(self, index: int, line: str) -> int | None:
        if not _HR.match(line):
            return None
        self._flush()
        return index + 1

    def _reference(self, index: int, line: str) -> int | None:
        """Record a ``[label]: url`` definition; it is never spoken."""
        ref = _REF_DEF.match(line)
        if not ref or self.para:
            return None
        self.references.add(reference_label(ref.group(1)))
        return index + 1

    def _footnote(self, index: int, line: str) -> int | None:
        """Read a footnote's text where it is defined, as a paragraph."""
        note = _FOOTNOTE_DEF.match(line)
        if not note:
            return None
        self._start(note.group(1), self.first + index, False)
        return index + 1

    def _table(self, index: int, line: str) -> int | None:
        """Read each table row as one sentence of its non-empty cells."""
        lines = self.lines
        if self.para or not _is_table_start(lines, index):
            return None
        self._flush()
        rows = [(self.first + index, lines[index])]
        index += 2  # the header row and the separator
        while index < len(lines) and "|" in lines[index] and lines[index].strip():
            rows.append((self.first + index, lines[index]))
            index += 1
        for row_line, row in rows:
            cells = [c for c in _split_row(row) if c]
            if cells:
                self.blocks.append(
                    Block("para", as_sentence(", ".join(cells)), row_line)
                )
        return index

    def _list_item(self, index: int, line: str) -> int | None:
        """Open a bullet paragraph; an empty marker inside a paragraph is text."""
        item = _MD_ITEM.match(line)
        if not (item and (item.group(2).strip() or not self.para)):
            return None
        self._start(_TASK.sub("", item.group(2)), self.first + index, True)
        return index + 1


def looks_like_markdown(lines: list[str], *, html: bool = True) -> bool:
    """Say whether explicit Markdown structure is present (with `html`, an
    HTML heading element counts)."""
    previous = ""
    for index, line in enumerate(lines):
        if _ATX.match(line) and line.lstrip("# \t"):
            return True
        if _FENCE.match(line) or (html and _HTML_HEADING_OPEN.match(line)):
            return True
        if (
            _SETEXT.match(line)
            and previous.strip()
            and is_speakable(previous)
            and not PLAIN_BULLET.match(previous)
            and len(line.strip()) >= 2
        ):
            return True
        if _is_table_start(lines, index):
            return True
        previous = line
    return False
