"""The feed's items and XML names: what the writer, the reader and the pages share.

``feed`` renders these values, ``feed_reader`` recovers them from a feed narrator
wrote, and ``site`` shows them; keeping them here lets the pages depend on the
values alone, not on the RSS code.

Podcasting 2.0 namespace URI. The spec's canonical URI is
``https://podcastindex.org/namespace/1.0`` and it says clients must treat the
older ``https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md``
as identical. Measured on the same feed: podcastparser 0.6.11 (gPodder)
silently drops ``podcast:chapters`` and ``podcast:transcript`` under the
canonical URI and reads both under the GitHub URI; feedparser 6.0.14 reads
them under either (it keys them by prefix). So narrator writes the GitHub
URI, which every client we can test accepts, and reads both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = (
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
)
PODCAST_NS_CANONICAL = "https://podcastindex.org/namespace/1.0"
PSC_NS = "http://podlove.org/simple-chapters"
ATOM_NS = "http://www.w3.org/2005/Atom"
MP3_MIME = "audio/mpeg"
MP4_MIME = "audio/mp4"

NAMESPACES = {
    "itunes": ITUNES_NS,
    "podcast": PODCAST_NS,
    "psc": PSC_NS,
    "atom": ATOM_NS,
}


@dataclass(frozen=True)
class FeedChapter:
    """A chapter as listed in the item (Podlove Simple Chapters)."""

    start_s: float
    title: str
    url: str | None = None  # the chapter's link (psc ``href``)
    image_url: str | None = None  # its picture, published (psc ``image``)
    image_alt: str = ""  # the document's alt text for the picture (the site)


@dataclass(frozen=True)
class FeedItem:
    """One episode of the feed.

    ``description`` is the episode's own text; the renderer appends the
    chapter list to it.
    """

    guid: str
    title: str
    description: str
    pub_date: datetime
    enclosure_url: str
    length_bytes: int
    duration_s: float
    episode: int | None = None
    explicit: bool | None = None  # None: same as the channel
    image_url: str | None = None
    chapters_url: str | None = None
    transcript_urls: tuple[tuple[str, str], ...] = ()  # (url, MIME type)
    chapters: tuple[FeedChapter, ...] = ()
    link: str | None = None  # the episode's web page
    mime_type: str = MP3_MIME  # the enclosure's: audio/mpeg or audio/mp4


def audio_mime(container: str) -> str:
    """The enclosure type of an episode file: ``audio/mpeg`` for MP3,
    ``audio/mp4`` for M4A and M4B alike (RFC 4337; Apple lists M4A/M4B
    episodes as audio/mp4 too)."""
    return MP3_MIME if container == "mp3" else MP4_MIME


def qname(namespace: str, name: str) -> str:
    """Return the ElementTree name of ``name`` in ``namespace``: ``{uri}name``."""
    return f"{{{namespace}}}{name}"


def chapters_label(language: str) -> str:
    """Return the line that opens the chapter list in an item's description.

    The renderer writes it and the reader cuts the description there, so
    both must use this one spelling.
    """
    return "Chapitres :" if language.lower().startswith("fr") else "Chapters:"


__all__ = [
    "ATOM_NS",
    "ITUNES_NS",
    "MP3_MIME",
    "MP4_MIME",
    "NAMESPACES",
    "PODCAST_NS",
    "PODCAST_NS_CANONICAL",
    "PSC_NS",
    "FeedChapter",
    "FeedItem",
    "audio_mime",
    "chapters_label",
    "qname",
]
