"""An episode page's player, chapter list and transcript, from the WebVTT sidecar.

The transcript is one element per WebVTT cue carrying ``data-start`` and
``data-end`` in seconds; the chapter list carries ``data-start`` too. The
page's script (``assets/player.js``) reads the times from the DOM, so the
cues are never written twice, and finds the player by its ids (``audio``,
``moment``, ``follow``, ``now``, ``status``, ``chapters``, ``transcript``):
the markup here and that script change together.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from narrator.publish.items import MP3_MIME, FeedChapter
from narrator.publish.markup import clock, escape, same_text, seconds_attr, title_or

logger = logging.getLogger(__name__)

# A silence at least this long between two cues starts a new paragraph: the
# default pauses are 0.3 s between sentences and 0.7 s between paragraphs.
PARAGRAPH_GAP_S = 0.5
_VTT_TIME = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+"
    r"((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VTT_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class SiteCue:
    """One transcript cue, in seconds."""

    start_s: float
    end_s: float
    text: str


# --- reading the WebVTT sidecar ----------------------------------------------


def parse_vtt(text: str) -> tuple[SiteCue, ...]:
    """Read the cues of a WebVTT file (the sidecar ``narrator build`` writes).

    Notes, styles and cue settings are skipped, tags are stripped and entities
    decoded; a cue's lines are joined with spaces.
    """
    cues: list[SiteCue] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.replace("\ufeff", "")):
        lines = block.strip("\r\n").splitlines()
        for index, line in enumerate(lines):
            match = _VTT_TIME.match(line)
            if match is None:
                continue
            start, end = _vtt_seconds(match.group(1)), _vtt_seconds(match.group(2))
            words = " ".join(lines[index + 1 :]).split()
            body = html.unescape(_VTT_TAG.sub("", " ".join(words)))
            if body.strip() and end >= start:
                cues.append(SiteCue(start, end, body.strip()))
            break
    return tuple(sorted(cues, key=lambda c: (c.start_s, c.end_s)))


def read_cues(path: Path) -> tuple[SiteCue, ...]:
    """Read a WebVTT sidecar; a missing or unreadable one gives no cues."""
    try:
        return parse_vtt(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("%s: transcript not shown on the page (%s)", path, exc)
        return ()


def _vtt_seconds(text: str) -> float:
    parts = text.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


# --- markup --------------------------------------------------------------------


def download_label(audio_href: str) -> str:
    """The download link's words: the file's kind, from its name (MP3, M4A, M4B)."""
    suffix = Path(audio_href).suffix.lstrip(".").upper()
    return f"Télécharger le {suffix or 'fichier audio'}"


def player_html(audio_href: str, mime_type: str = MP3_MIME) -> str:
    """Return the player; ``assets/player.js`` drives its buttons and status line.

    The file is a ``<source>`` with its type, so that a browser that cannot
    play it (an M4A where AAC is missing) says so at once instead of
    fetching it. The download link inside ``<audio>`` is what a browser
    without audio shows.
    """
    audio = escape(audio_href)
    return (
        '<div id="player" class="player">'
        '<audio id="audio" controls preload="metadata">'
        f'<source src="{audio}" type="{escape(mime_type)}">'
        f'<a href="{audio}">{escape(download_label(audio_href))}</a></audio>'
        '<div class="tools">'
        '<button type="button" id="moment">Copier le lien vers cet instant</button>'
        '<button type="button" id="follow" hidden>Revenir à la lecture</button>'
        '<span id="now" class="now"></span></div>'
        '<p id="status" class="status" role="status"></p></div>'
    )


def transcript_section(cues: Sequence[SiteCue], chapters: Sequence[FeedChapter]) -> str:
    """Return the transcript section, which says so when there is no transcript.

    ``#transcript`` is there either way: the skip link and the script expect it.
    """
    out = (
        '<section class="text" aria-labelledby="transcript-h">'
        '<h2 id="transcript-h">Transcription</h2>'
    )
    if cues:
        out += (
            '<p class="hint">Cliquez sur une phrase pour l’écouter.</p>'
            '<div id="transcript">'
            f"{_transcript_html(cues, chapters)}</div>"
        )
    else:
        out += (
            '<div id="transcript"><p>Pas de transcription pour cet épisode.</p></div>'
        )
    return out + "</section>"


def chapters_html(chapters: Sequence[FeedChapter], base_url: str = "") -> str:
    """Return the chapter list, one button per chapter; nothing without chapters.

    A chapter's picture is shown under its button when it is served beside
    the pages (under ``base_url``: the page loads nothing from elsewhere),
    with the document's alt text (else the chapter's title); its link
    follows, opened in a new tab.
    """
    if not chapters:
        return ""
    entries = []
    for number, chapter in enumerate(chapters, start=1):
        title = title_or(chapter.title, f"Chapitre {number}")
        start = seconds_attr(chapter.start_s)
        entries.append(
            f'<li><button type="button" data-start="{start}">'
            f'<span class="at">{clock(chapter.start_s)}</span> '
            f"<span>{escape(title)}</span></button>"
            f"{_chapter_media(chapter, title, base_url)}</li>"
        )
    return (
        '<nav class="chapters" aria-labelledby="chapters-h">'
        '<h2 id="chapters-h">Chapitres</h2>'
        f'<ol id="chapters">{"".join(entries)}</ol></nav>'
    )


def _chapter_media(chapter: FeedChapter, title: str, base_url: str) -> str:
    """The chapter's picture (served beside the pages) and link, escaped."""
    out = ""
    image = chapter.image_url
    if image and base_url and image.startswith(base_url) and len(image) > len(base_url):
        alt = chapter.image_alt or title
        out += (
            f'<img class="chapter-img" src="{escape(image[len(base_url) :])}" '
            f'alt="{escape(alt)}" loading="lazy">'
        )
    if chapter.url and chapter.url.startswith(("http://", "https://")):
        out += (
            f'<a class="chapter-link" href="{escape(chapter.url)}" '
            f'rel="noopener noreferrer" target="_blank">{escape(chapter.url)}</a>'
        )
    return out


def _transcript_html(cues: Sequence[SiteCue], chapters: Sequence[FeedChapter]) -> str:
    """Group cues under their chapter's heading, in paragraphs cut at long pauses.

    A chapter's first cue is its spoken title: it becomes the heading itself,
    so the title is not shown twice.
    """
    starts = [c.start_s for c in chapters]
    groups: list[tuple[int, list[SiteCue]]] = []
    for cue in cues:
        chapter = _last_at_or_before(starts, cue.start_s + 1e-6)
        if not groups or groups[-1][0] != chapter:
            groups.append((chapter, []))
        groups[-1][1].append(cue)
    out: list[str] = []
    for chapter, members in groups:
        if chapter >= 0:
            title = title_or(chapters[chapter].title, f"Chapitre {chapter + 1}")
            if same_text(members[0].text, chapters[chapter].title):
                out.append(f"<h3>{_cue(members[0])}</h3>")
                members = members[1:]
            else:
                out.append(f"<h3>{escape(title)}</h3>")
        paragraph: list[str] = []
        previous: SiteCue | None = None
        for cue in members:
            if previous is not None and cue.start_s - previous.end_s >= PARAGRAPH_GAP_S:
                out.append(f"<p>{' '.join(paragraph)}</p>")
                paragraph = []
            paragraph.append(_cue(cue))
            previous = cue
        if paragraph:
            out.append(f"<p>{' '.join(paragraph)}</p>")
    return "".join(out)


def _cue(cue: SiteCue) -> str:
    start, end = seconds_attr(cue.start_s), seconds_attr(cue.end_s)
    return f'<span data-start="{start}" data-end="{end}">{escape(cue.text)}</span>'


def _last_at_or_before(starts: Sequence[float], value: float) -> int:
    found = -1
    for index, start in enumerate(starts):
        if start <= value:
            found = index
    return found


__all__ = [
    "PARAGRAPH_GAP_S",
    "SiteCue",
    "chapters_html",
    "parse_vtt",
    "player_html",
    "read_cues",
    "transcript_section",
]
