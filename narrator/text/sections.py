"""Text -> `Document`: the step that puts the readers of narrator.text together.

`parse_summary` splits off the front matter (`narrator.text.frontmatter`),
reads the body as Markdown (`narrator.text.markdown`) or as plain text
(`narrator.text.plain`) into blocks, strips their inline syntax
(`narrator.text.inline`), then decides which headings make sections and what
names the document, and gathers the blocks into sections.

Two layouts are understood, and neither is ever read aloud as markup:

* **Markdown**, recognised by YAML front matter, an ATX (``#``) or setext
  (``===``/``---``) heading, a code fence or a table. Headings are explicit;
  inline syntax (emphasis, links, images, HTML, entities, footnote markers) is
  stripped to the words a listener should hear.
* **Plain text**, anything else. A heading is a short line without final
  sentence punctuation that is followed by body text. Paragraphs are either
  one per line or separated by blank lines with hard-wrapped lines joined.
  HTML is text there: «<script>» is what the author typed, and stays (a
  ``.md`` file without Markdown structure is the exception: its HTML is
  markup).

The parser loses no words of plain text: every word of the input lands in a
section title, a paragraph, `Document.title` or, for a line of emoji or
symbols without a word, a section's ``signs`` (counted by the speech report,
never spoken). Only Markdown syntax (and code blocks, which are not meant to be
spoken) is dropped.

Nothing here opens a file: `parse_summary` takes a str (`decode_bytes` in
`narrator.text.decode` makes it from bytes).
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from narrator.errors import SummaryError
from narrator.model import Document, Paragraph, Section
from narrator.text.blocks import Block, as_sentence, has_signs, is_speakable
from narrator.text.decode import normalize_text
from narrator.text.frontmatter import split_front_matter
from narrator.text.inline import inline_media, strip_inline_markdown
from narrator.text.markdown import (
    blank_multiline_html,
    looks_like_markdown,
    markdown_blocks,
)
from narrator.text.plain import plain_blocks

__all__ = ["TITLE_WORDS", "first_words", "parse_summary"]


# A file so named is Markdown: its HTML is markup even without a heading.
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")

# A section without a heading is named in the chapter list by its first words.
TITLE_WORDS = 6


def parse_summary(text: str, *, path: str = "<input>") -> Document:
    """Split a decoded summary into titled sections.

    Markdown headings are explicit. When exactly one ``#`` heading opens the
    document and every other heading is deeper, it is the document title and
    the next level down are the sections; otherwise the shallowest heading
    level present makes sections and deeper headings become sentences of the
    section they sit in. In plain text a short unpunctuated line followed by
    body text is a heading (see `plain_blocks`); a lone such line before the
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
        return _parse(lines, markdown_file=_is_markdown_file(path))
    except SummaryError as exc:
        if exc.path is not None:
            raise
        message = str(exc)
        raise SummaryError(message, path=path, line=exc.line) from None


def _is_markdown_file(path: str) -> bool | None:
    """True for a Markdown file name, False for any other file, None when
    the text comes from no file ("<input>": a string, standard input)."""
    if path.startswith("<"):
        return None
    return path.lower().endswith(MARKDOWN_SUFFIXES)


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


def _parse(lines: list[str], *, markdown_file: bool | None = None) -> Document:
    """Turn normalized lines into a Document (errors carry no path yet)."""
    meta, body_lines, first = split_front_matter(lines)
    markdown, blocks = _body_blocks(body_lines, first, markdown_file)
    # Lines of signs (and lone images) sit where they are, but never decide
    # the outline.
    words = [b for b in blocks if b.kind not in ("signs", "media")]
    leading_title, section_level, heading_title = _outline(words)
    kept, opening_title = _drop_title_line(words, markdown)
    if len(kept) < len(words):
        blocks = [b for b in blocks if b is not words[0]]
    title = meta.get("title") or heading_title or opening_title
    sections = _SectionAssembler(leading_title, section_level).assemble(blocks)
    if not sections:
        raise SummaryError(
            "there is no text to read aloud under the headings; write the "
            "summary as sentences under titled sections.",
        )
    return Document(sections=tuple(sections), title=title, meta=meta)


def _body_blocks(
    lines: list[str], first: int, markdown_file: bool | None = None
) -> tuple[bool, list[Block]]:
    """Read the body as Markdown or plain text into blocks with speakable text.

    Returns whether it was read as Markdown, and the blocks: their text
    cleaned, paragraphs without a speakable word dropped. In a Markdown file
    (`markdown_file`), multi-line HTML comments and script/style elements are
    blanked out first, keeping line numbers, so no line-by-line reader sees
    them, and HTML is markup; any other file's angle brackets are text, even
    where it uses Markdown's headings or lists. A ``.md`` file without Markdown
    structure is read with plain text's headings.

    Raises:
        SummaryError: nothing in the body can be read aloud.
    """
    # Only Markdown's HTML is markup: a .txt that uses Markdown's headings or
    # lists keeps its angle brackets as typed ("<script>" is text). Text of
    # no known kind (no file name) is Markdown when it has Markdown's structure.
    html = markdown_file is not False
    blanked = blank_multiline_html("\n".join(lines)).split("\n") if html else lines
    # Front matter alone does not make the body Markdown: without explicit
    # headings its titles are found like those of plain text.
    markdown = looks_like_markdown(blanked, html=html)
    if markdown_file is None and not markdown:
        html, blanked = False, lines
    references: frozenset[str] = frozenset()
    if markdown:
        blocks, refs = markdown_blocks(blanked, first, html=html)
        references = frozenset(refs)
    else:
        blocks = plain_blocks(blanked, first, html=html)
    for block in blocks:
        block.text = _clean(block, references, html=html)
        if markdown or markdown_file:  # plain text has no images or links
            images, links = inline_media(block.raw)
            block.images, block.links = tuple(images), tuple(links)
    for block in blocks:
        if block.kind == "para" and not is_speakable(block.text):
            # Emoji or symbols without a word: kept aside, to be counted; a
            # lone image or link still gives its section a picture or URL.
            if has_signs(block.text):
                block.kind = "signs"
            else:
                block.kind = "media" if block.images or block.links else "none"
    blocks = [b for b in blocks if b.kind != "none"]
    # A Markdown heading made only of HTML (``## <br>``) keeps its place with
    # an empty text: it still opens a section, named by its first words.
    blocks = [b for b in blocks if b.text or b.kind in ("heading", "media")]
    if not any(is_speakable(b.text) for b in blocks if b.kind != "signs"):
        raise SummaryError(
            "there is no text to read aloud (only markup, code, emoji or "
            "punctuation); write the summary as sentences, in words.",
        )
    return markdown, blocks


def _clean(block: Block, references: frozenset[str], *, html: bool) -> str:
    text = strip_inline_markdown(block.raw, references=references, html=html)
    return unicodedata.normalize("NFC", text)


def _outline(blocks: list[Block]) -> tuple[Block | None, int, str | None]:
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
    blocks: list[Block], markdown: bool
) -> tuple[list[Block], str | None]:
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

    def __init__(self, leading_title: Block | None, section_level: int) -> None:
        self.leading_title = leading_title
        self.section_level = section_level
        self.sections: list[Section] = []
        self.title: str | None = None  # heading of the open section
        self.line = 0
        self.paragraphs: list[Paragraph] = []
        self.signs: list[str] = []  # lines of signs not yet in a section
        self.images: list[tuple[str, str]] = []  # not yet in a section
        self.links: list[str] = []
        self.is_title_section = False

    def assemble(self, blocks: list[Block]) -> list[Section]:
        for block in blocks:
            opens = block.kind == "heading" and (
                block is self.leading_title or block.level <= self.section_level
            )
            if opens:
                self._close()
            self.images.extend(block.images)
            self.links.extend(block.links)
            if opens:
                self.title = block.text
                self.line = block.line
                self.is_title_section = block is self.leading_title
            elif block.kind == "signs":
                self.signs.append(block.text)
            elif block.kind == "media":
                pass  # its images and links are taken above
            elif block.kind == "heading":
                if block.text:  # a deeper heading of HTML only says nothing
                    self.paragraphs.append(
                        Paragraph(as_sentence(block.text), False, block.line)
                    )
            else:
                self.paragraphs.append(Paragraph(block.text, block.bullet, block.line))
        self._close()
        if self.sections:  # after the last section's words
            last = self.sections[-1]
            self.sections[-1] = replace(
                last,
                signs=last.signs + tuple(self.signs),
                images=last.images + tuple(self.images),
                links=last.links + tuple(self.links),
            )
        return self.sections

    def _close(self) -> None:
        """End the open section; only the document title's may be empty.

        Raises:
            SummaryError: a heading has nothing under it.
        """
        paragraphs = self.paragraphs
        if not self.title:
            # No heading, or one made only of HTML (``## <br>``): the section
            # is named by its first words, never spoken; an HTML-only heading
            # with nothing under it had no words to lose.
            if paragraphs:
                name = first_words(" ".join(p.text for p in paragraphs))
                line = paragraphs[0].line if self.title is None else self.line
                self._add(Section(name, tuple(paragraphs), line, has_heading=False))
        elif paragraphs:
            self._add(Section(self.title, tuple(paragraphs), self.line))
        elif not self.is_title_section:
            raise SummaryError(
                f'section "{self.title}" is empty; add text or remove the heading.',
                line=self.line,
            )
        self.paragraphs = []

    def _add(self, section: Section) -> None:
        """Add a section with the lines of signs, images and links read since
        the last one."""
        self.sections.append(
            replace(
                section,
                signs=tuple(self.signs),
                images=tuple(self.images),
                links=tuple(self.links),
            )
        )
        self.signs, self.images, self.links = [], [], []
