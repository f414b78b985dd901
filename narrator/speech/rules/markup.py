"""Markup typed as text, read as the words it holds.

A plain-text document is plain text: «les balises <script> et <img
onerror=alert(1)>» keeps its angle brackets in the titles, tags, feed and
site. The listener hears the words inside them: a tag's name and attributes
(«script», «img onerror égale alert un»), never the brackets as «inférieur
à» / «supérieur à». A closing tag (``</b>``) only repeats the name its opener
said, so it is a pause, like a closing parenthesis; a comment's markers go and
its words stay; an entity (``&amp;``) is read as the character it stands for.

Markdown documents reach the normalizer with their HTML already taken out
(``narrator.text.inline``), so what this rule sees there is text the author
escaped on purpose, and it reads it the same way. The rule runs first, so
that what an entity stands for meets every other rule (``typography.clean``
takes out a private-use character an entity made, as any other).
"""

from __future__ import annotations

import html
import re

from narrator.speech.rules.base import Pass

# The shape of an HTML tag, as CommonMark's raw HTML (names start with a letter).
_OPEN_TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*?)?)\s*/?>")
_CLOSE_TAG_RE = re.compile(r"</[A-Za-z][A-Za-z0-9-]*\s*>")
_COMMENT_MARK_RE = re.compile(r"<!--+|-{2,}>")
_ENTITY_RE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)


def markup(text: str, _: Pass) -> str:
    """Tags read as their name and attributes, closers and comment marks as
    pauses, entities as their character."""
    if "&" in text and ";" in text:
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group()), text)
    if "<" in text:
        text = _COMMENT_MARK_RE.sub(" ", text)
        text = _CLOSE_TAG_RE.sub(" ", text)
        text = _OPEN_TAG_RE.sub(lambda m: f" {m.group(1)}{m.group(2)} ", text)
    return text
