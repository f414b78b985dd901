"""Bytes -> text: the first step of reading a summary file.

A summary arrives as bytes in whatever encoding its editor chose: UTF-8 with
or without a BOM, UTF-16 or UTF-32 (Word's "Unicode text"), or cp1252 (an old
Windows editor). `decode_bytes` finds the encoding, refuses what is not text
(an image, a PDF, a .docx saved under the wrong name) with a message telling
the user what to do, and hands on LF-terminated NFC text, so every later step
sees one form of the same words. Nothing here opens a file.
"""

from __future__ import annotations

import codecs
import encodings.cp1252
import logging
import unicodedata

from narrator.errors import SummaryError

__all__ = ["MAX_CONTROL_SHARE", "decode_bytes", "normalize_text"]

logger = logging.getLogger(__name__)


# Above this share of control characters a "text" file is really binary.
MAX_CONTROL_SHARE = 0.05


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
