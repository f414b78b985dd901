"""The show's web pages: ``index.html`` and one ``<stem>.html`` per episode.

``narrator publish`` writes them beside the feed from what it already knows
(the feed items, the WebVTT sidecar), so a listener can open an episode at a
given minute and read the transcript as it is spoken.

Rules the pages keep:
- Self-contained: CSS and JavaScript are inline, every URL is relative to
  the page's folder, nothing is fetched by script. The pages work from any
  static host and from ``file://``, and load nothing from another origin.
  A Content-Security-Policy that allows only the page's own script and
  style (by hash) and same-origin media backs this up: should escaping ever
  fail, an injected script still would not run.
- Every text that comes from a document (titles, descriptions, chapter
  titles, transcript) is untrusted and goes through ``html.escape`` with
  quotes escaped, in text and in attributes alike. No document text is put
  inside a script.
- The transcript is one element per WebVTT cue carrying ``data-start`` and
  ``data-end`` in seconds; the script reads the times from the DOM, so the
  cues are never written twice.

The renderers are pure (``Site`` in, bytes out); ``write_site`` is the thin
writer that renames each page into place.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from narrator.atomic import write_bytes_atomic
from narrator.errors import InputError
from narrator.publish.feed import FeedChapter, FeedItem
from narrator.speech.rules.tables import MONTHS

logger = logging.getLogger(__name__)

INDEX_PAGE = "index.html"
GENERATOR = "narrator"
# A page is narrator's when this marker is near its top; publish overwrites
# or deletes only such pages, never a hand-written one.
_MARKER = f'<meta name="generator" content="{GENERATOR}">'
_MARKER_SCAN_BYTES = 4096

# A silence at least this long between two cues starts a new paragraph: the
# default pauses are 0.3 s between sentences and 0.7 s between paragraphs.
PARAGRAPH_GAP_S = 0.5

# C0 controls other than tab and newlines are not allowed in HTML text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
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


@dataclass(frozen=True)
class SiteEpisode:
    """One episode as its page shows it.

    ``audio_href`` and ``cover_href`` are relative to the site folder; the
    absolute URLs of ``item`` are only used in meta tags, which load nothing.
    """

    item: FeedItem
    page: str
    audio_href: str
    cover_href: str | None
    cues: tuple[SiteCue, ...]


@dataclass(frozen=True)
class Site:
    """The show and its episodes, newest first.

    ``base_url`` is the public URL of the folder the pages are served from;
    ``feed_url`` is the feed's public URL (shown for copying), ``feed_href``
    the feed's link relative to the pages.
    """

    title: str
    author: str
    description: str
    language: str
    base_url: str
    feed_url: str
    feed_href: str
    cover_href: str | None
    cover_url: str | None
    episodes: tuple[SiteEpisode, ...]


# --- names and inputs --------------------------------------------------------


def page_name(stem: str) -> str:
    """Return the page file name for an MP3 stem: ``<stem>.html``.

    An episode called ``index`` would overwrite the show page, so its page is
    ``index-episode.html``.
    """
    if stem.lower() == "index":
        return "index-episode.html"
    return f"{stem}.html"


def enclosure_name(url: str) -> str:
    """Return the MP3 file name an enclosure URL points to (decoded)."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def local_href(url: str | None, base_url: str) -> str | None:
    """Return ``url`` relative to the site folder, or None when it lies elsewhere.

    Only files served beside the pages are referenced, so nothing is ever
    loaded from another origin.
    """
    if url and url.startswith(base_url) and len(url) > len(base_url):
        return url[len(base_url) :]
    return None


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


# --- rendering ---------------------------------------------------------------


def render_site(site: Site) -> dict[str, bytes]:
    """Render every page of the site: file name to UTF-8 bytes."""
    pages = {INDEX_PAGE: render_index(site)}
    episodes = site.episodes
    for position, episode in enumerate(episodes):
        newer = episodes[position - 1] if position > 0 else None
        older = episodes[position + 1] if position + 1 < len(episodes) else None
        pages[episode.page] = render_episode(site, episode, newer=newer, older=older)
    return pages


def render_index(site: Site) -> bytes:
    """Render the show page: cover, description, feed URL, every episode."""
    out: list[str] = []
    cover = (
        f'<img class="cover" src="{_e(site.cover_href)}" alt="" '
        'width="176" height="176">'
        if site.cover_href
        else ""
    )
    out.append(f'<header class="show">{cover}<div>')
    out.append(f"<h1>{_e(site.title)}</h1>")
    if site.author:
        out.append(f'<p class="meta">Par {_e(site.author)}</p>')
    out.append(_paragraphs(site.description, "desc"))
    out.append(
        '<div class="feed"><label for="feed-url">Adresse du flux, à coller dans '
        "votre application de podcasts</label>"
        f'<div class="row"><input id="feed-url" type="url" readonly '
        f'value="{_e(site.feed_url)}">'
        '<button type="button" data-copy="feed-url">Copier</button></div>'
        f'<p><a href="{_e(site.feed_href)}" type="application/rss+xml">'
        "Ouvrir le flux RSS</a></p>"
        '<p id="status" class="status" role="status"></p></div>'
    )
    out.append("</div></header>")
    out.append('<main id="main"><h2>Épisodes</h2>')
    if not site.episodes:
        out.append("<p>Aucun épisode pour l’instant.</p>")
    else:
        out.append('<ol class="episodes">')
        for episode in site.episodes:
            item = episode.item
            number = f"Épisode {item.episode} · " if item.episode is not None else ""
            out.append(
                f'<li><h3><a href="{_e(quote(episode.page))}">{_e(item.title)}</a>'
                f'</h3><p class="meta">{number}{_time(item.pub_date)} · '
                f"{_e(_duration(item.duration_s))}</p>"
                f"{_paragraphs(_teaser(item.description), 'teaser')}</li>"
            )
        out.append("</ol>")
    out.append("</main>")
    out.append(_footer(site, None))
    head = _head(
        site,
        title=site.title,
        description=site.description,
        url=site.base_url,
        image=site.cover_url,
        og_type="website",
    )
    return _page(site.language, head, "".join(out), _COPY_JS)


def render_episode(
    site: Site,
    episode: SiteEpisode,
    *,
    newer: SiteEpisode | None = None,
    older: SiteEpisode | None = None,
) -> bytes:
    """Render an episode page: player, chapters, transcript that follows it."""
    body = "".join(
        (
            '<a class="skip" href="#transcript-h">Aller à la transcription</a>'
            f'<nav class="top" aria-label="Site"><a href="{_e(quote(INDEX_PAGE))}">'
            f"← {_e(site.title)}</a></nav>"
            '<main id="main"><article>',
            _episode_intro(episode),
            _player_html(episode.audio_href),
            '<div class="cols">',
            _chapters_html(episode.item.chapters),
            _transcript_section(episode),
            "</div></article>",
            _pager_html(newer, older),
            "</main>",
            _footer(site, episode),
        )
    )
    return _page(
        site.language, _episode_head(site, episode), body, _COPY_JS + _PLAYER_JS
    )


def _episode_intro(episode: SiteEpisode) -> str:
    """Return the page's header: cover, number, date and length, title, description."""
    item = episode.item
    cover = (
        f'<img class="cover" src="{_e(episode.cover_href)}" alt="" '
        'width="144" height="144">'
        if episode.cover_href
        else ""
    )
    number = f"Épisode {item.episode} · " if item.episode is not None else ""
    return (
        f'<header class="intro">{cover}<div>'
        f'<p class="meta">{number}{_time(item.pub_date)} · '
        f"{_e(_duration(item.duration_s))}</p>"
        f"<h1>{_e(item.title)}</h1>"
        f"{_paragraphs(item.description, 'desc')}</div></header>"
    )


def _player_html(audio_href: str) -> str:
    """Return the player; its buttons and status line are driven by ``_PLAYER_JS``.

    The download link inside ``<audio>`` is what a browser without audio shows.
    """
    audio = _e(audio_href)
    return (
        '<div id="player" class="player">'
        f'<audio id="audio" controls preload="metadata" src="{audio}">'
        f'<a href="{audio}">Télécharger le MP3</a></audio>'
        '<div class="tools">'
        '<button type="button" id="moment">Copier le lien vers cet instant</button>'
        '<button type="button" id="follow" hidden>Revenir à la lecture</button>'
        '<span id="now" class="now"></span></div>'
        '<p id="status" class="status" role="status"></p></div>'
    )


def _transcript_section(episode: SiteEpisode) -> str:
    """Return the transcript section, which says so when there is no transcript.

    ``#transcript`` is there either way: the skip link and the script expect it.
    """
    out = (
        '<section class="text" aria-labelledby="transcript-h">'
        '<h2 id="transcript-h">Transcription</h2>'
    )
    if episode.cues:
        out += (
            '<p class="hint">Cliquez sur une phrase pour l’écouter.</p>'
            '<div id="transcript">'
            f"{_transcript_html(episode.cues, episode.item.chapters)}</div>"
        )
    else:
        out += (
            '<div id="transcript"><p>Pas de transcription pour cet épisode.</p></div>'
        )
    return out + "</section>"


def _pager_html(newer: SiteEpisode | None, older: SiteEpisode | None) -> str:
    """Return links to the neighbouring episodes, or nothing for a lone episode."""
    pager = []
    if older is not None:
        pager.append(
            f'<a rel="prev" href="{_e(quote(older.page))}">'
            f"← Épisode précédent : {_e(older.item.title)}</a>"
        )
    if newer is not None:
        pager.append(
            f'<a rel="next" href="{_e(quote(newer.page))}">'
            f"Épisode suivant : {_e(newer.item.title)} →</a>"
        )
    if not pager:
        return ""
    return f'<nav class="pager" aria-label="Épisodes">{"".join(pager)}</nav>'


def _episode_head(site: Site, episode: SiteEpisode) -> str:
    """Return the page's ``<head>``: its own title, description and share image."""
    item = episode.item
    return _head(
        site,
        title=f"{item.title} · {site.title}",
        description=item.description or site.description,
        url=site.base_url + quote(episode.page),
        image=item.image_url or site.cover_url,
        og_type="article",
        audio_url=item.enclosure_url,
    )


def _chapters_html(chapters: Sequence[FeedChapter]) -> str:
    if not chapters:
        return ""
    entries = []
    for number, chapter in enumerate(chapters, start=1):
        title = _title_or(chapter.title, f"Chapitre {number}")
        entries.append(
            f'<li><button type="button" data-start="{_num(chapter.start_s)}">'
            f'<span class="at">{_clock(chapter.start_s)}</span> '
            f"<span>{_e(title)}</span></button></li>"
        )
    return (
        '<nav class="chapters" aria-labelledby="chapters-h">'
        '<h2 id="chapters-h">Chapitres</h2>'
        f'<ol id="chapters">{"".join(entries)}</ol></nav>'
    )


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
            title = _title_or(chapters[chapter].title, f"Chapitre {chapter + 1}")
            if _same_text(members[0].text, chapters[chapter].title):
                out.append(f"<h3>{_cue(members[0])}</h3>")
                members = members[1:]
            else:
                out.append(f"<h3>{_e(title)}</h3>")
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
    return (
        f'<span data-start="{_num(cue.start_s)}" data-end="{_num(cue.end_s)}">'
        f"{_e(cue.text)}</span>"
    )


def _head(
    site: Site,
    *,
    title: str,
    description: str,
    url: str,
    image: str | None,
    og_type: str,
    audio_url: str | None = None,
) -> str:
    summary = _teaser(description, 300)
    meta = [
        f"<title>{_e(title)}</title>",
        f'<meta name="description" content="{_e(summary)}">',
        f'<link rel="canonical" href="{_e(url)}">',
        '<link rel="alternate" type="application/rss+xml" '
        f'title="{_e(site.title)}" href="{_e(site.feed_href)}">',
        f'<meta property="og:type" content="{og_type}">',
        f'<meta property="og:site_name" content="{_e(site.title)}">',
        f'<meta property="og:title" content="{_e(title)}">',
        f'<meta property="og:description" content="{_e(summary)}">',
        f'<meta property="og:url" content="{_e(url)}">',
    ]
    if site.language.lower().startswith("fr"):
        meta.append('<meta property="og:locale" content="fr_FR">')
    if image:
        meta.append(f'<meta property="og:image" content="{_e(image)}">')
        meta.append('<meta name="twitter:card" content="summary">')
    if audio_url:
        meta.append(f'<meta property="og:audio" content="{_e(audio_url)}">')
        meta.append('<meta property="og:audio:type" content="audio/mpeg">')
    return "".join(meta)


def _footer(site: Site, episode: SiteEpisode | None) -> str:
    links = [f'<a href="{_e(site.feed_href)}">Flux RSS</a>']
    if episode is not None:
        links.append(
            f'<a href="{_e(episode.audio_href)}" download>Télécharger le MP3</a>'
        )
    links.append("Pages écrites par narrator")
    return f"<footer>{' · '.join(links)}</footer>"


def _page(language: str, head: str, body: str, script: str) -> bytes:
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(script)}'; style-src '{_sha256(_CSS)}'; "
        "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'"
    )
    text = (
        f'<!DOCTYPE html>\n<html lang="{_e(language or "fr")}">\n<head>\n'
        '<meta charset="utf-8">\n'
        f"{_MARKER}\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"{head}\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{script}</script>\n</body>\n</html>\n"
    )
    return text.encode("utf-8", "replace")


def _sha256(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


# --- formatting --------------------------------------------------------------


def _e(text: str | None) -> str:
    """Escape text for HTML content and quoted attributes alike."""
    return html.escape(_CONTROL.sub("", text or ""), quote=True)


def _paragraphs(text: str, css_class: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text or "") if b.strip()]
    if not blocks:
        return ""
    inner = "".join(
        "<p>" + "<br>".join(_e(line.strip()) for line in block.splitlines()) + "</p>"
        for block in blocks
    )
    return f'<div class="{css_class}">{inner}</div>'


def _teaser(text: str, limit: int = 220) -> str:
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def _title_or(title: str, fallback: str) -> str:
    return title.strip() or fallback


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold() != ""


def _num(seconds: float) -> str:
    text = f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _clock(seconds: float) -> str:
    whole = int(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _duration(seconds: float) -> str:
    whole = round(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _time(moment: datetime) -> str:
    day = moment.date()
    label = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    if day.day == 1:
        label = "1er" + label[1:]
    return f'<time datetime="{day.isoformat()}">{label}</time>'


def _last_at_or_before(starts: Sequence[float], value: float) -> int:
    found = -1
    for index, start in enumerate(starts):
        if start <= value:
            found = index
    return found


# --- writing -----------------------------------------------------------------


def is_narrator_page(path: Path) -> bool:
    """Tell whether ``path`` is a page narrator wrote (its marker near the top)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_MARKER_SCAN_BYTES)
    except OSError:
        return False
    return _MARKER.encode("ascii") in head


def check_site(folder: Path, names: Iterable[str]) -> None:
    """Refuse to overwrite a page that narrator did not write.

    Raises:
        InputError: one of the pages exists and is someone else's file.
    """
    for name in names:
        path = folder / name
        if path.exists() and not is_narrator_page(path):
            raise InputError(
                f"{path}: exists and was not written by narrator; move it away, "
                "or pass --no-site to publish without the web pages."
            )


def write_site(
    folder: Path, pages: Mapping[str, bytes], *, stale: Iterable[str] = ()
) -> list[Path]:
    """Write the pages atomically (episode pages first, the index last).

    ``stale`` names pages of episodes no longer in the feed: they are deleted
    when narrator wrote them.
    """
    written = []
    for name in sorted(pages, key=lambda n: n == INDEX_PAGE):
        path = folder / name
        write_bytes_atomic(path, pages[name])
        written.append(path)
    for name in stale:
        path = folder / name
        if name not in pages and is_narrator_page(path):
            path.unlink()
    return written


# --- inline CSS and JavaScript -----------------------------------------------

_CSS = """
:root{color-scheme:light dark;--bg:#fbfaf7;--fg:#1f1e1c;--muted:#5c5a55;
--accent:#9a3412;--line:#dedad2;--hl:#fde68a;--panel:#f1eee7}
@media (prefers-color-scheme:dark){:root{--bg:#161618;--fg:#ebe9e4;
--muted:#a9a69f;--accent:#fdba74;--line:#38373a;--hl:#5b4a12;--panel:#222225}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--accent)}
h1,h2,h3,p,li{overflow-wrap:anywhere}
h1{font-size:1.7rem;line-height:1.2;margin:.2rem 0 .6rem}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.4rem;z-index:3}
.top,main,footer,.show{max-width:68rem;margin:0 auto;padding:0 1rem}
.top{padding-top:.8rem}
.show,.intro{display:flex;gap:1.2rem;align-items:flex-start;padding-top:1.2rem}
.show>div,.intro>div{min-width:0;flex:1}
.cover{flex:none;border-radius:.5rem;background:var(--panel);width:9rem;height:9rem;
object-fit:cover}
.show .cover{width:11rem;height:11rem}
.meta{color:var(--muted);margin:0;font-size:.95rem}
.desc p{margin:.4rem 0}
.feed{margin-top:1rem}
.feed label{display:block;font-size:.95rem;color:var(--muted)}
.row{display:flex;gap:.5rem;margin-top:.3rem}
.row input{flex:1;min-width:0;font:inherit;font-size:.95rem;padding:.45rem .6rem;
border:1px solid var(--line);border-radius:.4rem;background:var(--panel);color:inherit}
button{font:inherit;font-size:.95rem;cursor:pointer;color:inherit;
background:var(--panel);border:1px solid var(--line);border-radius:.4rem;
padding:.45rem .8rem}
button:hover{border-color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.status{min-height:1.4em;margin:.3rem 0 0;font-size:.9rem;color:var(--muted);
overflow-wrap:anywhere}
.episodes{list-style:none;padding:0;margin:0}
.episodes li{border-top:1px solid var(--line);padding:.4rem 0 .8rem}
.episodes h3{margin:.5rem 0 .1rem}
.teaser p{margin:.3rem 0 0;color:var(--muted)}
.player{position:sticky;top:0;z-index:2;background:var(--bg);
border-bottom:1px solid var(--line);padding:.7rem 0 .2rem;margin-top:1rem}
audio{width:100%;display:block}
.tools{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin-top:.5rem}
.now{color:var(--muted);font-size:.9rem;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;min-width:0;flex:1 1 12rem}
.cols{display:grid;gap:0 2.5rem}
@media (min-width:56rem){.cols{grid-template-columns:18rem 1fr}
.chapters{position:sticky;top:9.5rem;align-self:start;max-height:calc(100vh - 10rem);
overflow:auto}}
#chapters{list-style:none;padding:0;margin:0}
#chapters button{display:flex;gap:.6rem;width:100%;text-align:left;border:0;
background:none;padding:.35rem .4rem;border-radius:.3rem;line-height:1.35}
#chapters button:hover{background:var(--panel)}
#chapters .on{background:var(--panel);font-weight:600}
.at{color:var(--muted);font-variant-numeric:tabular-nums;flex:none}
.hint{color:var(--muted);font-size:.9rem;margin:0}
#transcript{max-width:42rem}
#transcript p{margin:0 0 .9rem}
#transcript [data-start]{cursor:pointer;border-radius:.2rem;
scroll-margin-top:10rem}
#transcript [data-start]:hover{text-decoration:underline dotted}
#transcript [aria-current="true"]{background:var(--hl)}
.pager{display:flex;flex-wrap:wrap;justify-content:space-between;gap:1rem;
border-top:1px solid var(--line);margin-top:2rem;padding:1rem 0}
footer{color:var(--muted);font-size:.9rem;padding-top:1.5rem;padding-bottom:2rem}
@media (max-width:40rem){body{font-size:1rem}h1{font-size:1.4rem}
.show,.intro{flex-direction:column;gap:.6rem}
.cover,.show .cover{width:6.5rem;height:6.5rem}}
"""

_COPY_JS = """
"use strict";
function narratorCopy(text, done) {
  function fallback() {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else {
    fallback();
  }
}
function narratorSay(message) {
  var status = document.getElementById("status");
  status.textContent = "";
  window.setTimeout(function () { status.textContent = message; }, 60);
}
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) { return; }
  var field = document.getElementById(button.getAttribute("data-copy"));
  narratorCopy(field.value, function (ok) {
    if (!ok) { field.select(); }
    narratorSay(ok ? "Adresse copiée." : "Sélectionnée : copiez-la avec Ctrl+C.");
  });
});
"""

_PLAYER_JS = """
(function () {
  var audio = document.getElementById("audio");
  var cues = [].slice.call(document.querySelectorAll("#transcript [data-start]"));
  var chapters = [].slice.call(document.querySelectorAll("#chapters [data-start]"));
  var follow = document.getElementById("follow");
  var player = document.getElementById("player");
  var now = document.getElementById("now");
  var canonical = document.querySelector("link[rel=canonical]").href;
  function time(el, name) { return parseFloat(el.getAttribute(name)); }
  var starts = cues.map(function (c) { return time(c, "data-start"); });
  var chapterStarts = chapters.map(function (c) { return time(c, "data-start"); });
  var current = null, chapter = null, following = true, userAt = 0;
  var smooth = !(window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches);

  function lastAtOrBefore(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function inView(el) {
    var box = el.getBoundingClientRect();
    var top = player.getBoundingClientRect().bottom;
    return box.top >= top && box.bottom <= window.innerHeight;
  }
  function reveal(el) {
    el.scrollIntoView({block: "center", behavior: smooth ? "smooth" : "auto"});
  }
  function setFollowing(value) {
    following = value;
    follow.hidden = value || !current;
  }
  function mark(t) {
    var c = lastAtOrBefore(chapterStarts, t + 0.001);
    var nextChapter = c >= 0 ? chapters[c] : null;
    if (nextChapter !== chapter) {
      if (chapter) { chapter.classList.remove("on"); }
      if (nextChapter) { nextChapter.classList.add("on"); }
      chapter = nextChapter;
      now.textContent = chapter ? chapter.lastElementChild.textContent : "";
    }
    if (!cues.length) { return; }
    var i = Math.max(0, lastAtOrBefore(starts, t + 0.001));
    // In the pause that opens a chapter, show its first cue, not the last
    // cue of the chapter before.
    if (c >= 0 && starts[i] < chapterStarts[c] && i + 1 < cues.length) { i += 1; }
    var cue = cues[i];
    if (cue === current) { return; }
    if (current) { current.removeAttribute("aria-current"); }
    cue.setAttribute("aria-current", "true");
    current = cue;
    if (following && !inView(cue)) { reveal(cue); }
  }
  function seek(t, play) {
    audio.currentTime = t;
    setFollowing(true);
    mark(t);
    if (current && !inView(current)) { reveal(current); }
    if (play) {
      var started = audio.play();
      if (started && started.catch) { started.catch(function () {}); }
    }
  }
  function tick() {
    mark(audio.currentTime);
    if (!audio.paused) { window.requestAnimationFrame(tick); }
  }
  ["timeupdate", "seeked", "seeking"].forEach(function (name) {
    audio.addEventListener(name, function () { mark(audio.currentTime); });
  });
  audio.addEventListener("play", function () { window.requestAnimationFrame(tick); });

  document.getElementById("chapters") &&
  document.getElementById("chapters").addEventListener("click", function (event) {
    var entry = event.target.closest("[data-start]");
    if (entry) { seek(time(entry, "data-start"), true); }
  });
  document.getElementById("transcript").addEventListener("click", function (event) {
    var cue = event.target.closest("[data-start]");
    if (cue && !String(window.getSelection())) { seek(time(cue, "data-start"), true); }
  });
  follow.addEventListener("click", function () {
    setFollowing(true);
    if (current) { reveal(current); }
  });

  // Scrolling by the reader (not by the page itself) stops the follow until
  // the spoken cue is back in view or "Revenir à la lecture" is pressed.
  function touched() { userAt = Date.now(); }
  ["wheel", "touchmove", "mousedown"].forEach(function (name) {
    window.addEventListener(name, touched, {passive: true});
  });
  window.addEventListener("keydown", function (event) {
    if (/^(Page|Arrow(Up|Down)|Home|End| )/.test(event.key)) { touched(); }
  });
  window.addEventListener("scroll", function () {
    if (current && Date.now() - userAt < 1500) { setFollowing(inView(current)); }
  }, {passive: true});

  function parseTime(text) {
    if (!text) { return null; }
    var m = /^(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+(?:\\.\\d+)?)s?)?$/.exec(text);
    if (m && m[0]) {
      return (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0));
    }
    var parts = text.split(":");
    function bad(p) { return !/^\\d+(\\.\\d+)?$/.test(p); }
    if (parts.length > 3 || parts.some(bad)) { return null; }
    return parts.reduce(function (total, p) { return total * 60 + parseFloat(p); }, 0);
  }
  function linkedTime() {
    var hash = /(?:^#|&)t=([^&]*)/.exec(location.hash);
    var query = /[?&]t=([^&]*)/.exec(location.search);
    var found = hash || query;
    return found ? parseTime(decodeURIComponent(found[1])) : null;
  }
  function openLinkedTime() {
    var t = linkedTime();
    if (t !== null) { seek(t, false); }
  }
  window.addEventListener("hashchange", openLinkedTime);
  openLinkedTime();

  document.getElementById("moment").addEventListener("click", function () {
    var here = /^https?:$/.test(location.protocol) ? location.href : canonical;
    var url = here.split("#")[0].replace(/([?&])t=[^&]*(&|$)/, function (all, a, b) {
      return b ? a : "";
    }) + "#t=" + Math.floor(audio.currentTime);
    narratorCopy(url, function (ok) {
      narratorSay((ok ? "Lien copié : " : "Copiez ce lien : ") + url);
    });
  });
})();
"""
