"""The web pages publish writes: rendering, escaping, and the files on disk.

The browser behaviour (seeking, the spoken cue, ``#t=``) is tested in
Chromium by ``test_site_browser.py``; here the HTML itself is read back with
the standard library's parser.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from narrator.container.sidecars import render_vtt
from narrator.errors import ConfigError, InputError
from narrator.model import Chapter, Cue, Timeline
from narrator.publish.feed_reader import parse_existing_feed
from narrator.publish.items import FeedChapter, FeedItem
from narrator.publish.player import SiteCue, parse_vtt
from narrator.publish.podcast import publish_episode
from narrator.publish.site import (
    Site,
    SiteEpisode,
    page_name,
    render_episode,
    render_index,
    render_site,
)

from .test_feed import BASE, CONFIG, T1, T2, make_episode, tones  # noqa: F401

HOSTILE = "<script>alert(1)</script>"
QUOTES = "\"guillemets\" et 'apostrophes' & <b>gras</b> \u2028 fin"


class Page(HTMLParser):
    """Every tag with its attributes, and the text, as a browser would read them."""

    def __init__(self, data: bytes) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(data.decode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def meta(self, key: str) -> str | None:
        for attrs in self.all("meta"):
            if key in (attrs.get("property"), attrs.get("name")):
                return attrs.get("content")
        return None


def site_of(title: str, text: str, *, cues: int = 4, stem: str = "ep") -> Site:
    """A show whose every document text is ``title`` or ``text``."""
    chapters = (FeedChapter(0.0, title), FeedChapter(10.0, text))
    item = FeedItem(
        guid="g-1",
        title=title,
        description=f"{text}\n\n{title}",
        pub_date=datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        enclosure_url=BASE + f"{stem}.mp3",
        length_bytes=1000,
        duration_s=3725,
        episode=3,
        image_url=BASE + f"{stem}.jpg",
        chapters=chapters,
    )
    timed = [SiteCue(0.3, 1.2, title)]
    timed += [SiteCue(2.0 + i, 2.8 + i, f"{text} {i}") for i in range(cues)]
    timed += [SiteCue(7.0, 8.0, "Après une pause.")]
    timed += [SiteCue(10.3, 11.0, text), SiteCue(11.2, 12.0, "Dernière phrase.")]
    episode = SiteEpisode(
        item=item,
        page=page_name(stem),
        audio_href=f"{stem}.mp3",
        cover_href=f"{stem}.jpg",
        cues=tuple(timed),
    )
    return Site(
        title=title,
        author=text,
        description=text,
        language="fr",
        base_url=BASE,
        feed_url=BASE + "feed.xml",
        feed_href="feed.xml",
        cover_href=f"{stem}.jpg",
        cover_url=BASE + f"{stem}.jpg",
        episodes=(episode,),
    )


# --- rendering ---------------------------------------------------------------


@pytest.mark.parametrize("render", ["index", "episode"])
def test_document_text_is_escaped_in_text_and_attributes(render: str) -> None:
    site = site_of(HOSTILE, QUOTES)
    data = (
        render_index(site)
        if render == "index"
        else render_episode(site, site.episodes[0])
    )
    page = Page(data)
    # One script, ours; no element came from the text, no event handler.
    assert len(page.all("script")) == 1
    assert {name for name, _ in page.tags} <= {
        "html", "head", "meta", "title", "link", "style", "body", "header", "div",
        "h1", "h2", "h3", "p", "br", "label", "input", "button", "a", "main", "ol",
        "li", "footer", "img", "nav", "article", "time", "audio", "source",
        "section", "span", "script",
    }  # fmt: skip
    assert "b" not in {name for name, _ in page.tags}
    for _, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs)
    for attrs in page.all("img"):
        assert attrs["src"] == "ep.jpg"
    assert not any(HOSTILE in script for script in page.scripts)
    # The texts read back exactly, as text and as attribute values.
    text = "".join(page.text)
    assert HOSTILE in text
    assert QUOTES in text
    assert page.meta("og:site_name") == HOSTILE
    assert (page.meta("og:description") or "").startswith(" ".join(QUOTES.split()))
    alternate = [a for a in page.all("link") if a.get("rel") == "alternate"]
    assert alternate[0]["title"] == HOSTILE
    raw = data.decode("utf-8")
    assert "<script>alert" not in raw and "<b>gras" not in raw


def test_the_csp_allows_exactly_the_inline_script_and_style() -> None:
    site = site_of("Titre", "Texte")
    for data in render_site(site).values():
        raw = data.decode("utf-8")
        csp = Page(data).all("meta")
        policy = next(m["content"] for m in csp if m.get("http-equiv"))
        assert policy is not None
        for tag in ("script", "style"):
            (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", raw, flags=re.S)
            digest = hashlib.sha256(body.encode("utf-8")).digest()
            source = "'sha256-" + base64.b64encode(digest).decode() + "'"
            assert f"{tag}-src {source}" in policy
        assert "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_episode_page_contract() -> None:
    site = site_of("Titre", "Texte", cues=3)
    data = render_episode(site, site.episodes[0])
    page = Page(data)
    (audio,) = page.all("audio")
    assert audio["preload"] == "metadata" and "src" not in audio
    assert "controls" in audio
    (source,) = page.all("source")
    assert source["src"] == "ep.mp3" and source["type"] == "audio/mpeg"
    starts = [a["data-start"] for a in page.all("button") if "data-start" in a]
    assert starts == ["0", "10"]
    cues = [a for a in page.all("span") if "data-start" in a]
    assert [(c["data-start"], c["data-end"]) for c in cues] == [
        ("0.3", "1.2"), ("2", "2.8"), ("3", "3.8"), ("4", "4.8"), ("7", "8"),
        ("10.3", "11"), ("11.2", "12"),
    ]  # fmt: skip
    raw = data.decode("utf-8")
    assert 'id="chapters"' in raw and 'id="transcript"' in raw
    # A chapter's spoken title is its heading; a long pause starts a paragraph.
    assert '<h3><span data-start="0.3" data-end="1.2">Titre</span></h3>' in raw
    transcript = raw[raw.index('id="transcript"') :]
    assert transcript.count("<p>") == 3
    # French interface, dates and durations; the page links the feed and index.
    assert '<html lang="fr">' in raw
    assert '<time datetime="2024-05-01">1er mai 2024</time>' in raw
    assert "Épisode 3 · " in raw and "1 h 02 min" in raw
    assert page.meta("og:image") == BASE + "ep.jpg"
    assert page.meta("og:audio") == BASE + "ep.mp3"
    assert page.meta("og:url") == BASE + "ep.html"
    hrefs = [a.get("href") for a in page.all("a")]
    assert "index.html" in hrefs and "feed.xml" in hrefs
    assert len(data) <= 60_000


def test_parse_vtt_reads_the_sidecar_narrator_writes() -> None:
    long = "Une phrase " + "très " * 40 + "longue."
    timeline = Timeline(
        chapters=(Chapter("Un --> deux", 0, 9000),),
        cues=(
            Cue(100, 2000, "A & B < C > D", 0),
            Cue(2300, 8000, long, 0),
        ),
        duration_ms=9000,
    )
    cues = parse_vtt(render_vtt(timeline))
    assert cues[0] == SiteCue(0.1, 2.0, "A & B < C > D")
    # A long sentence is several cues that cover its span, text intact.
    assert len(cues) > 2
    assert cues[1].start_s == 2.3 and cues[-1].end_s == 8.0
    assert " ".join(c.text for c in cues[1:]) == long
    assert parse_vtt("WEBVTT\n\nNOTE rien\n") == ()


def test_an_episode_named_index_does_not_take_the_show_page() -> None:
    assert page_name("index") == "index-episode.html"
    assert page_name("ép 1 & 2") == "ép 1 & 2.html"
    site = site_of("Titre", "Texte", stem="index")
    assert set(render_site(site)) == {"index.html", "index-episode.html"}


# --- publish writes, rewrites and removes the pages --------------------------


@pytest.fixture
def show(tmp_path: Path) -> Path:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_publish_writes_the_pages_and_remove_takes_one_out(
    tones: dict[float, Path],  # noqa: F811
    show: Path,
) -> None:
    feed = show / "feed.xml"
    first, second = show / "premier.mp3", show / "second épisode.mp3"
    make_episode(tones, first, title="Premier", guid=str(uuid.uuid4()), episode=1)
    make_episode(tones, second, title="Second", guid=str(uuid.uuid4()), episode=2)
    publish_episode(first, feed_path=feed, base_url=BASE, now=T1)
    result = publish_episode(second, feed_path=feed, base_url=BASE, now=T2)
    assert [p.name for p in result.pages] == [
        "index.html",
        "premier.html",
        "second épisode.html",
    ]
    index = Page((show / "index.html").read_bytes())
    links = [a["href"] for a in index.all("a")]
    assert links.index("second%20%C3%A9pisode.html") < links.index("premier.html")
    assert "feed.xml" in links
    # Pages of other episodes are rewritten too: the first now links the next.
    older = (show / "premier.html").read_text(encoding="utf-8")
    assert 'rel="next" href="second%20%C3%A9pisode.html"' in older
    # The transcript comes from the .vtt sidecar.
    assert "Bonjour, voici l’introduction." in older
    items = {i.title: i for i in parse_existing_feed(feed).items}
    assert items["Second"].link == BASE + "second%20%C3%A9pisode.html"

    publish_episode(second, feed_path=feed, base_url=BASE, remove=True)
    assert not (show / "second épisode.html").exists()
    assert "second" not in (show / "index.html").read_text(encoding="utf-8")
    assert 'rel="next"' not in (show / "premier.html").read_text(encoding="utf-8")


def test_no_site_writes_no_page_and_links_none(
    tones: dict[float, Path],  # noqa: F811
    show: Path,
) -> None:
    mp3 = show / "ep.mp3"
    make_episode(tones, mp3, title="Sans site", guid=str(uuid.uuid4()))
    result = publish_episode(
        mp3, feed_path=show / "feed.xml", base_url=BASE, now=T1, site=False
    )
    assert result.pages == ()
    assert not list(show.glob("*.html"))
    assert parse_existing_feed(show / "feed.xml").items[0].link is None


def test_a_hand_written_page_is_never_overwritten(
    tones: dict[float, Path],  # noqa: F811
    show: Path,
) -> None:
    mp3 = show / "ep.mp3"
    make_episode(tones, mp3, title="Épisode", guid=str(uuid.uuid4()))
    (show / "index.html").write_text("<h1>Mon site à moi</h1>", encoding="utf-8")
    before = snapshot(show)
    with pytest.raises(InputError, match="--no-site"):
        publish_episode(mp3, feed_path=show / "feed.xml", base_url=BASE, now=T1)
    assert snapshot(show) == before  # nothing written, not even the feed


def test_a_failed_publish_leaves_the_previous_site_intact(
    tones: dict[float, Path],  # noqa: F811
    show: Path,
) -> None:
    feed = show / "feed.xml"
    mp3 = show / "ep.mp3"
    make_episode(tones, mp3, title="Épisode", guid=str(uuid.uuid4()))
    publish_episode(mp3, feed_path=feed, base_url=BASE, now=T1)
    before = snapshot(show)
    assert {"index.html", "ep.html", "feed.xml"} <= set(before)

    (show / "broken.mp3").write_bytes(b"pas un mp3")
    with pytest.raises(InputError, match="broken.mp3"):
        publish_episode(show / "broken.mp3", feed_path=feed, base_url=BASE)
    (show / "broken.mp3").unlink()
    config = CONFIG.replace('category = "Education"', 'category = "Cuisine"')
    (show / "podcast.toml").write_text(config, encoding="utf-8")
    with pytest.raises(ConfigError):
        publish_episode(mp3, feed_path=feed, base_url=BASE)
    (show / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    assert snapshot(show) == before


def test_cli_publish_reports_the_pages_and_no_site_skips_them(
    tones: dict[float, Path],  # noqa: F811
    show: Path,
) -> None:
    import json

    from click.testing import CliRunner

    from narrator.cli import main

    mp3 = show / "ep.mp3"
    make_episode(tones, mp3, title="Épisode", guid=str(uuid.uuid4()))
    args = ["publish", str(mp3), "--feed", str(show / "feed.xml"), "--base-url", BASE]
    runner = CliRunner(mix_stderr=False)
    skipped = runner.invoke(main, [*args, "--no-site", "--json"])
    assert skipped.exit_code == 0, skipped.stderr
    assert json.loads(skipped.stdout)["pages"] == []
    assert not list(show.glob("*.html"))
    written = runner.invoke(main, [*args, "--json"])
    assert written.exit_code == 0, written.stderr
    pages = json.loads(written.stdout)["pages"]
    assert [Path(p).name for p in pages] == ["index.html", "ep.html"]
    assert all(Path(p).is_file() for p in pages)
