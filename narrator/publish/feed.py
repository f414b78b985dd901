"""The podcast RSS feed: channel configuration, a pure renderer, a reader.

``render_feed`` builds RSS 2.0 with ``xml.etree.ElementTree`` (every text and
attribute value is escaped by the library, never concatenated) and adds the
iTunes, Podcasting 2.0, Podlove Simple Chapters and Atom namespaces.

Podcasting 2.0 namespace URI. The spec's canonical URI is
``https://podcastindex.org/namespace/1.0`` and it says clients must treat the
older ``https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md``
as identical. Measured on the same feed: podcastparser 0.6.11 (gPodder)
silently drops ``podcast:chapters`` and ``podcast:transcript`` under the
canonical URI and reads both under the GitHub URI; feedparser 6.0.14 reads
them under either (it keys them by prefix). So narrator writes the GitHub
URI, which every client we can test accepts, and reads both.

Both parsers keep only the last ``podcast:transcript`` of an item, so the SRT
comes first and the preferred WebVTT last.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

from narrator.atomic import write_bytes_atomic
from narrator.errors import ConfigError, FeedError

logger = logging.getLogger(__name__)

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = (
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
)
PODCAST_NS_CANONICAL = "https://podcastindex.org/namespace/1.0"
PSC_NS = "http://podlove.org/simple-chapters"
ATOM_NS = "http://www.w3.org/2005/Atom"
# Podcasting 2.0 podcast:guid is a UUIDv5 of the feed URL in this namespace.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

_NAMESPACES = {
    "itunes": ITUNES_NS,
    "podcast": PODCAST_NS,
    "psc": PSC_NS,
    "atom": ATOM_NS,
}

# Apple Podcasts top-level categories; a typo here means no category at all.
APPLE_CATEGORIES = (
    "Arts",
    "Business",
    "Comedy",
    "Education",
    "Fiction",
    "Government",
    "Health & Fitness",
    "History",
    "Kids & Family",
    "Leisure",
    "Music",
    "News",
    "Religion & Spirituality",
    "Science",
    "Society & Culture",
    "Sports",
    "Technology",
    "True Crime",
    "TV & Film",
)

_REQUIRED = ("title", "author", "email", "description", "category", "explicit", "link")
_OPTIONAL = ("language", "image", "subcategory", "guid")

# XML 1.0 forbids most C0 controls even when escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class PodcastConfig:
    """Channel metadata, from ``podcast.toml`` plus command-line overrides.

    ``image`` is a URL or a path relative to the feed's URL. ``guid`` pins the
    ``podcast:guid`` so the show keeps its identity if the feed moves.
    """

    title: str
    author: str
    email: str
    description: str
    category: str
    explicit: bool
    link: str
    language: str = "fr"
    image: str | None = None
    subcategory: str | None = None
    guid: str | None = None


@dataclass(frozen=True)
class FeedChapter:
    """A chapter as listed in the item (Podlove Simple Chapters)."""

    start_s: float
    title: str


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


@dataclass(frozen=True)
class ExistingFeed:
    """What ``parse_existing_feed`` recovers from a feed narrator wrote."""

    items: tuple[FeedItem, ...]
    podcast_guid: str | None = None


# --- configuration ----------------------------------------------------------


def load_podcast_config(
    path: Path, overrides: Mapping[str, str] | None = None
) -> PodcastConfig:
    """Read ``podcast.toml`` and apply overrides (e.g. ``--title``).

    Keys may be at the top level or in a ``[podcast]`` table.

    Raises:
        ConfigError: the file is missing or not TOML, a required key is
            missing, or a value has the wrong type or an unknown category.
    """
    overrides = dict(overrides or {})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: podcast configuration not found; create it with "
            f"`narrator init-podcast {path}` and fill in the values."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    table = raw.get("podcast", raw) if isinstance(raw.get("podcast"), dict) else raw

    known = set(_REQUIRED) | set(_OPTIONAL)
    for key in sorted(set(table) - known):
        logger.warning("%s: unknown key %r ignored", path, key)
    for key in sorted(set(overrides) - known):
        raise ConfigError(
            f"unknown podcast setting {key!r}; use one of {sorted(known)}."
        )

    values: dict[str, object] = {}
    for key in known:
        if key in overrides and overrides[key] is not None:
            values[key] = _from_text(key, overrides[key], source="option")
        elif key in table:
            values[key] = _checked(key, table[key], source=str(path))
    for key in _REQUIRED:
        if key not in values or values[key] == "":
            raise ConfigError(
                f"{path}: missing required key {key!r}; add `{key} = ...` "
                "(see `narrator init-podcast` for a commented example)."
            )
    category = str(values["category"])
    if category not in APPLE_CATEGORIES:
        raise ConfigError(
            f"{path}: category {category!r} is not an Apple Podcasts category; "
            f"use one of: {', '.join(APPLE_CATEGORIES)}."
        )
    email = str(values["email"])
    if "@" not in email:
        raise ConfigError(f"{path}: email {email!r} is not an e-mail address.")
    # Each value was checked against its key's type by _checked/_from_text.
    return PodcastConfig(**cast("dict[str, Any]", values))


def _checked(key: str, value: object, *, source: str) -> object:
    if key == "explicit":
        if not isinstance(value, bool):
            raise ConfigError(
                f"{source}: explicit must be true or false, not {value!r}."
            )
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, not {value!r}.")
    return value.strip()


def _from_text(key: str, value: str, *, source: str) -> object:
    if key == "explicit":
        lowered = value.strip().lower()
        if lowered in {"true", "yes", "1"}:
            return True
        if lowered in {"false", "no", "0"}:
            return False
        raise ConfigError(f"{source}: explicit must be true or false, not {value!r}.")
    return value.strip()


def starter_config() -> str:
    """Return a commented ``podcast.toml`` for ``narrator init-podcast``."""
    categories = "\n".join(f"#   {c}" for c in APPLE_CATEGORIES)
    return f"""\
# Podcast channel settings for `narrator publish`.
# Every key without a default is required. Values are TOML strings
# ("...") except explicit, which is true or false.

title = "Mon podcast"
author = "Prénom Nom"
# Shown to directories (itunes:owner), not to listeners.
email = "podcast@example.org"
description = "Des résumés lus à voix haute, un épisode par document."
# The show's web page.
link = "https://example.org/"
# ISO 639-1 language code.
language = "fr"
# Apple Podcasts category, exactly one of:
{categories}
category = "Education"
# Optional Apple subcategory, e.g. "Courses" under Education.
# subcategory = "Courses"
explicit = false
# Optional: square JPEG/PNG, 1400-3000 px, as a URL or a path relative to
# the feed. Without it, the first episode's cover is used.
# image = "cover.jpg"
# Optional: pin podcast:guid (a UUID) so the show keeps its identity if the
# feed moves; by default it is derived from the feed URL.
# guid = "..."
"""


# --- rendering --------------------------------------------------------------


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
    for prefix, uri in _NAMESPACES.items():
        ET.register_namespace(prefix, uri)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    _text(channel, "title", config.title)
    _text(channel, "link", config.link)
    _text(channel, "description", config.description)
    _text(channel, "language", config.language)
    _text(channel, "generator", "narrator")
    ordered = sort_items(items)
    if ordered:
        newest = max(item.pub_date for item in ordered)
        _text(channel, "lastBuildDate", _rfc2822(newest))
    if self_url:
        ET.SubElement(
            channel,
            _q(ATOM_NS, "link"),
            {"href": self_url, "rel": "self", "type": "application/rss+xml"},
        )
    if config.image:
        image = ET.SubElement(channel, "image")
        _text(image, "url", config.image)
        _text(image, "title", config.title)
        _text(image, "link", config.link)
        ET.SubElement(channel, _q(ITUNES_NS, "image"), {"href": config.image})
    _text(channel, _q(ITUNES_NS, "author"), config.author)
    owner = ET.SubElement(channel, _q(ITUNES_NS, "owner"))
    _text(owner, _q(ITUNES_NS, "name"), config.author)
    _text(owner, _q(ITUNES_NS, "email"), config.email)
    category = ET.SubElement(
        channel, _q(ITUNES_NS, "category"), {"text": _clean(config.category)}
    )
    if config.subcategory:
        ET.SubElement(
            category, _q(ITUNES_NS, "category"), {"text": _clean(config.subcategory)}
        )
    _text(channel, _q(ITUNES_NS, "explicit"), _bool(config.explicit))
    _text(channel, _q(ITUNES_NS, "type"), "episodic")
    guid = (
        config.guid
        or podcast_guid_value
        or (podcast_guid(self_url) if self_url else None)
    )
    if guid:
        _text(channel, _q(PODCAST_NS, "guid"), guid)

    for item in ordered:
        _render_item(channel, item, config)

    ET.indent(rss, space="  ")
    body = ET.tostring(rss, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


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
            "type": "audio/mpeg",
        },
    )
    _text(node, _q(ITUNES_NS, "title"), item.title)
    _text(node, _q(ITUNES_NS, "duration"), str(round(item.duration_s)))
    if item.episode is not None:
        _text(node, _q(ITUNES_NS, "episode"), str(item.episode))
    _text(node, _q(ITUNES_NS, "episodeType"), "full")
    explicit = config.explicit if item.explicit is None else item.explicit
    _text(node, _q(ITUNES_NS, "explicit"), _bool(explicit))
    if item.image_url:
        ET.SubElement(node, _q(ITUNES_NS, "image"), {"href": _clean(item.image_url)})
    if item.chapters_url:
        ET.SubElement(
            node,
            _q(PODCAST_NS, "chapters"),
            {"url": _clean(item.chapters_url), "type": "application/json+chapters"},
        )
    for url, mime in _transcripts_in_order(item.transcript_urls):
        attrs = {"url": _clean(url), "type": mime, "language": config.language}
        if mime in {"text/vtt", "application/x-subrip"}:
            attrs["rel"] = "captions"
        ET.SubElement(node, _q(PODCAST_NS, "transcript"), attrs)
    if item.chapters:
        psc = ET.SubElement(node, _q(PSC_NS, "chapters"), {"version": "1.2"})
        for chapter in item.chapters:
            ET.SubElement(
                psc,
                _q(PSC_NS, "chapter"),
                {"start": _npt(chapter.start_s), "title": _clean(chapter.title)},
            )


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
    label = _chapters_label(language)
    listing = "\n".join(f"{_clock(c.start_s)} {c.title}" for c in item.chapters)
    return f"{text}\n\n{label}\n{listing}" if text else f"{label}\n{listing}"


def _chapters_label(language: str) -> str:
    return "Chapitres :" if language.lower().startswith("fr") else "Chapters:"


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


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    node = ET.SubElement(parent, tag)
    node.text = _clean(value)
    return node


# --- reading back -----------------------------------------------------------


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
    found = node.find(_q(PODCAST_NS, name))
    return found if found is not None else node.find(_q(PODCAST_NS_CANONICAL, name))


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
    chapters = tuple(
        FeedChapter(start_s=_parse_npt(c.get("start", "0")), title=c.get("title", ""))
        for c in node.iterfind(f"{_q(PSC_NS, 'chapters')}/{_q(PSC_NS, 'chapter')}")
    )
    description = node.findtext("description") or ""
    if chapters:
        marker = "\n" + _chapters_label(language) + "\n"
        head, sep, _ = description.rpartition(marker)
        if sep:
            description = head
        elif description.startswith(marker.lstrip("\n")):
            description = ""
    episode_text = node.findtext(_q(ITUNES_NS, "episode"))
    explicit_text = node.findtext(_q(ITUNES_NS, "explicit"))
    image = node.find(_q(ITUNES_NS, "image"))
    chapters_node = _find_podcast(node, "chapters")
    link = (node.findtext("link") or "").strip()
    transcripts = [
        (t.get("url", ""), t.get("type", ""))
        for ns in (PODCAST_NS, PODCAST_NS_CANONICAL)
        for t in node.findall(_q(ns, "transcript"))
    ]
    return FeedItem(
        guid=guid,
        title=title,
        description=description.strip(),
        pub_date=pub_date,
        enclosure_url=enclosure.get("url", ""),
        length_bytes=_int(enclosure.get("length")) or 0,
        duration_s=_parse_duration(node.findtext(_q(ITUNES_NS, "duration")) or "0"),
        episode=_int(episode_text),
        explicit=None
        if explicit_text is None
        else explicit_text.strip().lower() in {"true", "yes"},
        image_url=image.get("href") if image is not None else None,
        chapters_url=chapters_node.get("url") if chapters_node is not None else None,
        transcript_urls=tuple(transcripts),
        chapters=chapters,
        link=link or None,
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


def write_feed(path: Path, data: bytes) -> None:
    """Write the feed atomically, so a host never serves half a feed."""
    write_bytes_atomic(path, data)


def config_with_image(config: PodcastConfig, image_url: str | None) -> PodcastConfig:
    """Return the config with its image replaced (an absolute URL or None)."""
    return replace(config, image=image_url)


__all__ = [
    "APPLE_CATEGORIES",
    "ExistingFeed",
    "FeedChapter",
    "FeedItem",
    "PodcastConfig",
    "config_with_image",
    "describe",
    "load_podcast_config",
    "parse_existing_feed",
    "podcast_guid",
    "render_feed",
    "sort_items",
    "starter_config",
    "write_feed",
]
