"""Plain text lines -> heading and paragraph blocks.

A plain text has no markup telling its headings apart, so they are found by
their looks and their place: a short line without final sentence punctuation
(`_heading_shape`), standing apart from the line above and followed by body
text. Paragraphs are either one per line or separated by blank lines with
hard-wrapped lines joined (`_blank_separated`). No word of the input is lost:
each lands in a heading or a paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from narrator.text.blocks import PLAIN_BULLET, Block, has_signs, is_speakable
from narrator.text.inline import strip_inline_markdown

__all__ = ["MAX_HEADING_CHARS", "MAX_HEADING_WORDS", "MIN_WRAP_WIDTH", "plain_blocks"]


# Plain-text heading limits (the seed's longest heading has 54 chars, 9 words).
MAX_HEADING_CHARS = 100
MAX_HEADING_WORDS = 14
# Lines shorter than this are never taken for hard-wrapped text.
MIN_WRAP_WIDTH = 30


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
    if len(words) > MAX_HEADING_WORDS or not is_speakable(clean):
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


def plain_blocks(lines: list[str], first: int, *, html: bool = False) -> list[Block]:
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
    Angle brackets are text, unless `html` (a ``.md`` file without Markdown
    structure, whose HTML is markup).
    """
    text = _PlainLines.read(lines, html)
    headings = _plain_headings(text, _heading_candidates(text))
    return _PlainAssembler(text, first).assemble(headings)


@dataclass
class _PlainLines:
    """What the plain-text rules look at, one entry per line."""

    lines: list[str]
    # inline Markdown stripped (a **bold** line may be a title); HTML is text
    clean: list[str]
    speakable: list[bool]
    bullet: list[bool]
    numbered: list[bool]
    shape: list[bool]  # looks like a heading on its own (`_heading_shape`)
    blank_layout: bool  # see `_blank_separated`

    @classmethod
    def read(cls, lines: list[str], html: bool = False) -> _PlainLines:
        clean = [strip_inline_markdown(line, html=html) for line in lines]
        speakable = [is_speakable(c) for c in clean]
        bullet = [
            bool(PLAIN_BULLET.match(line)) and speakable[i]
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
        self.blocks: list[Block] = []
        self.para: list[str] = []  # lines of the open paragraph
        self.para_line = 0
        self.para_bullet = False
        self.prev_text = ""  # the last line read into a paragraph

    def assemble(self, heading: list[bool]) -> list[Block]:
        for i, line in enumerate(self.text.lines):
            number = self.first + i
            if not self.text.speakable[i]:
                self._flush()
                if has_signs(line):
                    self.blocks.append(Block("signs", line.strip(), number))
            elif heading[i]:
                self._flush()
                self.blocks.append(
                    Block("heading", line.strip(), number, level=1, markdown=False)
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
                Block(
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
        match = PLAIN_BULLET.match(line)
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
