"""Publish an episode into a podcast feed: add, update in place or remove.

The episode is an MP3 or an M4A/M4B (``audio/mp4`` enclosures); one feed may
hold both. "The MP3" below stands for either. Everything an item needs is
read back from the MP3's own tags (title,
description, chapters, cover, guid: ``episode_file``), so ``publish`` works
on any episode ``narrator build`` wrote, long after the build.

Rules:
- The item guid is the MP3's ``TXXX:NARRATOR_GUID``; it survives
  regeneration, so re-publishing the same episode updates its item (new
  length, duration, chapters, description) instead of adding a duplicate.
  An MP3 without that frame gets a UUIDv5 of its file name (stable as long
  as the name is).
- An updated item keeps its original ``pubDate``: a corrected episode must
  not jump to the top or be re-downloaded as new. A new item gets ``now``.
- An item whose enclosure is the same file, or the same stem in another
  format (``ep.m4b`` published after ``ep.mp3``), but whose guid differs is
  replaced (a feed must not list one URL twice, and the site has one page
  per stem); with the same title it is the same episode, and keeps its guid
  and ``pubDate``.
- ``remove=True`` takes out the item with the MP3's guid, or, when the MP3
  is gone, the item whose enclosure is that file name.
- Sidecars (``<stem>.chapters.json``, ``.vtt``, ``.srt``) are linked when
  they exist next to the MP3. An APIC cover is written next to the MP3 as
  ``<stem>.jpg`` (or ``.png``) and used as the item's ``itunes:image``.
- The channel image is the config's ``image`` (resolved against the feed
  URL), else the oldest episode's cover.
- Unless ``site=False``, the show's web pages (``narrator.publish.site``) are
  rewritten beside the feed on every publish and removal, and each item's
  ``<link>`` points to its page. Everything is rendered before anything is
  written, so a publish that fails leaves the previous feed and pages as
  they were.
- Publishes to one folder take turns, and write the feed and pages as one
  set (``transaction``): concurrent publishes lose no item, and a publish
  killed at any moment leaves the previous set or the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from narrator.container.cover import validate_cover
from narrator.errors import FeedError, InputError
from narrator.publish.channel import (
    PodcastConfig,
    config_with_image,
    init_podcast,
    load_podcast_config,
    refuse_placeholders,
)
from narrator.publish.chapter_files import published_chapters
from narrator.publish.episode_file import (
    PublishedEpisode,
    read_episode_file,
    write_cover,
)
from narrator.publish.feed import render_feed, sort_items
from narrator.publish.feed_reader import ExistingFeed, parse_existing_feed
from narrator.publish.items import FeedItem
from narrator.publish.player import read_cues
from narrator.publish.site import (
    INDEX_PAGE,
    Site,
    SiteEpisode,
    check_site,
    enclosure_name,
    is_narrator_page,
    local_href,
    page_name,
    render_site,
)
from narrator.publish.transaction import (
    DEFAULT_LOCK_WAIT_S,
    publish_lock,
    recover,
    write_set,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishResult:
    """What ``publish_episode`` did.

    ``action`` is "added", "updated" or "removed".
    """

    feed_path: Path
    action: str
    guid: str
    title: str
    episode_count: int
    item: FeedItem | None
    cover_path: Path | None = None
    pages: tuple[Path, ...] = ()  # the web pages written, index first


def publish_episode(
    mp3_path: Path,
    *,
    feed_path: Path,
    base_url: str,
    config_path: Path | None = None,
    overrides: Mapping[str, str] | None = None,
    remove: bool = False,
    now: datetime | None = None,
    feed_url: str | None = None,
    site: bool = True,
    lock_dir: Path | None = None,
    lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
) -> PublishResult:
    """Add, update or remove one episode in the feed and rewrite it atomically.

    ``base_url`` is where the MP3 and its sidecars will be served. The feed's
    own URL defaults to ``base_url`` + the feed's file name (both in one
    folder on a static host); pass ``feed_url`` when it lives elsewhere.
    With ``site``, the web pages are rewritten beside the feed, and served
    from ``base_url`` too. Publishes to one folder take turns
    (``transaction``): each waits up to ``lock_wait_s`` for the one before.

    Raises:
        ConfigError: the podcast configuration is missing or invalid.
        InputError: the MP3 cannot be read, ``base_url`` is not http(s), or
            a page to write exists and narrator did not write it.
        FeedError: the existing feed cannot be read, or the episode to
            remove is not in it.
        LockError: another publish kept the feed for all of ``lock_wait_s``.
    """
    base = _base_url(base_url)
    config_path = config_path or feed_path.parent / "podcast.toml"
    config = load_podcast_config(config_path, overrides or {})
    refuse_placeholders(config, config_path)
    self_url = feed_url or urljoin(base, quote(feed_path.name))
    with publish_lock(feed_path, lock_dir=lock_dir, wait_s=lock_wait_s):
        recover(feed_path.parent)
        existing = parse_existing_feed(feed_path) if feed_path.exists() else None
        before = list(existing.items) if existing else []
        enclosure_url = urljoin(base, quote(mp3_path.name))
        if remove:
            change = _removal(before, mp3_path, enclosure_url, feed_path)
        else:
            change = _addition(before, mp3_path, base, enclosure_url, now)
        config = _with_channel_image(config, change.items, feed_path, self_url)
        if site:
            change = change.with_page_links(base)
        files = _render(
            config, change, existing, feed_path, self_url, base, mp3_path, site
        )
        # Pages of episodes no longer in the feed (removed, or renamed MP3s).
        stale = {_page_of(i) for i in before} - {_page_of(i) for i in change.items}
        if not site:
            stale = set()
        folder = feed_path.parent
        ours = sorted(n for n in stale if is_narrator_page(folder / n))
        written = write_set(folder, files, delete=ours)
    pages = [p for p in written[:-1] if p.name not in change.chapter_files]
    return change.result(feed_path, pages)


def _render(
    config: PodcastConfig,
    change: _Change,
    existing: ExistingFeed | None,
    feed_path: Path,
    self_url: str,
    base: str,
    mp3_path: Path,
    site: bool,
) -> dict[str, bytes]:
    """Every file the publish writes, in rename order: episode pages, the
    index, the feed last (the feed never links a page that is not there).

    Raises:
        InputError: a page to write exists and narrator did not write it.
    """
    pages: dict[str, bytes] = {}
    if site:
        pages = render_site(
            _site(config, change.items, base, self_url, feed_path, mp3_path.parent)
        )
        check_site(feed_path.parent, pages)
    feed = render_feed(
        config,
        sort_items(change.items),
        self_url=self_url,
        podcast_guid_value=existing.podcast_guid if existing else None,
    )
    files = {n: pages[n] for n in sorted(pages, key=lambda n: n == INDEX_PAGE)}
    # The chapter pictures and their chapters JSON before any page names them.
    return {**change.chapter_files, **files, feed_path.name: feed}


@dataclass(frozen=True)
class _Change:
    """The feed's items after one addition, update or removal, and which it was.

    ``item`` is the added or updated item (None for a removal); ``guid`` and
    ``title`` name the episode either way, for the report.
    """

    items: list[FeedItem]
    action: str
    guid: str
    title: str
    item: FeedItem | None
    cover_path: Path | None = None
    # Chapter pictures and the chapters JSON naming them by URL (file name
    # to bytes), written beside the feed with it.
    chapter_files: Mapping[str, bytes] = field(default_factory=dict)

    def with_page_links(self, base: str) -> _Change:
        """Return the change with every item's ``<link>`` set to its web page."""
        return replace(
            self,
            items=[_with_page_link(i, base) for i in self.items],
            item=_with_page_link(self.item, base) if self.item is not None else None,
        )

    def result(self, feed_path: Path, written: list[Path]) -> PublishResult:
        """Return what ``publish_episode`` reports, the index first among the pages."""
        return PublishResult(
            feed_path=feed_path,
            action=self.action,
            guid=self.guid or "",
            title=self.title,
            episode_count=len(self.items),
            item=self.item,
            cover_path=self.cover_path,
            pages=tuple(sorted(written, key=lambda p: (p.name != INDEX_PAGE, p.name))),
        )


def _removal(
    items: list[FeedItem], mp3_path: Path, enclosure_url: str, feed_path: Path
) -> _Change:
    """Take out the MP3's item: by its guid, or by its URL once the MP3 is gone.

    Raises:
        InputError: the MP3 exists but cannot be read.
        FeedError: no item has the MP3's guid or URL.
    """
    guid = read_episode_file(mp3_path).guid if mp3_path.exists() else None
    kept = [i for i in items if i.guid != guid and i.enclosure_url != enclosure_url]
    if len(kept) == len(items):
        raise FeedError(
            f"{feed_path}: no episode for {mp3_path.name} in the feed; nothing removed."
        )
    removed = next(i for i in items if all(i is not k for k in kept))
    return _Change(
        items=kept, action="removed", guid=removed.guid, title=removed.title, item=None
    )


def _addition(
    items: list[FeedItem],
    mp3_path: Path,
    base: str,
    enclosure_url: str,
    now: datetime | None,
) -> _Change:
    """Add the MP3's item, or update the item it replaces in place.

    An updated item keeps its ``pubDate`` so that listeners' apps do not take
    a corrected episode for a new one.

    Raises:
        InputError: the MP3 cannot be read.
    """
    episode = read_episode_file(mp3_path)
    cover_path = write_cover(mp3_path, episode)
    chapters, chapter_files = published_chapters(mp3_path, base, episode.chapters)
    episode = replace(episode, chapters=chapters)
    episode, old, clash = _predecessors(items, episode, enclosure_url)
    if clash is not None:
        logger.warning(
            "%s replaces episode %r (guid %s) published under the same name",
            mp3_path.name,
            clash.title,
            clash.guid,
        )
    moment = now or datetime.now(tz=UTC)
    item = _item(
        episode,
        mp3_path,
        base,
        enclosure_url,
        cover_path,
        pub_date=old.pub_date if old else moment,
    )
    return _Change(
        items=[*(i for i in items if i is not old and i is not clash), item],
        action="updated" if old else "added",
        guid=episode.guid,
        title=episode.title,
        item=item,
        cover_path=cover_path,
        chapter_files=chapter_files,
    )


def _predecessors(
    items: list[FeedItem], episode: PublishedEpisode, enclosure_url: str
) -> tuple[PublishedEpisode, FeedItem | None, FeedItem | None]:
    """Return the episode, the item it updates and the item it displaces.

    The item it updates has its guid; the one it displaces has its file
    stem (its URL, or the same name in another format: ``ep.m4b`` after
    ``ep.mp3``) but another guid, since a feed must not list one URL twice
    and the site has one page per stem.
    """
    old = next((i for i in items if i.guid == episode.guid), None)
    page = _page_of_url(enclosure_url)
    clash = next(
        (i for i in items if _page_of(i) == page and i.guid != episode.guid),
        None,
    )
    if clash is not None and old is None and clash.title == episode.title:
        # Same stem, same title, new guid: the MP3 was deleted and rebuilt (a
        # clean output folder), or the same episode is now published in
        # another format. It is the same episode for listeners: keep its guid
        # and date so apps do not take it for a new one.
        return replace(episode, guid=clash.guid), clash, None
    return episode, old, clash


# --- helpers ----------------------------------------------------------------


def _base_url(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InputError(
            f"--base-url {base_url!r} must be an http(s) URL where the episodes "
            "are served, e.g. https://example.org/podcast/."
        )
    text = base_url.strip()
    return text if text.endswith("/") else text + "/"


def _item(
    episode: PublishedEpisode,
    mp3_path: Path,
    base: str,
    enclosure_url: str,
    cover_path: Path | None,
    *,
    pub_date: datetime,
) -> FeedItem:
    folder, stem = mp3_path.parent, mp3_path.stem

    def url_if_exists(name: str) -> str | None:
        return urljoin(base, quote(name)) if (folder / name).is_file() else None

    transcripts = tuple(
        (url, mime)
        for url, mime in (
            (url_if_exists(f"{stem}.srt"), "application/x-subrip"),
            (url_if_exists(f"{stem}.vtt"), "text/vtt"),
        )
        if url
    )
    return FeedItem(
        guid=episode.guid,
        title=episode.title,
        description=episode.description or "",
        pub_date=pub_date,
        enclosure_url=enclosure_url,
        length_bytes=episode.size_bytes,
        duration_s=episode.duration_s,
        episode=episode.episode,
        image_url=urljoin(base, quote(cover_path.name)) if cover_path else None,
        chapters_url=url_if_exists(f"{stem}.chapters.json"),
        transcript_urls=transcripts,
        chapters=episode.chapters,
        mime_type=episode.mime_type,
    )


def _with_channel_image(
    config: PodcastConfig, items: list[FeedItem], feed_path: Path, self_url: str
) -> PodcastConfig:
    if config.image:
        local = feed_path.parent / config.image
        if "://" not in config.image and local.is_file():
            validate_cover(local.read_bytes(), path=str(local))
        return config_with_image(config, urljoin(self_url, config.image))
    with_image = [i for i in items if i.image_url]
    if not with_image:
        logger.warning(
            "no channel image: set image in the podcast config (Apple requires one)"
        )
        return config
    oldest = min(with_image, key=lambda i: i.pub_date)
    return config_with_image(config, oldest.image_url)


def _page_of(item: FeedItem) -> str:
    return _page_of_url(item.enclosure_url)


def _page_of_url(url: str) -> str:
    return page_name(Path(enclosure_name(url)).stem)


def _with_page_link(item: FeedItem, base: str) -> FeedItem:
    return replace(item, link=urljoin(base, quote(_page_of(item))))


def _site(
    config: PodcastConfig,
    items: list[FeedItem],
    base: str,
    self_url: str,
    feed_path: Path,
    mp3_folder: Path,
) -> Site:
    """Gather what the pages show: the items, their local transcripts and covers.

    The pages sit beside the feed and expect each MP3 there under its
    enclosure's file name (the folder uploaded as a whole); the transcript is
    the ``<stem>.vtt`` found beside the feed or beside the published MP3.
    """
    folder = feed_path.parent
    episodes = []
    for item in sort_items(items):
        name = enclosure_name(item.enclosure_url)
        stem = Path(name).stem
        vtt = next(
            (
                f / f"{stem}.vtt"
                for f in (folder, mp3_folder)
                if (f / f"{stem}.vtt").is_file()
            ),
            folder / f"{stem}.vtt",
        )
        episodes.append(
            SiteEpisode(
                item=item,
                page=page_name(stem),
                audio_href=quote(name),
                cover_href=local_href(item.image_url, base),
                cues=read_cues(vtt),
            )
        )
    with_cover = [e for e in episodes if e.cover_href]
    oldest_cover = (
        min(with_cover, key=lambda e: e.item.pub_date).cover_href
        if with_cover
        else None
    )
    return Site(
        title=config.title,
        author=config.author,
        description=config.description,
        language=config.language,
        base_url=base,
        feed_url=self_url,
        feed_href=quote(feed_path.name),
        cover_href=local_href(config.image, base) or oldest_cover,
        cover_url=config.image,
        episodes=tuple(episodes),
    )


__all__ = ["PublishResult", "init_podcast", "publish_episode"]
