"""Podcast config, RSS rendering and publishing, read back by real client parsers.

Episodes are real MP3s (a tone encoded by the bundled ffmpeg) tagged with
mutagen the way ``narrator build`` tags them; the feed is parsed with
podcastparser (gPodder) and feedparser.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import podcastparser
import pytest
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TRCK,
    TXXX,
    CTOCFlags,
)
from mutagen.mp3 import MP3

from narrator.container.cover import generate_cover
from narrator.container.sidecars import write_sidecars
from narrator.errors import ConfigError, FeedError, InputError
from narrator.ffmpeg import ffmpeg_exe
from narrator.model import Chapter, Cue, Timeline
from narrator.publish.channel import PodcastConfig, load_podcast_config, starter_config
from narrator.publish.episode_file import fallback_guid
from narrator.publish.feed import podcast_guid, render_feed
from narrator.publish.feed_reader import parse_existing_feed
from narrator.publish.items import PODCAST_NS, FeedChapter, FeedItem
from narrator.publish.podcast import init_podcast, publish_episode

from .conftest import PODCAST_CONFIG as CONFIG

BASE = "https://example.org/podcast/"
FEED_URL = BASE + "feed.xml"
T1 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2024, 5, 8, 8, 0, tzinfo=UTC)
T3 = datetime(2024, 5, 15, 8, 0, tzinfo=UTC)


# --- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    """Encode each test duration once; tests copy and tag the copies."""
    folder = tmp_path_factory.mktemp("tones")
    made = {}
    for seconds in (3.0, 4.5):
        path = folder / f"tone-{seconds}.mp3"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=440:sample_rate=22050:duration={seconds}",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "64k",
                "-ac",
                "1",
                "-y",
                str(path),
            ],
            check=True,
        )
        made[seconds] = path
    return made


def make_episode(
    tones: dict[float, Path],
    path: Path,
    *,
    title: str,
    guid: str | None,
    seconds: float = 3.0,
    episode: int = 1,
    description: str = "Un résumé court.",
    cover: bytes | None = None,
    sidecars: bool = True,
) -> Timeline:
    """Copy a tone and tag it as ``narrator build`` does (ID3v2.3)."""
    shutil.copyfile(tones[seconds], path)
    duration_ms = round(MP3(path).info.length * 1000)
    half = duration_ms // 2
    timeline = Timeline(
        chapters=(
            Chapter("Introduction", 0, half),
            Chapter("Suite & fin", half, duration_ms),
        ),
        cues=(
            Cue(0, half - 100, "Bonjour, voici l’introduction.", 0),
            Cue(half, duration_ms - 50, "Et voici la suite, puis la fin.", 1),
        ),
        duration_ms=duration_ms,
    )
    tags = ID3()
    tags.add(TIT2(encoding=3, text=[title]))
    tags.add(TPE1(encoding=3, text=["Anne Dupont"]))
    tags.add(TALB(encoding=3, text=["Résumés à écouter"]))
    tags.add(TCON(encoding=3, text=["Podcast"]))
    tags.add(TLAN(encoding=3, text=["fra"]))
    tags.add(TDRC(encoding=3, text=["2024-05-01"]))
    tags.add(TRCK(encoding=3, text=[str(episode)]))
    tags.add(COMM(encoding=3, lang="fra", desc="", text=[description]))
    if guid:
        tags.add(TXXX(encoding=3, desc="NARRATOR_GUID", text=[guid]))
    tags.add(TXXX(encoding=3, desc="NARRATOR_ENGINE", text=["fake"]))
    if cover:
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    ids = [f"ch{i}" for i in range(len(timeline.chapters))]
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text=["Chapitres"])],
        )
    )
    for element_id, chapter in zip(ids, timeline.chapters, strict=True):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                sub_frames=[TIT2(encoding=3, text=[chapter.title])],
            )
        )
    tags.save(path, v2_version=3)
    if sidecars:
        write_sidecars(
            path, timeline, title=title, podcast="Résumés", author="Anne Dupont"
        )
    return timeline


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    return folder


def parse_both(
    feed_path: Path,
) -> tuple[dict[str, object], feedparser.FeedParserDict]:
    data = feed_path.read_bytes()
    return podcastparser.parse(FEED_URL, io.BytesIO(data)), feedparser.parse(data)


# --- publishing, read back by two client parsers ----------------------------


def test_two_episodes_are_read_by_podcastparser_and_feedparser(
    tones: dict[float, Path], site: Path
) -> None:
    ep1, ep2 = site / "episode-1.mp3", site / "épisode 2 & fin.mp3"
    g1, g2 = str(uuid.uuid4()), str(uuid.uuid4())
    make_episode(tones, ep1, title="Premier épisode", guid=g1, episode=1)
    make_episode(tones, ep2, title="Second", guid=g2, seconds=4.5, episode=2)
    feed = site / "feed.xml"
    first = publish_episode(ep1, feed_path=feed, base_url=BASE, now=T1)
    second = publish_episode(ep2, feed_path=feed, base_url=BASE.rstrip("/"), now=T2)
    assert (first.action, second.action) == ("added", "added")
    assert second.episode_count == 2

    gpodder, fp = parse_both(feed)
    assert not fp.bozo, fp.get("bozo_exception")
    assert gpodder["title"] == fp.feed.title == "Résumés à écouter"

    # Newest first, in both parsers.
    assert [e["guid"] for e in gpodder["episodes"]] == [g2, g1]
    assert [e.id for e in fp.entries] == [g2, g1]
    for path, guid in ((ep1, g1), (ep2, g2)):
        size = path.stat().st_size
        duration = MP3(path).info.length
        stem_url = BASE + path.stem.replace(" ", "%20").replace("&", "%26")
        stem_url = stem_url.replace("é", "%C3%A9")
        gp = next(e for e in gpodder["episodes"] if e["guid"] == guid)
        entry = next(e for e in fp.entries if e.id == guid)

        assert gp["enclosures"][0]["file_size"] == size
        assert gp["enclosures"][0]["mime_type"] == "audio/mpeg"
        assert gp["enclosures"][0]["url"] == stem_url + ".mp3"
        assert abs(gp["total_time"] - duration) <= 1
        assert gp["chapters_json_url"] == stem_url + ".chapters.json"
        assert gp["link"] == entry.link == stem_url + ".html"  # the episode's page
        assert gp["transcript_url"] == stem_url + ".vtt"
        assert [c["title"] for c in gp["chapters"]] == ["Introduction", "Suite & fin"]

        enclosure = entry.enclosures[0]
        assert int(enclosure.length) == size
        assert enclosure.href == stem_url + ".mp3"
        assert abs(int(entry.itunes_duration) - duration) <= 1
        assert entry.podcast_chapters["url"] == stem_url + ".chapters.json"
        assert entry.podcast_chapters["type"] == "application/json+chapters"
        assert entry.podcast_transcript["url"] == stem_url + ".vtt"
        assert entry.podcast_transcript["type"] == "text/vtt"
        titles = [c["title"] for c in entry.psc_chapters["chapters"]]
        assert titles == ["Introduction", "Suite & fin"]
        # feedparser 6.0.14 maps only yes/clean, so Apple's "false" reads None.
        assert not entry.itunes_explicit
        assert gp["explicit"] is False
        # Both transcripts are in the feed, SRT before the preferred VTT.
        xml = feed.read_text(encoding="utf-8")
        assert xml.index(stem_url + ".srt") < xml.index(stem_url + ".vtt")

    assert [e["number"] for e in gpodder["episodes"]] == [2, 1]
    text = feed.read_text(encoding="utf-8")
    assert "None" not in text
    assert "<itunes:explicit>false</itunes:explicit>" in text
    assert f'xmlns:podcast="{PODCAST_NS}"' in text
    assert f"<podcast:guid>{podcast_guid(FEED_URL)}</podcast:guid>" in text
    assert "Chapitres :" in gpodder["episodes"][0]["description"]


def test_title_with_markup_quotes_and_emoji_round_trips(
    tones: dict[float, Path], site: Path
) -> None:
    title = "Ça & <b>ça</b> : \"guillemets\" et 'apostrophes' 🎙️ fin"
    description = "Prix < 10 € & « remises » ; voir <https://example.org>."
    mp3 = site / "special.mp3"
    make_episode(
        tones, mp3, title=title, guid=str(uuid.uuid4()), description=description
    )
    feed = site / "feed.xml"
    publish_episode(
        mp3, feed_path=feed, base_url=BASE, now=T1, overrides={"title": title}
    )
    gpodder, fp = parse_both(feed)
    assert not fp.bozo
    assert gpodder["episodes"][0]["title"] == title
    assert fp.entries[0].title == title
    assert gpodder["title"] == fp.feed.title == title
    assert gpodder["episodes"][0]["description"].startswith(description)


def test_republishing_a_regenerated_episode_updates_it_in_place(
    tones: dict[float, Path], site: Path
) -> None:
    guid = str(uuid.uuid4())
    mp3, other = site / "ep.mp3", site / "other.mp3"
    feed = site / "feed.xml"
    make_episode(tones, other, title="Autre", guid=str(uuid.uuid4()), episode=2)
    make_episode(tones, mp3, title="Version 1", guid=guid, seconds=3.0)
    publish_episode(mp3, feed_path=feed, base_url=BASE, now=T1)
    publish_episode(other, feed_path=feed, base_url=BASE, now=T2)
    old_size = mp3.stat().st_size

    # Regenerated: longer audio, new title, same NARRATOR_GUID.
    make_episode(tones, mp3, title="Version 2", guid=guid, seconds=4.5)
    assert mp3.stat().st_size != old_size
    result = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T3)
    assert result.action == "updated" and result.guid == guid

    gpodder, fp = parse_both(feed)
    assert len(gpodder["episodes"]) == len(fp.entries) == 2
    episode = next(e for e in gpodder["episodes"] if e["guid"] == guid)
    assert episode["title"] == "Version 2"
    assert episode["enclosures"][0]["file_size"] == mp3.stat().st_size
    assert abs(episode["total_time"] - 4.5) <= 1
    # The original pubDate is kept, so the update does not jump to the top.
    assert episode["published"] == int(T1.timestamp())
    assert [e.id for e in fp.entries][1] == guid
    assert feed.read_text(encoding="utf-8").count("Chapitres :") == 2


def test_remove_takes_one_episode_out(tones: dict[float, Path], site: Path) -> None:
    feed = site / "feed.xml"
    keep, drop, gone = site / "keep.mp3", site / "drop.mp3", site / "gone.mp3"
    for i, path in enumerate((keep, drop, gone), start=1):
        make_episode(tones, path, title=path.stem, guid=str(uuid.uuid4()), episode=i)
        publish_episode(path, feed_path=feed, base_url=BASE, now=T1)

    result = publish_episode(drop, feed_path=feed, base_url=BASE, remove=True)
    assert result.action == "removed" and result.episode_count == 2
    gone.unlink()  # removal also works by file name once the MP3 is deleted
    publish_episode(gone, feed_path=feed, base_url=BASE, remove=True)

    gpodder, fp = parse_both(feed)
    assert [e["title"] for e in gpodder["episodes"]] == ["keep"]
    assert [e.title for e in fp.entries] == ["keep"]
    with pytest.raises(FeedError, match="drop.mp3"):
        publish_episode(drop, feed_path=feed, base_url=BASE, remove=True)


def test_cover_is_extracted_and_used_for_item_and_channel(
    tones: dict[float, Path], site: Path
) -> None:
    cover = generate_cover("Épisode", "Résumés", size=1400)
    mp3 = site / "ep.mp3"
    make_episode(tones, mp3, title="Avec image", guid=str(uuid.uuid4()), cover=cover)
    feed = site / "feed.xml"
    result = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T1)
    assert result.cover_path == site / "ep.jpg"
    assert (site / "ep.jpg").read_bytes() == cover
    gpodder, fp = parse_both(feed)
    assert gpodder["episodes"][0]["episode_art_url"] == BASE + "ep.jpg"
    assert gpodder["cover_url"] == BASE + "ep.jpg"
    assert fp.entries[0].image["href"] == BASE + "ep.jpg"

    # A configured image wins, resolved against the feed URL.
    (site / "podcast.toml").write_text(
        CONFIG + 'image = "art/show.jpg"\n', encoding="utf-8"
    )
    publish_episode(mp3, feed_path=feed, base_url=BASE, now=T2)
    gpodder, _ = parse_both(feed)
    assert gpodder["cover_url"] == BASE + "art/show.jpg"


def test_episode_without_guid_frame_gets_a_stable_file_name_guid(
    tones: dict[float, Path], site: Path
) -> None:
    mp3 = site / "sans-guid.mp3"
    make_episode(tones, mp3, title="Sans guid", guid=None, sidecars=False)
    feed = site / "feed.xml"
    first = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T1)
    again = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T2)
    assert first.guid == again.guid == fallback_guid("sans-guid.mp3")
    assert again.action == "updated"
    gpodder, fp = parse_both(feed)
    assert len(gpodder["episodes"]) == 1
    assert "chapters_json_url" not in gpodder["episodes"][0]
    assert "podcast_transcript" not in fp.entries[0]


def test_explicit_true_and_feed_written_without_temp_files(
    tones: dict[float, Path], site: Path
) -> None:
    mp3 = site / "ep.mp3"
    make_episode(tones, mp3, title="Adulte", guid=str(uuid.uuid4()))
    feed = site / "out" / "feed.xml"
    publish_episode(
        mp3,
        feed_path=feed,
        base_url=BASE,
        config_path=site / "podcast.toml",
        overrides={"explicit": "true"},
        now=T1,
    )
    gpodder, fp = parse_both(feed)
    assert gpodder["explicit"] is True and gpodder["episodes"][0]["explicit"] is True
    # feedparser 6.0.14 knows only yes/clean; Apple requires true/false.
    assert "<itunes:explicit>true</itunes:explicit>" in feed.read_text("utf-8")
    assert not fp.bozo
    # No temporary file is left: only the feed and its web pages.
    assert sorted(p.name for p in feed.parent.iterdir()) == [
        "ep.html",
        "feed.xml",
        "index.html",
    ]


def test_missing_config_suggests_init_podcast(
    tones: dict[float, Path], tmp_path: Path
) -> None:
    mp3 = tmp_path / "ep.mp3"
    make_episode(tones, mp3, title="x", guid=None, sidecars=False)
    with pytest.raises(ConfigError, match="narrator init-podcast"):
        publish_episode(mp3, feed_path=tmp_path / "feed.xml", base_url=BASE)
    assert not (tmp_path / "feed.xml").exists()


def test_bad_base_url_and_unreadable_inputs_are_clear_errors(
    tones: dict[float, Path], site: Path
) -> None:
    mp3 = site / "ep.mp3"
    make_episode(tones, mp3, title="x", guid=None, sidecars=False)
    with pytest.raises(InputError, match="base-url"):
        publish_episode(mp3, feed_path=site / "feed.xml", base_url="output/")
    (site / "notes.mp3").write_text("pas un mp3", encoding="utf-8")
    with pytest.raises(InputError, match="notes.mp3"):
        publish_episode(site / "notes.mp3", feed_path=site / "feed.xml", base_url=BASE)
    (site / "feed.xml").write_text("<html>not a feed", encoding="utf-8")
    with pytest.raises(FeedError, match="move it away"):
        publish_episode(mp3, feed_path=site / "feed.xml", base_url=BASE)


# --- configuration ------------------------------------------------------------


def test_config_loads_with_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "podcast.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_podcast_config(path, {"title": "Autre titre"})
    assert config == PodcastConfig(
        title="Autre titre",
        author="Anne Dupont",
        email="anne@example.org",
        description="Des résumés lus & commentés.",
        category="Education",
        explicit=False,
        link="https://example.org/",
    )
    assert config.language == "fr"


@pytest.mark.parametrize("key", ["title", "email", "category", "explicit"])
def test_missing_required_key_is_named(tmp_path: Path, key: str) -> None:
    path = tmp_path / "podcast.toml"
    lines = [line for line in CONFIG.splitlines() if not line.startswith(key)]
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"missing required key '{key}'") as caught:
        load_podcast_config(path, {})
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ('category = "Podcasts"', "not an Apple Podcasts category"),
        ('explicit = "no"', "explicit must be true or false"),
        ("title = 3", "title must be a string"),
        ("title = ", "not valid TOML"),
    ],
)
def test_invalid_config_values_are_explained(
    tmp_path: Path, extra: str, match: str
) -> None:
    key = extra.split(" ")[0]
    lines = [line for line in CONFIG.splitlines() if not line.startswith(key)]
    path = tmp_path / "podcast.toml"
    path.write_text("\n".join([*lines, extra]), encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_podcast_config(path, {})


def test_starter_config_is_valid_toml_that_loads(tmp_path: Path) -> None:
    path = init_podcast(tmp_path / "podcast.toml")
    assert tomllib.loads(starter_config())["category"] == "Education"
    config = load_podcast_config(path, {})
    assert config.explicit is False and config.language == "fr"
    with pytest.raises(InputError, match="already exists"):
        init_podcast(path)


# --- rendering ----------------------------------------------------------------


def _item(**changes: object) -> FeedItem:
    values: dict[str, object] = {
        "guid": "g-1",
        "title": "Épisode",
        "description": "Texte.",
        "pub_date": T1,
        "enclosure_url": BASE + "e.mp3",
        "length_bytes": 1234,
        "duration_s": 3725.4,
        "episode": 7,
        "chapters": (FeedChapter(0.0, "Début"), FeedChapter(3661.5, "Fin")),
    }
    values.update(changes)
    return FeedItem(**values)  # type: ignore[arg-type]


def _config(**changes: object) -> PodcastConfig:
    values: dict[str, object] = {
        "title": "P",
        "author": "A",
        "email": "a@example.org",
        "description": "D",
        "category": "Education",
        "explicit": False,
        "link": "https://example.org/",
        "image": BASE + "show.jpg",
    }
    values.update(changes)
    return PodcastConfig(**values)  # type: ignore[arg-type]


def test_render_feed_writes_apple_and_podlove_fields() -> None:
    xml = render_feed(_config(subcategory="Courses"), [_item()], self_url=FEED_URL)
    text = xml.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<itunes:duration>3725</itunes:duration>" in text
    assert '<psc:chapter start="01:01:01.500" title="Fin" />' in text
    assert '<itunes:category text="Education">' in text
    assert '<itunes:category text="Courses" />' in text
    assert '<guid isPermaLink="false">g-1</guid>' in text
    assert "<pubDate>Wed, 01 May 2024 08:00:00 +0000</pubDate>" in text
    assert f'<atom:link href="{FEED_URL}" rel="self"' in text
    assert "1:01:01 Fin" in text
    fp = feedparser.parse(xml)
    assert not fp.bozo
    assert "<itunes:explicit>false</itunes:explicit>" in text
    assert fp.feed.publisher_detail["email"] == "a@example.org"


def test_podcast_guid_follows_the_spec_example() -> None:
    # Example from the Podcasting 2.0 guid tag documentation.
    assert (
        podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml/")
        == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )


def test_control_characters_are_dropped_not_written() -> None:
    xml = render_feed(_config(), [_item(title="A\x0bB\x00C")])
    assert feedparser.parse(xml).entries[0].title == "ABC"


def test_existing_feed_round_trips_through_the_reader(tmp_path: Path) -> None:
    items = [
        _item(
            transcript_urls=((BASE + "e.vtt", "text/vtt"),),
            chapters_url=BASE + "e.chapters.json",
            image_url=BASE + "e.jpg",
            explicit=True,
            link=BASE + "e.html",
        ),
        _item(guid="g-2", pub_date=T2, episode=None, chapters=(), description=""),
    ]
    path = tmp_path / "feed.xml"
    path.write_bytes(render_feed(_config(), items, self_url=FEED_URL))
    existing = parse_existing_feed(path)
    assert existing.podcast_guid == podcast_guid(FEED_URL)
    by_guid = {i.guid: i for i in existing.items}
    assert by_guid["g-1"] == items[0].__class__(
        **{**items[0].__dict__, "duration_s": 3725.0}
    )
    assert by_guid["g-2"].description == "" and by_guid["g-2"].episode is None
    assert by_guid["g-2"].link is None


def test_rebuilt_mp3_with_a_new_guid_but_same_title_keeps_its_item(
    tones: dict[float, Path], site: Path
) -> None:
    """A clean output folder loses the MP3 and its guid; the rebuilt file (same
    URL, same title) must stay the same feed item, not a new episode."""
    mp3, feed = site / "ep.mp3", site / "feed.xml"
    make_episode(tones, mp3, title="Même titre", guid=str(uuid.uuid4()))
    first = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T1)
    make_episode(tones, mp3, title="Même titre", guid=str(uuid.uuid4()), seconds=4.5)
    again = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T3)
    assert again.action == "updated" and again.guid == first.guid
    gpodder, _ = parse_both(feed)
    assert [e["guid"] for e in gpodder["episodes"]] == [first.guid]
    assert gpodder["episodes"][0]["published"] == int(T1.timestamp())
    # A different episode at the same URL is a new item.
    make_episode(tones, mp3, title="Autre chose", guid=str(uuid.uuid4()))
    third = publish_episode(mp3, feed_path=feed, base_url=BASE, now=T3)
    assert third.action == "added" and third.guid != first.guid
    gpodder, _ = parse_both(feed)
    assert len(gpodder["episodes"]) == 1


def test_untouched_starter_config_is_refused(
    tones: dict[float, Path], site: Path
) -> None:
    """Publishing 'Mon podcast' by 'Prénom Nom' to the world is never intended."""
    config = site / "starter.toml"
    init_podcast(config)
    mp3 = site / "ep.mp3"
    make_episode(tones, mp3, title="Épisode", guid=str(uuid.uuid4()))
    with pytest.raises(ConfigError, match="title, author, email, description"):
        publish_episode(
            mp3, feed_path=site / "f.xml", base_url=BASE, config_path=config
        )
    assert not (site / "f.xml").exists()
