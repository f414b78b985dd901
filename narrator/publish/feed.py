"""The podcast RSS feed: a pure renderer and its atomic writer.

``render_feed`` builds RSS 2.0 with ``xml.etree.ElementTree`` (every text and
attribute value is escaped by the library, never concatenated) and adds the
iTunes, Podcasting 2.0, Podlove Simple Chapters and Atom namespaces (see
``items`` for why the Podcasting 2.0 URI is the GitHub one). The channel's
settings come from ``channel``; ``feed_reader`` reads a written feed back.

Both parsers keep only the last ``podcast:transcript`` of an item, so the SRT
comes first and the preferred WebVTT last.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

from narrator.errors import FeedError
from narrator.publish.channel import PodcastConfig
from narrator.publish.items import (
    ATOM_NS,
    ITUNES_NS,
    NAMESPACES,
    PODCAST_NS,
    PSC_NS,
    FeedItem,
    chapters_label,
    qname,
)

# Podcasting 2.0 podcast:guid is a UUIDv5 of the feed URL in this namespace.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

# XML 1.0 forbids most C0 controls even when escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def podcast_guid(feed_url: str) -> str:
    """Derive ``podcast:guid``: UUIDv5 of the feed URL without scheme or slash."""
    bare = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def render_feed(
    config: PodcastConfig,
    items: Sequence[FeedItem],
    *,
    self_url: str | None = None,
    podcast_guid_value: str | None = None,
) -> bytes:
    """Render the RSS 2.0 feed as UTF-8 bytes, newest episode first.

    ``config.image`` must already be an absolute URL here.
    """
    for prefix, uri in NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ordered = sort_items(items)
    _render_channel(channel, config, ordered, self_url)
    _render_itunes_channel(channel, config)
    guid = (
        config.guid
        or podcast_guid_value
        or (podcast_guid(self_url) if self_url else None)
    )
    if guid:
        _text(channel, qname(PODCAST_NS, "guid"), guid)

    for item in ordered:
        _render_item(channel, item, config)

    ET.indent(rss, space="  ")
    body = ET.tostring(rss, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _render_channel(
    channel: ET.Element,
    config: PodcastConfig,
    ordered: Sequence[FeedItem],
    self_url: str | None,
) -> None:
    """Write the channel's RSS and Atom elements: title to image."""
    _text(channel, "title", config.title)
    _text(channel, "link", config.link)
    _text(channel, "description", config.description)
    _text(channel, "language", config.language)
    _text(channel, "generator", "narrator")
    if ordered:
        newest = max(item.pub_date for item in ordered)
        _text(channel, "lastBuildDate", _rfc2822(newest))
    if self_url:
        ET.SubElement(
            channel,
            qname(ATOM_NS, "link"),
            {"href": self_url, "rel": "self", "type": "application/rss+xml"},
        )
    if config.image:
        image = ET.SubElement(channel, "image")
        _text(image, "url", config.image)
        _text(image, "title", config.title)
        _text(image, "link", config.link)
        ET.SubElement(channel, qname(ITUNES_NS, "image"), {"href": config.image})


def _render_itunes_channel(channel: ET.Element, config: PodcastConfig) -> None:
    """Write the channel's iTunes elements: author, owner, category, explicit."""
    _text(channel, qname(ITUNES_NS, "author"), config.author)
    owner = ET.SubElement(channel, qname(ITUNES_NS, "owner"))
    _text(owner, qname(ITUNES_NS, "name"), config.author)
    _text(owner, qname(ITUNES_NS, "email"), config.email)
    category = ET.SubElement(
        channel, qname(ITUNES_NS, "category"), {"text": _clean(config.category)}
    )
    if config.subcategory:
        subcategory = {"text": _clean(config.subcategory)}
        ET.SubElement(category, qname(ITUNES_NS, "category"), subcategory)
    _text(channel, qname(ITUNES_NS, "explicit"), _bool(config.explicit))
    _text(channel, qname(ITUNES_NS, "type"), "episodic")


def sort_items(items: Sequence[FeedItem]) -> list[FeedItem]:
    """Order items newest first; ties by episode number, highest first."""
    return sorted(
        items, key=lambda i: (i.pub_date, i.episode or 0, i.title), reverse=True
    )


def _render_item(channel: ET.Element, item: FeedItem, config: PodcastConfig) -> None:
    node = ET.SubElement(channel, "item")
    _text(node, "title", item.title)
    if item.link:
        _text(node, "link", item.link)
    _text(node, "description", describe(item, config.language))
    _text(node, "guid", item.guid).set("isPermaLink", "false")
    _text(node, "pubDate", _rfc2822(item.pub_date))
    if item.length_bytes < 0:
        raise FeedError(f"episode {item.title!r}: enclosure length is unknown.")
    ET.SubElement(
        node,
        "enclosure",
        {
            "url": _clean(item.enclosure_url),
            "length": str(int(item.length_bytes)),
            "type": item.mime_type,
        },
    )
    _text(node, qname(ITUNES_NS, "title"), item.title)
    _text(node, qname(ITUNES_NS, "duration"), str(round(item.duration_s)))
    if item.episode is not None:
        _text(node, qname(ITUNES_NS, "episode"), str(item.episode))
    _text(node, qname(ITUNES_NS, "episodeType"), "full")
    explicit = config.explicit if item.explicit is None else item.explicit
    _text(node, qname(ITUNES_NS, "explicit"), _bool(explicit))
    if item.image_url:
        ET.SubElement(node, qname(ITUNES_NS, "image"), {"href": _clean(item.image_url)})
    if item.chapters_url:
        ET.SubElement(
            node,
            qname(PODCAST_NS, "chapters"),
            {"url": _clean(item.chapters_url), "type": "application/json+chapters"},
        )
    for url, mime in _transcripts_in_order(item.transcript_urls):
        attrs = {"url": _clean(url), "type": mime, "language": config.language}
        if mime in {"text/vtt", "application/x-subrip"}:
            attrs["rel"] = "captions"
        ET.SubElement(node, qname(PODCAST_NS, "transcript"), attrs)
    if item.chapters:
        psc = ET.SubElement(node, qname(PSC_NS, "chapters"), {"version": "1.2"})
        for chapter in item.chapters:
            attrs = {"start": _npt(chapter.start_s), "title": _clean(chapter.title)}
            if chapter.url:
                attrs["href"] = _clean(chapter.url)
            if chapter.image_url:
                attrs["image"] = _clean(chapter.image_url)
            ET.SubElement(psc, qname(PSC_NS, "chapter"), attrs)


def _transcripts_in_order(
    urls: Sequence[tuple[str, str]],
) -> list[tuple[str, str]]:
    # Parsers that keep one transcript keep the last: put WebVTT there.
    return sorted(urls, key=lambda pair: pair[1] == "text/vtt")


def describe(item: FeedItem, language: str = "fr") -> str:
    """Return the item description: the episode text plus its chapter list."""
    text = item.description.strip()
    if not item.chapters:
        return text
    label = chapters_label(language)
    listing = "\n".join(f"{_clock(c.start_s)} {c.title}" for c in item.chapters)
    return f"{text}\n\n{label}\n{listing}" if text else f"{label}\n{listing}"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _npt(seconds: float) -> str:
    """Format Normal Play Time for Podlove: HH:MM:SS.mmm."""
    ms = max(0, round(seconds * 1000))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _rfc2822(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def _bool(value: bool) -> str:
    # Apple requires "true"/"false" (feedgen's yes/no/clean is outdated).
    return "true" if value else "false"


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    node = ET.SubElement(parent, tag)
    node.text = _clean(value)
    return node


__all__ = [
    "describe",
    "podcast_guid",
    "render_feed",
    "sort_items",
]
