"""The feed rules: enclosures, guids, transcript types, the chapters JSON.

The feed is parsed as untrusted XML (``xmlsafe``). The files an item names
are checked when they are local: a URL's file name beside the feed, or its
path under ``--root``; other URLs are fetched only when asked (``fetch``)
and otherwise reported as not checked. The media files themselves are
checked by the caller's ``check_media`` (the dispatcher's), which keeps
this module off the MP3 and MP4 readers' import chains.

Guids: an app keys episodes by guid, so a guid that changes between
versions of the feed lists the episode twice. What the previous version
said is kept in the episode file itself (narrator tags the guid it published
it under as NARRATOR_GUID): the item's guid is compared with it, and with
the other items' (two items sharing one).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from narrator.check.chapters import MAX_JSON_BYTES, json_problems
from narrator.check.fetch import fetch_to
from narrator.check.rules import Problem, Report, problem
from narrator.check.xmlsafe import MAX_FEED_BYTES, parse_feed, read_capped
from narrator.errors import InputError, NarratorError
from narrator.model import Chapter
from narrator.publish.items import PODCAST_NS, PODCAST_NS_CANONICAL, qname

TRANSCRIPT_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt"}
MEDIA_TYPES = {
    "mp3": ("audio/mpeg", "audio/mp3"),
    "m4a": ("audio/mp4", "audio/x-m4a", "audio/m4a"),
    "m4b": ("audio/mp4", "audio/x-m4b", "audio/m4b"),
}


@dataclass(frozen=True)
class Media:
    """What the feed needs of an episode file: its report, chapters and guid."""

    report: Report
    kind: str  # "mp3", "m4a", "m4b"
    chapters: tuple[Chapter, ...]
    guid: str | None


@dataclass
class Context:
    """Where local files are looked for, whether URLs are fetched, into where."""

    feed_dir: Path
    root: Path | None
    fetch_dir: Path | None  # None: URLs are not fetched
    check_media: Callable[[Path], Media]
    # Only the items whose enclosure has one of these file names get their
    # files checked (None: every item): what publish checks after adding one.
    only: frozenset[str] | None = None
    reports: list[Report] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


def check_feed(path: Path, context: Context) -> list[Report]:
    """The feed's report, then those of the files it names.

    Raises:
        InputError: unreadable, too large, unsafe XML, or not RSS.
    """
    root = parse_feed(read_capped(path, MAX_FEED_BYTES, "feed"), str(path))
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise_not_rss(path)
    found: list[Problem] = []
    guids: dict[str, str] = {}
    for item in channel.findall("item"):
        title = item.findtext("title") or "(untitled)"
        guid = (item.findtext("guid") or "").strip()
        if guid and guid in guids:
            found.append(
                problem(
                    "guid-duplicate",
                    f"items {guids[guid]!r} and {title!r} share the guid {guid!r}.",
                )
            )
        guids.setdefault(guid, title)
        found += _item_problems(item, title, guid, context)
    if context.unchecked:
        found.append(
            problem(
                "not-checked",
                f"{len(context.unchecked)} file(s) named by URL were not checked, "
                f"e.g. {context.unchecked[0]}.",
            )
        )
    return [Report(str(path), "feed", tuple(found)), *context.reports]


def raise_not_rss(path: Path) -> NoReturn:
    """Raises: InputError, always: the file is XML but no RSS 2.0 feed."""
    raise InputError(f"{path}: not an RSS 2.0 feed (no rss/channel element).")


def _item_problems(
    item: ET.Element, title: str, guid: str, context: Context
) -> list[Problem]:
    found: list[Problem] = []
    enclosure = item.find("enclosure")
    media = None
    if enclosure is not None and context.only is not None:
        name = Path(unquote(urlsplit(enclosure.get("url", "")).path)).name
        if name not in context.only:
            return _transcript_types(item, title, context)
    if enclosure is not None:
        media, enclosure_problems = _enclosure(enclosure, title, context)
        found += enclosure_problems
    if media is not None and media.guid and guid and media.guid != guid:
        found.append(
            problem(
                "guid-changed",
                f"item {title!r} has guid {guid!r}; its episode file was published "
                f"as {media.guid!r}.",
            )
        )
    found += _transcript_types(item, title, context)
    for ns in (PODCAST_NS, PODCAST_NS_CANONICAL):
        for node in item.findall(qname(ns, "chapters")):
            found += _chapters_json(node, title, media, context)
    return found


def _transcript_types(item: ET.Element, title: str, context: Context) -> list[Problem]:
    return [
        found
        for ns in (PODCAST_NS, PODCAST_NS_CANONICAL)
        for node in item.findall(qname(ns, "transcript"))
        for found in _transcript(node, title, context)
    ]


def _enclosure(
    node: ET.Element, title: str, context: Context
) -> tuple[Media | None, list[Problem]]:
    url = node.get("url", "")
    local, fetched = _locate(url, context)
    if local is None:
        if not fetched:
            return None, []
        return None, [problem("enclosure-missing", f"item {title!r}: {fetched}")]
    try:
        media = context.check_media(local)
    except NarratorError as exc:
        return None, [problem("unreadable", f"item {title!r}: {exc}")]
    context.reports.append(replace(media.report, path=url) if fetched else media.report)
    found = []
    size = local.stat().st_size
    length = (node.get("length") or "").strip()
    if length != str(size):
        found.append(
            problem(
                "enclosure-length",
                f"item {title!r}: enclosure length {length or 'missing'!r}, the file "
                f"has {size} bytes.",
            )
        )
    mime = (node.get("type") or "").strip().lower()
    if mime not in MEDIA_TYPES.get(media.kind, ()):
        found.append(
            problem(
                "enclosure-type",
                f"item {title!r}: enclosure type {mime or 'missing'!r} for an "
                f"{media.kind.upper()} file (expected {MEDIA_TYPES[media.kind][0]}).",
            )
        )
    return media, found


def _transcript(node: ET.Element, title: str, context: Context) -> list[Problem]:
    url = node.get("url", "")
    mime = (node.get("type") or "").strip().lower()
    suffix = Path(urlsplit(url).path).suffix.lower()
    local, _ = _locate(url, context, fetch=False)
    if local is not None:
        # What the file is, whatever its name says: WebVTT opens with WEBVTT.
        try:
            with local.open("rb") as handle:
                vtt = handle.read(16).lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT")
        except OSError as exc:
            return [problem("unreadable", f"item {title!r}: {local.name}: {exc}")]
        suffix = ".vtt" if vtt else (".srt" if suffix == ".vtt" else suffix)
    expected = TRANSCRIPT_TYPES.get(suffix)
    if expected is None or mime == expected:
        return []
    return [
        problem(
            "transcript-type",
            f"item {title!r}: transcript {Path(urlsplit(url).path).name} is typed "
            f"{mime or 'nothing'!r}, not {expected}.",
        )
    ]


def _chapters_json(
    node: ET.Element, title: str, media: Media | None, context: Context
) -> list[Problem]:
    if media is None:
        return []
    local, failed = _locate(node.get("url", ""), context, limit=MAX_JSON_BYTES)
    if local is None:
        return [problem("unreadable", f"item {title!r}: {failed}")] if failed else []
    try:
        data = read_capped(local, MAX_JSON_BYTES, "chapters JSON")
    except NarratorError as exc:
        return [problem("unreadable", f"item {title!r}: {exc}")]
    return json_problems(data, media.chapters, source=f"item {title!r}: {local.name}")


def _locate(
    url: str, context: Context, *, fetch: bool = True, limit: int | None = None
) -> tuple[Path | None, str]:
    """The local file ``url`` names (fetched when allowed) and how it came.

    With a path, the second value is "" for a file found here and "fetched"
    for one fetched; without, it says why the file is missing, or is "" when
    it is simply not checked (a URL without ``--fetch``).
    """
    parts = urlsplit(url)
    relative = unquote(parts.path).lstrip("/")
    if not relative or ".." in Path(relative).parts:
        return None, f"{url!r} names no file" if fetch else ""
    candidates = [context.feed_dir / Path(relative).name]
    if context.root is not None:
        candidates += [context.root / relative, context.root / Path(relative).name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate, ""
    if not fetch:
        return None, ""
    if parts.scheme not in ("http", "https"):
        return None, f"{url} is not beside the feed or under --root"
    if context.fetch_dir is None:
        context.unchecked.append(url)
        return None, ""
    try:
        return fetch_to(url, context.fetch_dir, limit), "fetched"
    except NarratorError as exc:
        return None, str(exc)
