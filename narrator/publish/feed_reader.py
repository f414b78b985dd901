"""Reading back a feed narrator wrote, so that publishing can update it.

``publish`` never keeps its own record of the feed: the feed file is the
record. Each item is recovered as the ``FeedItem`` that rendered it (the
chapter list the renderer appended to the description is cut off again), so
re-rendering an unchanged feed gives the same items. Both Podcasting 2.0
namespace URIs are read (see ``items``).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from narrator.errors import FeedError
from narrator.publish.items import (
    ITUNES_NS,
    MP3_MIME,
    PODCAST_NS,
    PODCAST_NS_CANONICAL,
    PSC_NS,
    FeedChapter,
    FeedItem,
    chapters_label,
    qname,
)


@dataclass(frozen=True)
class ExistingFeed:
    """What ``parse_existing_feed`` recovers from a feed narrator wrote."""

    items: tuple[FeedItem, ...]
    podcast_guid: str | None = None


def parse_existing_feed(path: Path) -> ExistingFeed:
    """Read the items of a feed narrator wrote, so publishing can update it.

    Elements narrator does not write are not kept.

    Raises:
        FeedError: the file is not an RSS feed that can be read.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise FeedError(
            f"{path}: cannot read the existing feed ({exc}); fix it or move it "
            "away to start a new feed."
        ) from exc
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise FeedError(f"{path}: not an RSS 2.0 feed; move it away to start anew.")
    language = channel.findtext("language") or "fr"
    items = tuple(_parse_item(node, path, language) for node in channel.findall("item"))
    guid = _find_podcast(channel, "guid")
    podcast_guid_text = guid.text.strip() if guid is not None and guid.text else None
    return ExistingFeed(items=items, podcast_guid=podcast_guid_text)


def _find_podcast(node: ET.Element, name: str) -> ET.Element | None:
    found = node.find(qname(PODCAST_NS, name))
    if found is not None:
        return found
    return node.find(qname(PODCAST_NS_CANONICAL, name))


def _parse_item(node: ET.Element, path: Path, language: str) -> FeedItem:
    title = node.findtext("title") or ""
    guid = (node.findtext("guid") or "").strip()
    enclosure = node.find("enclosure")
    if enclosure is None or not guid:
        raise FeedError(
            f"{path}: item {title!r} has no guid or enclosure; narrator cannot "
            "update this feed. Move it away to start anew."
        )
    date_text = node.findtext("pubDate")
    try:
        pub_date = parsedate_to_datetime(date_text) if date_text else None
    except (TypeError, ValueError):
        pub_date = None
    if pub_date is None:
        pub_date = datetime.fromtimestamp(0, tz=UTC)
    chapter_path = f"{qname(PSC_NS, 'chapters')}/{qname(PSC_NS, 'chapter')}"
    chapters = tuple(
        FeedChapter(
            start_s=_parse_npt(c.get("start", "0")),
            title=c.get("title", ""),
            url=c.get("href") or None,
            image_url=c.get("image") or None,
        )
        for c in node.iterfind(chapter_path)
    )
    description = node.findtext("description") or ""
    if chapters:
        marker = "\n" + chapters_label(language) + "\n"
        head, sep, _ = description.rpartition(marker)
        if sep:
            description = head
        elif description.startswith(marker.lstrip("\n")):
            description = ""
    episode_text = node.findtext(qname(ITUNES_NS, "episode"))
    explicit_text = node.findtext(qname(ITUNES_NS, "explicit"))
    image = node.find(qname(ITUNES_NS, "image"))
    chapters_node = _find_podcast(node, "chapters")
    link = (node.findtext("link") or "").strip()
    duration_text = node.findtext(qname(ITUNES_NS, "duration")) or "0"
    transcripts = [
        (t.get("url", ""), t.get("type", ""))
        for ns in (PODCAST_NS, PODCAST_NS_CANONICAL)
        for t in node.findall(qname(ns, "transcript"))
    ]
    return FeedItem(
        guid=guid,
        title=title,
        description=description.strip(),
        pub_date=pub_date,
        enclosure_url=enclosure.get("url", ""),
        length_bytes=_int(enclosure.get("length")) or 0,
        duration_s=_parse_duration(duration_text),
        episode=_int(episode_text),
        explicit=None
        if explicit_text is None
        else explicit_text.strip().lower() in {"true", "yes"},
        image_url=image.get("href") if image is not None else None,
        chapters_url=chapters_node.get("url") if chapters_node is not None else None,
        transcript_urls=tuple(transcripts),
        chapters=chapters,
        link=link or None,
        mime_type=enclosure.get("type", "").strip() or MP3_MIME,
    )


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _parse_duration(text: str) -> float:
    parts = text.strip().split(":")
    try:
        total = 0.0
        for part in parts:
            total = total * 60 + float(part)
    except ValueError:
        return 0.0
    return total if math.isfinite(total) else 0.0


def _parse_npt(text: str) -> float:
    return _parse_duration(text)


__all__ = ["ExistingFeed", "parse_existing_feed"]
