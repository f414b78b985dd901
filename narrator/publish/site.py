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
  titles, transcript) is untrusted and goes through ``markup.escape`` with
  quotes escaped, in text and in attributes alike. No document text is put
  inside a script.
- The episode page's player, chapters and transcript are ``player``'s.

The page's frame, its CSS and its scripts are package data in ``assets/``
(``page.html``, ``site.css``, ``copy.js``, ``player.js``), read once at run
time and put inline in every page, as they always were. Their text is the
page's, byte for byte, and what the Content-Security-Policy hashes: the empty
first line of the CSS and scripts is part of it.

The renderers are pure (``Site`` in, bytes out); ``transaction`` writes the
pages and the feed together.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import quote, unquote, urlsplit

from narrator.errors import InputError
from narrator.publish.items import MP3_MIME, FeedItem
from narrator.publish.markup import duration, escape, paragraphs, teaser
from narrator.publish.player import (
    SiteCue,
    chapters_html,
    download_label,
    player_html,
    transcript_section,
)
from narrator.speech.rules.tables import MONTHS

INDEX_PAGE = "index.html"
GENERATOR = "narrator"
# A page is narrator's when this marker is near its top; publish overwrites
# or deletes only such pages, never a hand-written one.
_MARKER = f'<meta name="generator" content="{GENERATOR}">'
_MARKER_SCAN_BYTES = 4096


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
        f'<img class="cover" src="{escape(site.cover_href)}" alt="" '
        'width="176" height="176">'
        if site.cover_href
        else ""
    )
    out.append(f'<header class="show">{cover}<div>')
    out.append(f"<h1>{escape(site.title)}</h1>")
    if site.author:
        out.append(f'<p class="meta">Par {escape(site.author)}</p>')
    out.append(paragraphs(site.description, "desc"))
    out.append(
        '<div class="feed"><label for="feed-url">Adresse du flux, à coller dans '
        "votre application de podcasts</label>"
        f'<div class="row"><input id="feed-url" type="url" readonly '
        f'value="{escape(site.feed_url)}">'
        '<button type="button" data-copy="feed-url">Copier</button></div>'
        f'<p><a href="{escape(site.feed_href)}" type="application/rss+xml">'
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
                f'<li><h3><a href="{escape(quote(episode.page))}">'
                f"{escape(item.title)}</a></h3>"
                f'<p class="meta">{number}{_time(item.pub_date)} · '
                f"{escape(duration(item.duration_s))}</p>"
                f"{paragraphs(teaser(item.description), 'teaser')}</li>"
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
    return _page(site.language, head, "".join(out), _asset("copy.js"))


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
            '<nav class="top" aria-label="Site">'
            f'<a href="{escape(quote(INDEX_PAGE))}">← {escape(site.title)}</a></nav>'
            '<main id="main"><article>',
            _episode_intro(episode),
            player_html(episode.audio_href, episode.item.mime_type),
            '<div class="cols">',
            chapters_html(episode.item.chapters, site.base_url),
            transcript_section(episode.cues, episode.item.chapters),
            "</div></article>",
            _pager_html(newer, older),
            "</main>",
            _footer(site, episode),
        )
    )
    script = _asset("copy.js") + _asset("player.js")
    return _page(site.language, _episode_head(site, episode), body, script)


def _episode_intro(episode: SiteEpisode) -> str:
    """Return the page's header: cover, number, date and length, title, description."""
    item = episode.item
    cover = (
        f'<img class="cover" src="{escape(episode.cover_href)}" alt="" '
        'width="144" height="144">'
        if episode.cover_href
        else ""
    )
    number = f"Épisode {item.episode} · " if item.episode is not None else ""
    return (
        f'<header class="intro">{cover}<div>'
        f'<p class="meta">{number}{_time(item.pub_date)} · '
        f"{escape(duration(item.duration_s))}</p>"
        f"<h1>{escape(item.title)}</h1>"
        f"{paragraphs(item.description, 'desc')}</div></header>"
    )


def _pager_html(newer: SiteEpisode | None, older: SiteEpisode | None) -> str:
    """Return links to the neighbouring episodes, or nothing for a lone episode."""
    pager = []
    if older is not None:
        pager.append(
            f'<a rel="prev" href="{escape(quote(older.page))}">'
            f"← Épisode précédent : {escape(older.item.title)}</a>"
        )
    if newer is not None:
        pager.append(
            f'<a rel="next" href="{escape(quote(newer.page))}">'
            f"Épisode suivant : {escape(newer.item.title)} →</a>"
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
        audio_type=item.mime_type,
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
    audio_type: str = MP3_MIME,
) -> str:
    summary = teaser(description, 300)
    meta = [
        f"<title>{escape(title)}</title>",
        f'<meta name="description" content="{escape(summary)}">',
        f'<link rel="canonical" href="{escape(url)}">',
        '<link rel="alternate" type="application/rss+xml" '
        f'title="{escape(site.title)}" href="{escape(site.feed_href)}">',
        f'<meta property="og:type" content="{og_type}">',
        f'<meta property="og:site_name" content="{escape(site.title)}">',
        f'<meta property="og:title" content="{escape(title)}">',
        f'<meta property="og:description" content="{escape(summary)}">',
        f'<meta property="og:url" content="{escape(url)}">',
    ]
    if site.language.lower().startswith("fr"):
        meta.append('<meta property="og:locale" content="fr_FR">')
    if image:
        meta.append(f'<meta property="og:image" content="{escape(image)}">')
        meta.append('<meta name="twitter:card" content="summary">')
    if audio_url:
        meta.append(f'<meta property="og:audio" content="{escape(audio_url)}">')
        meta.append(f'<meta property="og:audio:type" content="{escape(audio_type)}">')
    return "".join(meta)


def _footer(site: Site, episode: SiteEpisode | None) -> str:
    links = [f'<a href="{escape(site.feed_href)}">Flux RSS</a>']
    if episode is not None:
        links.append(
            f'<a href="{escape(episode.audio_href)}" download>'
            f"{escape(download_label(episode.audio_href))}</a>"
        )
    links.append("Pages écrites par narrator")
    return f"<footer>{' · '.join(links)}</footer>"


def _page(language: str, head: str, body: str, script: str) -> bytes:
    """Put a page's head and body into ``assets/page.html``, with CSS and script.

    The Content-Security-Policy lets in only this style and this script, by
    their hashes.
    """
    css = _asset("site.css")
    csp = (
        "default-src 'none'; "
        f"script-src '{_sha256(script)}'; style-src '{_sha256(css)}'; "
        "img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'"
    )
    text = Template(_asset("page.html")).substitute(
        language=escape(language or "fr"),
        marker=_MARKER,
        csp=csp,
        head=head,
        css=css,
        body=body,
        script=script,
    )
    return text.encode("utf-8", "replace")


@functools.cache
def _asset(name: str) -> str:
    """Return the text of ``assets/<name>``, read from the installed package once."""
    return (resources.files("narrator.publish") / "assets" / name).read_text("utf-8")


def _sha256(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _time(moment: datetime) -> str:
    """Return the date as a French ``<time>``: ``1er mai 2024``.

    It lives here rather than in ``markup`` because it needs speech's month
    names: ``markup`` imports no narrator module, which keeps ``player`` (and
    so this module) shallow.
    """
    day = moment.date()
    label = f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    if day.day == 1:
        label = "1er" + label[1:]
    return f'<time datetime="{day.isoformat()}">{label}</time>'


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


__all__ = [
    "GENERATOR",
    "INDEX_PAGE",
    "Site",
    "SiteEpisode",
    "check_site",
    "enclosure_name",
    "is_narrator_page",
    "local_href",
    "page_name",
    "render_episode",
    "render_index",
    "render_site",
]
