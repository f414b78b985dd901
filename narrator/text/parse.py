"""Turn the bytes of a summary document into a `Document` of titled sections.

Two layouts are understood, and neither is ever read aloud as markup:

* **Markdown**, recognised by YAML front matter, an ATX (``#``) or setext
  (``===``/``---``) heading, a code fence or a table. Headings are explicit;
  inline syntax (emphasis, links, images, HTML, entities, footnote markers) is
  stripped to the words a listener should hear.
* **Plain text**, anything else. A heading is a short line without final
  sentence punctuation that is followed by body text (see `_heading_shape`).
  Paragraphs are either one per line or separated by blank lines with
  hard-wrapped lines joined.

The parser loses no words of plain text: every word of the input lands in a
section title, a paragraph or `Document.title`. Only Markdown syntax (and code
blocks, which are not meant to be spoken) is dropped.

Nothing here opens a file: `decode_bytes` takes bytes, `parse_summary` a str.
"""

from __future__ import annotations

import codecs
import encodings.cp1252
import html
import logging
import re
import unicodedata
from dataclasses import dataclass

from narrator.errors import SummaryError
from narrator.model import Document, Paragraph, Section

__all__ = [
    "TITLE_WORDS",
    "decode_bytes",
    "first_words",
    "normalize_text",
    "parse_front_matter",
    "parse_summary",
    "strip_inline_markdown",
]

logger = logging.getLogger(__name__)

# A section without a heading is named in the chapter list by its first words.
TITLE_WORDS = 6

# Plain-text heading limits (the seed's longest heading has 54 chars, 9 words).
MAX_HEADING_CHARS = 100
MAX_HEADING_WORDS = 14
# Lines shorter than this are never taken for hard-wrapped text.
MIN_WRAP_WIDTH = 30
# Above this share of control characters a "text" file is really binary.
MAX_CONTROL_SHARE = 0.05

# ---------------------------------------------------------------------------
# Bytes -> text
# ---------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 LE must come before UTF-16 LE: its BOM starts with FF FE.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SAVE_AS_TEXT = "save the summary as plain text (.txt) or Markdown (.md) and pass that"

# cp1252 with the five bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
# decoded as Latin-1, so any byte string decodes.
_CP1252_TABLE = "".join(
    chr(i) if ch == "\ufffe" else ch
    for i, ch in enumerate(encodings.cp1252.decoding_table)
)


def _binary_kind(data: bytes) -> str | None:
    """Name the binary format `data` starts with, or None if it is not known."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    if head.startswith(b"%PDF-"):
        return "a PDF document"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "a ZIP archive (a .docx or .odt document?)"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "a legacy Microsoft Office document (.doc)"
    if head.startswith(b"{\\rtf"):
        return "an RTF document"
    if head.startswith(b"ID3") and len(head) > 4 and head[3] in (2, 3, 4):
        return "an MP3 audio file"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "an MP3 audio file"  # MPEG audio frame sync, no ID3 tag
    if head.startswith(b"RIFF") and head[8:12] in (b"WAVE", b"AVI ", b"WEBP"):
        return "a RIFF file (WAV audio, AVI video or WebP image)"
    if head.startswith(b"OggS"):
        return "an Ogg audio file"
    if head.startswith(b"fLaC"):
        return "a FLAC audio file"
    if head[4:8] == b"ftyp":
        return "an MP4/M4A media file"
    if head.startswith(b"\x7fELF"):
        return "an ELF executable"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    return None


def _bomless_utf16(data: bytes) -> str | None:
    """Guess UTF-16 without a BOM from NULs that sit on one byte parity only."""
    if len(data) < 4 or len(data) % 2:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) // 2
    if odd >= 0.3 * half and even == 0:
        return "utf-16-le"
    if even >= 0.3 * half and odd == 0:
        return "utf-16-be"
    return None


def normalize_text(text: str) -> str:
    """Return `text` with LF newlines, no BOM and Unicode NFC composition.

    Line numbers are kept: CRLF and a lone CR each count as one line break.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = text.removeprefix("\ufeff")
    return unicodedata.normalize("NFC", text)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in "\n\t"


def decode_bytes(data: bytes, *, path: str = "<input>") -> tuple[str, str]:
    """Decode a summary file's bytes, saying which encoding was used.

    The order is: a byte order mark (UTF-32, UTF-8, UTF-16), UTF-16 without a
    BOM when the NUL bytes give it away, strict UTF-8, then cp1252 (a Latin-1
    superset; the five bytes cp1252 leaves undefined are read as Latin-1).
    Newlines become LF, the BOM is dropped and the text is composed (NFC).
    Stray control characters (a DOS end-of-file byte, a form feed) become
    spaces. The encoding name is a Python codec name: ``utf-8``,
    ``utf-8-sig``, ``utf-16-le``, ``utf-16-be``, ``utf-32-le``, ``utf-32-be``
    or ``cp1252``.

    Raises:
        SummaryError: the file is empty, holds only whitespace, or is binary
            (a known binary format, NUL bytes, many control characters).
    """
    if not data:
        raise SummaryError(
            "the file is empty; write the summary in it (plain text or Markdown) "
            "and try again.",
            path=path,
        )
    text, encoding = _decode(data, path)
    text = _blank_controls(normalize_text(text), path)
    if not text.strip():
        raise SummaryError(
            "the file contains only blank space; write the summary in it and "
            "try again.",
            path=path,
        )
    logger.debug("decoded %s as %s", path, encoding)
    return text, encoding


def _decode(data: bytes, path: str) -> tuple[str, str]:
    """Decode `data` by the first encoding that its bytes give away.

    A byte order mark wins. Without one, a known binary format is refused
    before any guess (an image must not come out as cp1252 gibberish), and
    NUL bytes that do not betray UTF-16 mean binary data.
    """
    encoding: str | None = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            data = data[len(bom) :]
            break
    if encoding is None:
        kind = _binary_kind(data)
        if kind is not None:
            raise SummaryError(
                f"this is {kind}, not a text document; {_SAVE_AS_TEXT} file.",
                path=path,
            )
        encoding = _bomless_utf16(data)
    if encoding is not None:
        try:
            return data.decode(encoding.removesuffix("-sig")), encoding
        except UnicodeDecodeError as exc:
            raise SummaryError(
                f"the file looks like {encoding.upper()} but byte {exc.start} is "
                f"invalid; {_SAVE_AS_TEXT} file again.",
                path=path,
            ) from exc
    if b"\x00" in data:
        raise SummaryError(
            "the file contains NUL bytes, so it is binary data, not text; "
            f"{_SAVE_AS_TEXT} file.",
            path=path,
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return codecs.charmap_decode(data, "strict", _CP1252_TABLE)[0], "cp1252"


def _blank_controls(text: str, path: str) -> str:
    """Turn stray control characters into spaces, refusing text made of them.

    A few (a DOS end-of-file byte, a form feed) are noise in a real text; a
    NUL or a large share of them means the bytes were never text.
    """
    controls = sum(1 for ch in text if _is_control(ch))
    if "\x00" in text or controls > max(MAX_CONTROL_SHARE * len(text), 3):
        share = round(100 * controls / len(text))
        raise SummaryError(
            f"the file looks like binary data ({share}% control characters), "
            f"not text; {_SAVE_AS_TEXT} file.",
            path=path,
        )
    if controls:
        text = "".join(" " if _is_control(ch) else ch for ch in text)
    return text


# ---------------------------------------------------------------------------
# Front matter
# ---------------------------------------------------------------------------

_FM_FENCE = re.compile(r"^---[ \t]*$")
_FM_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_FM_KEY = re.compile(r"^([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")
_FM_ITEM = re.compile(r"^[ \t]+-[ \t]+(.*?)[ \t]*$|^-[ \t]+(.*?)[ \t]*$")
_DQ_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "/": "/", "0": ""}


def _front_matter_end(lines: list[str]) -> int | None:
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


# ---------------------------------------------------------------------------
# Inline Markdown
# ---------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[\w.+-]+@[\w-]+\.[\w.-]+)>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_BR = re.compile(r"<br\s*/?>", re.I)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_IMAGE = re.compile(r"!\[[^\]]*\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\])")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[([^\]]*)\]")
_SHORTCUT = re.compile(r"\[([^\]]+)\]")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~", re.S)
_STAR = re.compile(r"(?<![*\\])(\*{1,3})(?![\s*])(.+?)(?<![\s*\\])\1(?!\*)", re.S)
_UNDER = re.compile(r"(?<![\w\\])(_{1,3})(?![\s_])(.+?)(?<![\s_])\1(?!\w)", re.S)
_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
# Private-use characters hold code spans and escaped characters aside.
_HOLD = re.compile("\ue000(\\d+)\ue001")


def strip_inline_markdown(
    text: str, *, references: frozenset[str] = frozenset()
) -> str:
    """Return the words of one Markdown paragraph, without its syntax.

    Code spans keep their text, links keep their text, autolinks keep the
    address, images and footnote markers disappear, HTML tags go and their
    text stays, entities are decoded, and whitespace runs become one space
    (no-break spaces are kept: French typography needs them). `references`
    holds the lower-cased labels of reference definitions so that a
    shortcut link ``[label]`` loses its brackets.
    """
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"\ue000{len(held) - 1}\ue001"

    text = _CODE_SPAN.sub(lambda m: hold(m.group(2).strip() or m.group(2)), text)
    text = _ESCAPE.sub(lambda m: hold(m.group(1)), text)
    text = _COMMENT.sub(" ", text)
    text = _AUTOLINK.sub(lambda m: hold(m.group(1).removeprefix("mailto:")), text)
    text = _BR.sub(" ", text)
    text = _TAG.sub("", text)
    text = _IMAGE.sub("", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    if references:
        text = _SHORTCUT.sub(
            lambda m: m.group(1) if _label(m.group(1)) in references else m.group(0),
            text,
        )
    for _ in range(4):  # nested emphasis peels one layer per pass
        before = text
        text = _STRIKE.sub(r"\1", text)
        text = _STAR.sub(r"\2", text)
        text = _UNDER.sub(r"\2", text)
        if text == before:
            break
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    text = _SPACES.sub(" ", text).strip()
    while _HOLD.search(text):
        text = _HOLD.sub(lambda m: held[int(m.group(1))], text)
    return text


def _label(text: str) -> str:
    return _SPACES.sub(" ", text).strip().lower()


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------


@dataclass
class _Block:
    """A heading or a paragraph before sections are assembled."""

    kind: str  # "heading" or "para"
    raw: str  # source text, inline syntax still in place
    line: int
    level: int = 0
    bullet: bool = False
    title_like: bool = False  # plain text: a lone heading-shaped line
    markdown: bool = True
    text: str = ""  # cleaned text, filled by _clean


_SPEAKABLE = re.compile(r"[^\W_]")
# Emoji shown as pictures, keycaps (1️⃣ #️⃣) included: decoration, not words.
_EMOJI_SEQUENCE = re.compile(r"\S\ufe0f\u20e3?|[0-9#*]\u20e3")


def _speakable(text: str) -> bool:
    """Say whether `text` has a letter or digit that is not part of an emoji."""
    return bool(_SPEAKABLE.search(_EMOJI_SEQUENCE.sub(" ", text)))


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
_HTML_ONLY = re.compile(r"^[ \t]*(?:<[^<>]+>[ \t]*)+$")
_MULTILINE_HTML = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.S | re.I)


def _blank_out(match: re.Match[str]) -> str:
    """Replace a multi-line construct by as many newlines, keeping line numbers."""
    return "\n" * match.group(0).count("\n") + " "


def _split_row(line: str) -> list[str]:
    row = line.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _sentence(text: str) -> str:
    """End `text` with a full stop unless it already ends with punctuation."""
    stripped = text.rstrip()
    if not stripped or stripped[-1] in ".!?…:;":
        return stripped
    return stripped + "."


def _is_table_start(lines: list[str], index: int) -> bool:
    if index + 1 >= len(lines) or "|" not in lines[index]:
        return False
    sep = lines[index + 1]
    return (
        "-" in sep
        and ("|" in sep or "|" in lines[index].strip()[1:-1])
        and bool(_TABLE_SEP.match(sep))
    )


def _markdown_blocks(lines: list[str], first: int) -> tuple[list[_Block], set[str]]:
    """Split Markdown body lines into heading and paragraph blocks.

    `first` is the 1-based number of ``lines[0]``. Also returns the labels of
    the reference definitions, which decide whether ``[label]`` is a link.

    Raises:
        SummaryError: a code fence is never closed (the caller adds the path).
    """
    return _MarkdownScanner(lines, first).scan()


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

    def __init__(self, lines: list[str], first: int) -> None:
        self.lines = lines
        self.first = first  # 1-based number of lines[0]
        self.blocks: list[_Block] = []
        self.references: set[str] = set()
        self.para: list[str] = []  # lines of the open paragraph
        self.para_line = 0
        self.para_bullet = False

    def scan(self) -> tuple[list[_Block], set[str]]:
        index = 0
        while index < len(self.lines):
            index = self._step(index)
        self._flush()
        return self.blocks, self.references

    def _step(self, index: int) -> int:
        line = _unquote(self.lines[index].expandtabs(4))
        constructs = (
            self._fence,
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
                _Block(
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
        if line.strip() and not _CONTAINER.match(line) and not _HTML_ONLY.match(line):
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
            self.blocks.append(
                _Block("heading", title, self.first + index, level=level)
            )
        return index + 1

    def _setext_heading(self, index: int, line: str) -> int | None:
        """Turn the open paragraph into a heading underlined by ``===``/``---``."""
        setext = _SETEXT.match(line)
        if not (setext and self.para and not self.para_bullet):
            return None
        title = " ".join(self.para)
        level = 1 if setext.group(1)[0] == "=" else 2
        self.blocks.append(_Block("heading", title, self.para_line, level=level))
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
        self.references.add(_label(ref.group(1)))
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
                    _Block("para", _sentence(", ".join(cells)), row_line)
                )
        return index

    def _list_item(self, index: int, line: str) -> int | None:
        """Open a bullet paragraph; an empty marker inside a paragraph is text."""
        item = _MD_ITEM.match(line)
        if not (item and (item.group(2).strip() or not self.para)):
            return None
        self._start(_TASK.sub("", item.group(2)), self.first + index, True)
        return index + 1


# Plain text --------------------------------------------------------------

_PLAIN_BULLET = re.compile(r"^[ \t]*[-*+•◦▪‣·–—][ \t]+(.*)$")
_PLAIN_NUMBERED = re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+\S")
_CLOSERS = "\"”’')]*_"
_HEADING_STOPS = ".!?:;…,»"
_SENTENCE_ENDS = ".!?…:;»"
# A line ending with one of these words is a wrapped sentence, not a heading.
_FUNCTION_WORDS_TEXT = """
    le la les l un une des du de d à au aux et ou mais donc ni car que qu qui dont
    où en dans par pour sur sous avec sans vers chez entre ce cet cette ces son sa
    ses leur leurs mon ma mes ton ta tes notre nos votre vos je tu il ils on se ne
    n s c j m t y the a an of to and or for with in on at by from
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())


def _tail(line: str) -> str:
    return line.rstrip().rstrip(_CLOSERS).rstrip()


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip()
    if stripped.endswith("»"):
        return True
    tail = _tail(line)
    return bool(tail) and tail[-1] in _SENTENCE_ENDS


def _heading_shape(clean: str) -> bool:
    """Say whether a cleaned plain-text line could be a heading by its looks.

    Short (at most MAX_HEADING_CHARS characters and MAX_HEADING_WORDS words),
    no final sentence punctuation (. ! ? : ; … , »), not starting with a
    lower-case letter, and its last word not a function word such as "de" or "la"
    (which betrays a wrapped sentence).
    """
    if not clean or len(clean) > MAX_HEADING_CHARS:
        return False
    words = clean.split()
    if len(words) > MAX_HEADING_WORDS or not _speakable(clean):
        return False
    if clean.rstrip().endswith("»") or clean.rstrip().endswith("-"):
        return False
    tail = _tail(clean)
    if not tail or tail[-1] in _HEADING_STOPS:
        return False
    first = next((ch for ch in clean if ch.isalnum()), "")
    if first.islower():
        return False
    last_word = words[-1].lower().strip(_CLOSERS)
    if last_word.endswith(("'", "’")):
        return False  # "d'" or "l'" at the end of a line is a wrapped sentence
    return last_word not in _FUNCTION_WORDS


def _starts_lower(line: str) -> bool:
    first = line.lstrip()[:1]
    return first.isalpha() and first.islower()


def _blank_separated(
    lines: list[str], speakable: list[bool], shape: list[bool], bullet: list[bool]
) -> bool:
    """Say whether blank lines separate paragraphs that may be hard-wrapped.

    True when a blank line separates two body lines, or when the document has
    blank lines and a line visibly wraps (a body line that ends mid-sentence,
    or a short line followed by a lower-case continuation). Then the lines of
    a block are joined and a heading must open its block. Otherwise each line
    is a paragraph.
    """
    previous: int | None = None
    gap = False
    has_gap = False
    wraps = False
    for i, ok in enumerate(speakable):
        if not ok:
            gap = previous is not None
            continue
        if gap and previous is not None:
            has_gap = True
            if not shape[previous] and not shape[i]:
                return True
        elif (
            previous == i - 1
            and not bullet[previous]
            and not bullet[i]
            and not _ends_sentence(lines[previous])
            and (not shape[previous] or _starts_lower(lines[i]))
        ):
            wraps = True
        previous = i
        gap = False
    return has_gap and wraps


def _wrapped_at(index: int, follower: str, widths: list[int]) -> bool:
    """Say whether line `index` looks cut by hard wrapping before `follower`.

    Greedy wrapping breaks a line when the next word does not fit, so the
    line fits within the document's width (its longest other line, when at
    least two lines come close to it) and the follower's first word would not
    have fitted after it.
    """
    others = [w for i, w in enumerate(widths) if i != index]
    width = max(others, default=0)
    near_width = sum(1 for w in others if w >= 0.8 * width)
    length = widths[index]
    first_word = follower.split()[0] if follower.split() else ""
    if width < MIN_WRAP_WIDTH or near_width < 2 or length < 0.6 * width:
        return False  # too short a line or document to tell
    return length <= width < length + 1 + len(first_word)


def _plain_blocks(lines: list[str], first: int) -> list[_Block]:
    """Split plain text lines into heading and paragraph blocks.

    A line is a heading when it has the shape of one (`_heading_shape`), the
    line right above it (if any, without a blank between) ends a sentence or
    is a bullet, and the next speakable line is body text that does not
    continue a sentence (it does not start in lower case). Deciding from the
    end lets the last of several short lines be the heading and keeps a short
    closing line ("Merci à tous") in the body of its section.

    When blank lines separate paragraphs (`_blank_separated`), a heading must
    open its block and the lines of a block are joined (hard wrapping);
    otherwise a line break after a sentence end starts a new paragraph.
    """
    text = _PlainLines.read(lines)
    headings = _plain_headings(text, _heading_candidates(text))
    return _PlainAssembler(text, first).assemble(headings)


@dataclass
class _PlainLines:
    """What the plain-text rules look at, one entry per line."""

    lines: list[str]
    clean: list[str]  # inline Markdown stripped (a **bold** line may be a title)
    speakable: list[bool]
    bullet: list[bool]
    numbered: list[bool]
    shape: list[bool]  # looks like a heading on its own (`_heading_shape`)
    blank_layout: bool  # see `_blank_separated`

    @classmethod
    def read(cls, lines: list[str]) -> _PlainLines:
        clean = [strip_inline_markdown(line) for line in lines]
        speakable = [_speakable(c) for c in clean]
        bullet = [
            bool(_PLAIN_BULLET.match(line)) and speakable[i]
            for i, line in enumerate(lines)
        ]
        numbered = [bool(_PLAIN_NUMBERED.match(line)) for line in lines]
        shape = [speakable[i] and _heading_shape(clean[i]) for i in range(len(lines))]
        blank_layout = _blank_separated(lines, speakable, shape, bullet)
        return cls(lines, clean, speakable, bullet, numbered, shape, blank_layout)

    def adjacent_prev(self, i: int) -> int | None:
        """The line right above line `i` when it is speakable, else None."""
        return i - 1 if i > 0 and self.speakable[i - 1] else None


def _heading_candidates(text: _PlainLines) -> list[bool]:
    """Mark the lines that may be headings judging by themselves and above.

    A candidate has a heading's shape, is no bullet, and stands apart from
    the line above: a blank or a finished sentence or bullet separates them
    (in a blank-separated layout only a blank does). A numbered line under a
    numbered line is a list, not a run of headings.
    """
    candidate = [False] * len(text.lines)
    for i in range(len(text.lines)):
        if not text.shape[i] or text.bullet[i]:
            continue
        prev = text.adjacent_prev(i)
        if prev is not None and (
            text.blank_layout
            or not (text.bullet[prev] or _ends_sentence(text.clean[prev]))
        ):
            continue
        if text.numbered[i] and prev is not None and text.numbered[prev]:
            continue
        candidate[i] = True
    return candidate


def _plain_headings(text: _PlainLines, candidate: list[bool]) -> list[bool]:
    """Keep the candidates followed by body text, deciding from the end.

    Going backwards, a candidate is a heading when the next speakable line
    exists, is not itself a heading, and does not carry on the candidate's
    sentence (a lower-case start, or a line the candidate was wrapped before).
    """
    lines = text.lines
    widths = [
        len(line.rstrip()) if text.speakable[i] else 0 for i, line in enumerate(lines)
    ]
    heading = [False] * len(lines)
    next_speakable: int | None = None
    for i in range(len(lines) - 1, -1, -1):
        if not text.speakable[i]:
            continue
        if candidate[i] and next_speakable is not None and not heading[next_speakable]:
            adjacent = next_speakable == i + 1
            follower = lines[next_speakable]
            wrapped = adjacent and (
                _starts_lower(follower)
                or (text.blank_layout and _wrapped_at(i, follower, widths))
            )
            if not wrapped and not (text.numbered[i] and text.numbered[next_speakable]):
                heading[i] = True
        next_speakable = i
    return heading


class _PlainAssembler:
    """Gather plain text lines into paragraphs between the headings.

    A line without words, a heading or a bullet ends the open paragraph.
    Any other line joins it unless the line is numbered, or (in the layout of
    one paragraph per line) the previous line ended a sentence, or the open
    paragraph is a bullet that the line does not visibly continue (indented
    or starting in lower case).
    """

    def __init__(self, text: _PlainLines, first: int) -> None:
        self.text = text
        self.first = first  # 1-based number of lines[0]
        self.blocks: list[_Block] = []
        self.para: list[str] = []  # lines of the open paragraph
        self.para_line = 0
        self.para_bullet = False
        self.prev_text = ""  # the last line read into a paragraph

    def assemble(self, heading: list[bool]) -> list[_Block]:
        for i, line in enumerate(self.text.lines):
            number = self.first + i
            if not self.text.speakable[i]:
                self._flush()
            elif heading[i]:
                self._flush()
                self.blocks.append(
                    _Block("heading", line.strip(), number, level=1, markdown=False)
                )
            elif self.text.bullet[i]:
                self._bullet(line, number)
            else:
                self._body(i, line, number)
        self._flush()
        return self.blocks

    def _flush(self) -> None:
        if self.para:
            clean = self.text.clean[self.para_line - self.first]
            self.blocks.append(
                _Block(
                    "para",
                    " ".join(self.para),
                    self.para_line,
                    bullet=self.para_bullet,
                    markdown=False,
                    title_like=len(self.para) == 1 and _heading_shape(clean),
                )
            )
        self.para = []
        self.para_bullet = False

    def _bullet(self, line: str, number: int) -> None:
        """Open a bullet paragraph, without its marker."""
        self._flush()
        match = _PLAIN_BULLET.match(line)
        self.para = [match.group(1).strip() if match else line.strip()]
        self.para_line = number
        self.para_bullet = True
        self.prev_text = line

    def _body(self, i: int, line: str, number: int) -> None:
        indented = line[:1] in (" ", "\t")
        joins = bool(self.para) and not self.text.numbered[i]
        if joins and not self.text.blank_layout:
            joins = not _ends_sentence(self.prev_text)
        if joins and self.para_bullet:
            joins = indented or _starts_lower(line)
        if joins:
            self.para.append(line.strip())
        else:
            self._flush()
            self.para = [line.strip()]
            self.para_line = number
            self.para_bullet = self.text.numbered[i]
        self.prev_text = line


def _looks_like_markdown(lines: list[str]) -> bool:
    """Say whether explicit Markdown structure is present."""
    previous = ""
    for index, line in enumerate(lines):
        if _ATX.match(line) and line.lstrip("# \t"):
            return True
        if _FENCE.match(line):
            return True
        if (
            _SETEXT.match(line)
            and previous.strip()
            and _speakable(previous)
            and not _PLAIN_BULLET.match(previous)
            and len(line.strip()) >= 2
        ):
            return True
        if _is_table_start(lines, index):
            return True
        previous = line
    return False


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def _clean(block: _Block, references: frozenset[str]) -> str:
    text = strip_inline_markdown(block.raw, references=references)
    return unicodedata.normalize("NFC", text)


def parse_summary(text: str, *, path: str = "<input>") -> Document:
    """Split a decoded summary into titled sections.

    Markdown headings are explicit. When exactly one ``#`` heading opens the
    document and every other heading is deeper, it is the document title and
    the next level down are the sections; otherwise the shallowest heading
    level present makes sections and deeper headings become sentences of the
    section they sit in. In plain text a short unpunctuated line followed by
    body text is a heading (see `_plain_blocks`); a lone such line before the
    first heading is the document title.

    Text before the first heading, and a document without any heading, make
    a section without a heading (``has_heading`` false): nothing is spoken
    before its text, and its chapter title is made of its first words
    (`first_words`). Nothing outside the document (a file name, a stock word
    such as "Introduction") ever becomes a section title, so none is spoken.

    `Document.title` is the front matter ``title``, else the leading heading
    described above, else a heading that opens the document and is its only
    one (in Markdown a ``#`` or ``===`` one); None when the document has no
    title of its own. `Document.encoding` keeps its default; the caller
    sets it.

    Raises:
        SummaryError: malformed front matter, an unclosed code fence, a
            heading whose section has nothing to say, or no speakable text
            at all. The message names `path` and, where it helps, the line.
    """
    text = normalize_text(text)
    lines = text.split("\n")
    try:
        return _parse(lines)
    except SummaryError as exc:
        if exc.path is not None:
            raise
        message = str(exc)
        raise SummaryError(message, path=path, line=exc.line) from None


def first_words(text: str, count: int = TITLE_WORDS) -> str:
    """Name a section that has no heading by the words it starts with.

    The first `count` words and «…» when more follow; a text of `count` words
    or fewer is the whole name. A cut word loses its trailing comma or colon,
    and a whole text its final period, so the name reads as a title.
    """
    words = text.split()
    if len(words) > count:
        return " ".join(words[:count]).rstrip(",;:.-–—([«\"'") + "…"
    return " ".join(words).rstrip(",;:.")


def _parse(lines: list[str]) -> Document:
    """Turn normalized lines into a Document (errors carry no path yet)."""
    meta, body_lines, first = _split_front_matter(lines)
    markdown, blocks = _body_blocks(body_lines, first)
    leading_title, section_level, heading_title = _outline(blocks)
    blocks, opening_title = _drop_title_line(blocks, markdown)
    title = meta.get("title") or heading_title or opening_title
    sections = _SectionAssembler(leading_title, section_level).assemble(blocks)
    if not sections:
        raise SummaryError(
            "there is no text to read aloud under the headings; write the "
            "summary as sentences under titled sections.",
        )
    return Document(sections=tuple(sections), title=title, meta=meta)


def _split_front_matter(lines: list[str]) -> tuple[dict[str, str], list[str], int]:
    """Return the front matter, the body lines and the body's first line number.

    Multi-line HTML comments and script/style elements are blanked out of the
    body, keeping its line numbers, so no line-by-line reader sees them.
    """
    meta: dict[str, str] = {}
    body_first = 0
    fm_end = _front_matter_end(lines)
    if fm_end is not None:
        meta = parse_front_matter(lines[1:fm_end], first_line=2)
        body_first = fm_end + 1
    body = "\n".join(lines[body_first:])
    body = _MULTILINE_HTML.sub(_blank_out, body)
    return meta, body.split("\n"), body_first + 1


def _body_blocks(lines: list[str], first: int) -> tuple[bool, list[_Block]]:
    """Read the body as Markdown or plain text into blocks with speakable text.

    Returns whether it was read as Markdown, and the blocks: their text
    cleaned, paragraphs without a speakable word and empty headings dropped.

    Raises:
        SummaryError: nothing in the body can be read aloud.
    """
    # Front matter alone does not make the body Markdown: without explicit
    # headings its titles are found like those of plain text.
    markdown = _looks_like_markdown(lines)
    references: frozenset[str] = frozenset()
    if markdown:
        blocks, refs = _markdown_blocks(lines, first)
        references = frozenset(refs)
    else:
        blocks = _plain_blocks(lines, first)
    for block in blocks:
        block.text = _clean(block, references)
    blocks = [b for b in blocks if b.kind == "heading" or _speakable(b.text)]
    blocks = [b for b in blocks if b.text]
    if not any(_speakable(b.text) for b in blocks):
        raise SummaryError(
            "there is no text to read aloud (only markup, code, emoji or "
            "punctuation); write the summary as sentences, in words.",
        )
    return markdown, blocks


def _outline(blocks: list[_Block]) -> tuple[_Block | None, int, str | None]:
    """Decide which heading level makes sections and what names the document.

    Returns the leading title heading (a lone level-1 heading that opens the
    document above deeper ones; it names the document and heads a section
    that may be empty), the section level, and the title the headings give
    the document (that leading heading, or an only heading that opens it).
    """
    headings = [b for b in blocks if b.kind == "heading"]
    if not headings:
        return None, 1, None
    levels = [h.level for h in headings]
    opens = blocks[0] is headings[0]
    if levels.count(1) == 1 and opens and levels[0] == 1 and len(headings) > 1:
        return headings[0], min(levels[1:]), headings[0].text
    if len(headings) == 1 and opens and levels[0] == 1:
        # The only heading opens the document: it names the document too, and
        # stays the heading of its section.
        return None, min(levels), headings[0].text
    return None, min(levels), None


def _drop_title_line(
    blocks: list[_Block], markdown: bool
) -> tuple[list[_Block], str | None]:
    """Take a plain-text title line off the blocks, returning it as the title.

    A lone short line right above the first heading names the document.
    """
    if markdown or not blocks or blocks[0].kind != "para":
        return blocks, None
    if not any(b.kind == "heading" for b in blocks):
        return blocks, None
    opening = blocks[0]
    if opening.title_like and blocks[1].kind == "heading":
        return blocks[1:], opening.text
    return blocks, None


class _SectionAssembler:
    """Gather blocks into sections, one per heading of the section level.

    Deeper headings become sentences of the section they sit in. Text before
    the first heading makes a section without a heading, named by its first
    words.
    """

    def __init__(self, leading_title: _Block | None, section_level: int) -> None:
        self.leading_title = leading_title
        self.section_level = section_level
        self.sections: list[Section] = []
        self.title: str | None = None  # heading of the open section
        self.line = 0
        self.paragraphs: list[Paragraph] = []
        self.is_title_section = False

    def assemble(self, blocks: list[_Block]) -> list[Section]:
        for block in blocks:
            if block.kind == "heading" and (
                block is self.leading_title or block.level <= self.section_level
            ):
                self._close()
                self.title = block.text
                self.line = block.line
                self.is_title_section = block is self.leading_title
            elif block.kind == "heading":
                self.paragraphs.append(
                    Paragraph(_sentence(block.text), False, block.line)
                )
            else:
                self.paragraphs.append(Paragraph(block.text, block.bullet, block.line))
        self._close()
        return self.sections

    def _close(self) -> None:
        """End the open section; only the document title's may be empty.

        Raises:
            SummaryError: a heading has nothing under it.
        """
        paragraphs = self.paragraphs
        if self.title is None:
            if paragraphs:
                name = first_words(" ".join(p.text for p in paragraphs))
                self.sections.append(
                    Section(
                        name, tuple(paragraphs), paragraphs[0].line, has_heading=False
                    )
                )
        elif paragraphs:
            self.sections.append(Section(self.title, tuple(paragraphs), self.line))
        elif not self.is_title_section:
            raise SummaryError(
                f'section "{self.title}" is empty; add text or remove the heading.',
                line=self.line,
            )
        self.paragraphs = []
