"""Chapters with pictures and links (issue 23, point 5), read back by real readers.

A Markdown section's first image becomes its chapter's picture (an APIC in
its CHAP, ``img`` in the chapters JSON, a picture on the site), its first web
link the chapter's URL (WXXX, ``url``, a link). Built for real with espeak-ng,
read back by mutagen and eyeD3, published, and rebuilt after the picture
changes (nothing synthesized).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eyed3
import feedparser
import pytest
from mutagen.id3 import ID3, PictureType
from PIL import Image

from narrator.build.pictures import chapter_media
from narrator.build.pipeline import build, build_formats
from narrator.cache import Cache
from narrator.config import Settings
from narrator.container.pictures import PictureError, prepare_picture
from narrator.container.sidecars import sidecars_digest
from narrator.model import Section
from narrator.publish.channel import PodcastConfig, load_podcast_config
from narrator.publish.feed import render_feed
from narrator.publish.feed_reader import parse_existing_feed
from narrator.publish.items import FeedChapter, FeedItem
from narrator.publish.player import chapters_html
from narrator.publish.podcast import publish_episode
from narrator.text.sections import parse_summary

BASE = "https://example.org/podcast/"

DOC = """\
# Les figures

## Le graphe

Ce chapitre montre un graphe. ![Un graphe rouge](figures/graphe.png)
Le détail est sur [le site](https://example.org/graphe).

## L'absente

Cette section annonce une image qui manque. ![Une absente](absente.png)

## La fin

Une dernière phrase, sans image ni lien.
"""

CONFIG = """\
title = "Mes figures"
author = "Anne Autrice"
email = "anne@example.org"
description = "Des résumés avec des figures."
language = "fr"
category = "Education"
explicit = false
link = "https://example.org/podcast/"
"""


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        return image.size


def first_picture(mp3: Path) -> bytes:
    """The picture in the first chapter's CHAP frame."""
    chap = next(c for c in ID3(mp3).getall("CHAP") if c.element_id == "ch0")
    return bytes(chap.sub_frames.getall("APIC")[0].data)


# --- parsing ------------------------------------------------------------------


def test_markdown_sections_keep_their_images_and_links_unspoken() -> None:
    doc = parse_summary(DOC, path="doc.md")
    first, second, third = doc.sections
    assert first.images == (("figures/graphe.png", "Un graphe rouge"),)
    assert first.links == ("https://example.org/graphe",)
    assert "graphe rouge" not in first.text and "figures" not in first.text
    assert second.images == (("absente.png", "Une absente"),)
    assert third.images == () and third.links == ()


def test_a_lone_image_paragraph_and_code_spans() -> None:
    doc = parse_summary(
        "## Un\n\nDu texte `![code](x.png)` ici.\n\n![Seule](<ma figure.png>)\n\n"
        "[![Cliquable](c.png)](https://e.org/c) et <https://e.org/auto>\n",
        path="d.md",
    )
    (section,) = doc.sections
    assert section.images == (("ma figure.png", "Seule"), ("c.png", "Cliquable"))
    assert section.links == ("https://e.org/c", "https://e.org/auto")
    assert [p.text for p in section.paragraphs] == [
        "Du texte ![code](x.png) ici.",
        "et https://e.org/auto",
    ]


def test_plain_text_has_no_images() -> None:
    doc = parse_summary(
        "Titre\n\nUn texte ![x](a.png) et [y](https://e.org).\n", path="d.txt"
    )
    assert all(s.images == () and s.links == () for s in doc.sections)


# --- pictures -----------------------------------------------------------------


def test_a_picture_becomes_an_rgb_jpeg_of_at_most_1400_px() -> None:
    assert jpeg_size(prepare_picture(png((3000, 2000), (200, 30, 30)))) == (1400, 933)
    assert jpeg_size(prepare_picture(png((300, 200), (0, 0, 0)))) == (300, 200)
    rgba = io.BytesIO()
    Image.new("RGBA", (2000, 4000), (0, 0, 0, 0)).save(rgba, "PNG")
    data = prepare_picture(rgba.getvalue())
    assert jpeg_size(data) == (700, 1400)
    with Image.open(io.BytesIO(data)) as image:
        assert image.getpixel((10, 10)) >= (250, 250, 250)  # transparency on white


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    Image.new("RGB", (400, 200), (0, 120, 0)).save(out, "JPEG", exif=exif)
    assert jpeg_size(prepare_picture(out.getvalue())) == (200, 400)


def test_unreadable_images_are_refused() -> None:
    with pytest.raises(PictureError):
        prepare_picture(b"not an image at all")
    with pytest.raises(PictureError):
        prepare_picture(png((500, 500), (1, 2, 3))[:200])  # truncated


def test_chapter_media_warns_once_per_file_and_refuses_escapes(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "doc.md"
    doc.parent.mkdir()
    (doc.parent / "ok.png").write_bytes(png((50, 40), (9, 9, 9)))
    (tmp_path / "outside.png").write_bytes(png((50, 40), (9, 9, 9)))
    (doc.parent / "bad.png").write_bytes(b"GIF89a garbage")
    sections = [
        Section("A", (), images=(("absente.png", ""),)),
        Section("B", (), images=(("absente.png", ""),), links=("mailto:a@b.c",)),
        Section("C", (), images=(("../outside.png", ""),)),
        Section("D", (), images=(("/etc/hostname", ""),)),
        Section("E", (), images=(("https://e.org/x.png", ""),)),
        Section("F", (), images=(("bad.png", ""),)),
        Section("G", (), images=(("ok.png", "alt"),), links=("#x", "https://e.org")),
    ]
    notes: list[str] = []
    made: list[tuple[str, bytes]] = []
    cache = Cache(tmp_path / "cache")
    media = chapter_media(doc, sections, tmp_path / "ep.mp3", cache, made, notes.append)
    assert [m.picture is not None for m in media] == [False] * 6 + [True]
    assert media[6].picture is not None and media[6].picture.name == "ep.ch7.jpg"
    assert media[6].url == "https://e.org" and media[1].url is None
    assert [n for n in notes if "absente.png" in n] == [
        "image absente.png: not found; the chapter has no picture"
    ]
    assert any("mailto:a@b.c" in n and "web address" in n for n in notes)
    assert any("../outside.png" in n and "outside" in n for n in notes)
    assert any("/etc/hostname" in n for n in notes)
    assert any("https://e.org/x.png" in n for n in notes)
    assert any("bad.png: not a readable image" in n for n in notes)
    assert len(notes) == 6
    # Prepared once: from the cache the next time, nothing made.
    for key, data in made:
        cache.put("pictures", key, data)
    again: list[tuple[str, bytes]] = []
    chapter_media(doc, sections[6:], tmp_path / "ep.mp3", cache, again, None)
    assert again == []


def test_the_published_chapters_json_digests_as_the_built_one() -> None:
    built = json.dumps(
        {"version": "1.2.0", "chapters": [{"startTime": 0, "img": "e.ch1.jpg"}]}
    )
    published = built.replace('"e.ch1.jpg"', f'"{BASE}e.ch1.jpg"')
    assert built != published
    path = Path("e.chapters.json")
    assert sidecars_digest({path: built.encode()}) == sidecars_digest(
        {path: published.encode()}
    )


# --- a real build, published --------------------------------------------------


def check_chapters_json(doc: dict, *, absolute: bool) -> None:
    """The Podcasting 2.0 chapters format's fields and types (version 1.2.0)."""
    assert set(doc) <= {
        "version",
        "chapters",
        "author",
        "title",
        "podcastName",
        "description",
        "fileName",
        "waypoints",
    }
    assert isinstance(doc["version"], str) and isinstance(doc["chapters"], list)
    starts = [c["startTime"] for c in doc["chapters"]]
    assert starts == sorted(starts)
    for chapter in doc["chapters"]:
        assert set(chapter) <= {
            "startTime",
            "endTime",
            "title",
            "img",
            "url",
            "toc",
            "location",
        }
        assert isinstance(chapter["startTime"], (int, float))
        for key in ("img", "url"):
            if key in chapter:
                assert isinstance(chapter[key], str)
        if "url" in chapter:
            assert re.match(r"https?://", chapter["url"])
        if "img" in chapter:
            assert bool(re.match(r"https?://", chapter["img"])) == absolute


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("chapimg")
    doc = work / "doc" / "figures.md"
    (doc.parent / "figures").mkdir(parents=True)
    doc.write_text(DOC, encoding="utf-8")
    (doc.parent / "figures" / "graphe.png").write_bytes(
        png((3000, 2000), (200, 30, 30))
    )
    out = work / "show" / "ep.mp3"
    settings = Settings(
        engine="espeak",
        output_path=out,
        cache_dir=work / "cache",
        lock_dir=work / "locks",
        formats=("mp3", "m4b"),
    )
    notes: list[str] = []
    results = build_formats(doc, settings, note=notes.append)
    return {
        "work": work,
        "doc": doc,
        "out": out,
        "settings": settings,
        "notes": notes,
        "results": results,
    }


def test_the_missing_image_is_one_warning_naming_it(built: dict) -> None:
    assert built["notes"] == [
        "image absente.png: not found; the chapter has no picture"
    ]
    assert [r.sections_synthesized for r in built["results"]] == [3, 0]


def test_mutagen_and_eyed3_read_the_chapter_sub_frames(built: dict) -> None:
    tags = ID3(built["out"])
    chap = {c.element_id: c for c in tags.getall("CHAP")}
    first = chap["ch0"].sub_frames
    (apic,) = first.getall("APIC")
    assert apic.mime == "image/jpeg" and apic.type == PictureType.OTHER
    assert apic.desc == "Un graphe rouge"
    assert jpeg_size(apic.data) == (1400, 933)
    assert [f.url for f in first.getall("WXXX")] == ["https://example.org/graphe"]
    for other in ("ch1", "ch2"):
        assert not chap[other].sub_frames.getall("APIC")
        assert not chap[other].sub_frames.getall("WXXX")
    # The episode's cover is still the one front cover, at the top level.
    assert [p.type for p in tags.getall("APIC")] == [PictureType.COVER_FRONT]

    audio = eyed3.load(str(built["out"]))
    chapters = list(audio.tag.chapters)
    assert [c.title for c in chapters] == ["Le graphe", "L'absente", "La fin"]
    assert chapters[0].user_url == "https://example.org/graphe"
    images = chapters[0].sub_frames[b"APIC"]
    assert len(images) == 1 and images[0].image_data == apic.data
    assert b"APIC" not in chapters[1].sub_frames


def test_the_chapters_json_names_the_picture_beside_the_episode(built: dict) -> None:
    show = built["out"].parent
    doc = json.loads((show / "ep.chapters.json").read_text("utf-8"))
    check_chapters_json(doc, absolute=False)
    first, second, third = doc["chapters"]
    assert first["img"] == "ep.ch1.jpg" and first["url"] == "https://example.org/graphe"
    assert "img" not in second and "url" not in third
    assert (show / "ep.ch1.jpg").read_bytes() == first_picture(built["out"])
    # The M4B shares those sidecars: its chapters carry the same img and url.
    assert built["results"][1].output.name == "ep.m4b"
    assert sorted(p.name for p in show.iterdir()) == [
        "ep.ch1.jpg",
        "ep.chapters.json",
        "ep.m4b",
        "ep.mp3",
        "ep.srt",
        "ep.vtt",
    ]


def test_published_with_pictures_urls_and_the_site_shows_them(built: dict) -> None:
    work = built["work"]
    show = work / "published"
    shutil.copytree(built["out"].parent, show)
    (show / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    publish_episode(show / "ep.mp3", feed_path=show / "feed.xml", base_url=BASE)
    doc = json.loads((show / "ep.chapters.json").read_text("utf-8"))
    check_chapters_json(doc, absolute=True)
    assert doc["chapters"][0]["img"] == BASE + "ep.ch1.jpg"
    assert doc["chapters"][0]["url"] == "https://example.org/graphe"
    assert jpeg_size((show / "ep.ch1.jpg").read_bytes()) == (1400, 933)

    feed = feedparser.parse((show / "feed.xml").read_bytes())
    (entry,) = feed.entries
    assert entry["podcast_chapters"]["url"] == BASE + "ep.chapters.json"
    psc = (show / "feed.xml").read_text("utf-8")
    assert f'href="https://example.org/graphe" image="{BASE}ep.ch1.jpg"' in psc

    page = (show / "ep.html").read_text("utf-8")
    assert '<img class="chapter-img" src="ep.ch1.jpg" alt="Un graphe rouge"' in page
    assert 'href="https://example.org/graphe"' in page
    assert page.count('<img class="chapter-img"') == 1

    # Publishing leaves the episode up to date: its sidecars are the same.
    settings = replace(built["settings"], output_path=show / "ep.mp3", formats=("mp3",))
    assert build(built["doc"], settings).up_to_date


def test_a_changed_picture_retags_without_synthesizing(built: dict) -> None:
    picture = built["doc"].parent / "figures" / "graphe.png"
    before = (built["out"].parent / "ep.ch1.jpg").read_bytes()
    picture.write_bytes(png((1000, 3000), (20, 20, 220)))
    settings = replace(built["settings"], formats=("mp3",))
    result = build(built["doc"], settings)
    assert not result.up_to_date and result.sections_synthesized == 0
    after = (built["out"].parent / "ep.ch1.jpg").read_bytes()
    assert after != before and jpeg_size(after) == (467, 1400)
    assert first_picture(built["out"]) == after
    assert build(built["doc"], settings).up_to_date


def test_the_site_escapes_chapter_pictures_and_links() -> None:
    hostile = FeedChapter(
        start_s=1.0,
        title="Titre",
        url='https://e.org/?a=1&b="<script>',
        image_url=BASE + 'x".ch1.jpg',
        image_alt='un "graphe" <b>',
    )
    elsewhere = FeedChapter(
        start_s=2.0,
        title="Loin",
        url="javascript:alert(1)",
        image_url="https://autre.org/x.jpg",
    )
    html = chapters_html([hostile, elsewhere], BASE)
    assert 'src="x&quot;.ch1.jpg" alt="un &quot;graphe&quot; &lt;b&gt;"' in html
    assert 'href="https://e.org/?a=1&amp;b=&quot;&lt;script&gt;"' in html
    assert "<script>" not in html and "<b>" not in html
    # Nothing from another origin, no script link.
    assert "autre.org" not in html and "javascript:" not in html


def test_the_feed_keeps_chapter_links_and_pictures_across_publishes(
    tmp_path: Path,
) -> None:
    item = FeedItem(
        guid="g",
        title="T",
        description="",
        pub_date=datetime(2024, 5, 1, tzinfo=UTC),
        enclosure_url=BASE + "ep.mp3",
        length_bytes=10,
        duration_s=1.0,
        chapters=(
            FeedChapter(
                0.0, "Un", url="https://e.org/a", image_url=BASE + "ep.ch1.jpg"
            ),
            FeedChapter(0.5, "Deux"),
        ),
    )
    feed = tmp_path / "feed.xml"
    config = load_podcast_config_text(tmp_path)
    feed.write_bytes(render_feed(config, [item], self_url=BASE + "feed.xml"))
    (read,) = parse_existing_feed(feed).items
    assert read.chapters == (
        FeedChapter(0.0, "Un", url="https://e.org/a", image_url=BASE + "ep.ch1.jpg"),
        FeedChapter(0.5, "Deux"),
    )
    parsed = feedparser.parse(feed.read_bytes())
    assert parsed.bozo == 0


def load_podcast_config_text(folder: Path) -> PodcastConfig:
    path = folder / "podcast.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_podcast_config(path, {})


@pytest.mark.slow
def test_chromium_shows_the_chapter_picture_and_link(
    built: dict, chromium: tuple[str, str]
) -> None:
    from .test_site_browser import SiteServer, open_page, wait

    folder = built["work"] / "served"
    shutil.copytree(built["out"].parent, folder)
    (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    server = SiteServer(folder)
    browser = None
    try:
        publish_episode(
            folder / "ep.mp3", feed_path=folder / "feed.xml", base_url=server.url
        )
        browser = _chromium(chromium)
        open_page(browser, server.url + "ep.html")
        size = wait(
            browser,
            """const img = document.querySelector('#chapters img');
            return img && img.complete && img.naturalWidth
                ? [img.naturalWidth, img.naturalHeight, img.alt] : null;""",
        )
        # The picture as built (the test above may have changed it).
        width, height = jpeg_size((folder / "ep.ch1.jpg").read_bytes())
        assert size == [width, height, "Un graphe rouge"] and max(size[:2]) == 1400
        links = browser.execute_script(
            "return [...document.querySelectorAll('#chapters a')].map(a => a.href)"
        )
        assert links == ["https://example.org/graphe"]
        # The picture came from the site's own folder, as the page's CSP allows.
        assert any(r[1] == "/ep.ch1.jpg" for r in server.requests)
    finally:
        if browser is not None:
            browser.quit()
        server.close()


def _chromium(chromium: tuple[str, str]) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--mute-audio",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(
        service=Service(executable_path=driver_path), options=options
    )
