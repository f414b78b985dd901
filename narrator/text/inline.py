"""Inline Markdown -> the words a listener should hear.

Used on every line by both readers: Markdown paragraphs of course, and plain
text too, where a ``**bold**`` line may well be a title. It imports nothing
from narrator, so that both readers can use it and stay low in the import
graph.
"""

from __future__ import annotations

import html as entities
import re

__all__ = ["inline_media", "reference_label", "strip_inline_markdown"]


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
    text: str, *, references: frozenset[str] = frozenset(), html: bool = True
) -> str:
    """Return the words of one Markdown paragraph, without its syntax.

    Code spans keep their text, links keep their text, autolinks keep the
    address, images and footnote markers disappear, HTML tags go and their
    text stays, entities are decoded, and whitespace runs become one space
    (no-break spaces are kept: French typography needs them). `references`
    holds the lower-cased labels of reference definitions so that a
    shortcut link ``[label]`` loses its brackets.

    With `html` false (plain text), everything HTML is literal text: tags,
    comments, ``<br>``, autolinks and entities are words the author typed,
    as in «les balises <script> et <img>», and they stay.
    """
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"\ue000{len(held) - 1}\ue001"

    text = _CODE_SPAN.sub(lambda m: hold(m.group(2).strip() or m.group(2)), text)
    text = _ESCAPE.sub(lambda m: hold(m.group(1)), text)
    if html:
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
            lambda m: (
                m.group(1) if reference_label(m.group(1)) in references else m.group(0)
            ),
            text,
        )
    for _ in range(4):  # nested emphasis peels one layer per pass
        before = text
        text = _STRIKE.sub(r"\1", text)
        text = _STAR.sub(r"\2", text)
        text = _UNDER.sub(r"\2", text)
        if text == before:
            break
    if html:
        text = _ENTITY.sub(lambda m: entities.unescape(m.group(0)), text)
    text = _SPACES.sub(" ", text).strip()
    while _HOLD.search(text):
        text = _HOLD.sub(lambda m: held[int(m.group(1))], text)
    return text


# ``![alt](target "title")`` and ``[text](target "title")``: the target as
# typed, bare or in angle brackets (which allow spaces).
_TARGET = (
    r"\(\s*(?:<([^<>\n]*)>|([^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*))"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
)
_MEDIA_IMAGE = re.compile(r"!\[([^\]]*)\]" + _TARGET)
_MEDIA_LINK = re.compile(r"(?<!!)\[[^\]]*\]" + _TARGET + r"|<(https?:[^<>\s]+)>")


def inline_media(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The images (target, alt text) and link targets of one Markdown
    paragraph, in order: what a chapter's picture and URL are made of.

    Code spans hold neither. The alt text is returned as its words (it stays
    unspoken). An image inside a link (``[![a](p.png)](https://…)``) is both
    an image and, through its link, a link. Reference-style images and links
    (``![a][ref]``) are not followed.
    """
    text = _CODE_SPAN.sub(" ", text)
    text = _ESCAPE.sub(" ", text)
    images = [
        (m.group(2) if m.group(2) is not None else m.group(3) or "", m.group(1))
        for m in _MEDIA_IMAGE.finditer(text)
    ]
    images = [(target, strip_inline_markdown(alt)) for target, alt in images if target]
    bare = _MEDIA_IMAGE.sub(" ", text)
    links = []
    for m in _MEDIA_LINK.finditer(bare):
        target = next((g for g in m.groups() if g is not None), "")
        if target:
            links.append(target)
    return images, links


def reference_label(text: str) -> str:
    """The key of a reference link label: case and spacing do not matter."""
    return _SPACES.sub(" ", text).strip().lower()
