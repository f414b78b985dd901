"""The episode pages in a real browser: Debian's headless Chromium via Selenium.

Real episodes (the reference summary, and a document whose titles are
markup) are built with espeak-ng, published with ``narrator publish``, and
served from 127.0.0.1 by a static server that honours byte ranges as real
hosts do. A second local server on another port stands for "another origin":
the pages must never reach it.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner

from narrator.cli import main

from .conftest import PODCAST_CONFIG as CONFIG
from .conftest import SEED, SEED_TITLES, ffmpeg_chapters

pytestmark = pytest.mark.slow


SCRIPT_TITLE = "<script>alert(1)</script>"


# --- a static server that honours Range, as real hosts do --------------------


class RangeHandler(SimpleHTTPRequestHandler):
    """``http.server`` plus single byte ranges (206, Content-Range, 416)."""

    server: SiteServer
    _range: tuple[int, int] | None = None

    def send_head(self) -> io.BufferedIOBase | None:  # type: ignore[override]
        self._range = None
        path = self.translate_path(self.path)
        header = self.headers.get("Range")
        if not header or not os.path.isfile(path):
            return super().send_head()  # type: ignore[return-value]
        size = os.path.getsize(path)
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
        if match is None or match.group(0) == "bytes=-":
            return super().send_head()  # type: ignore[return-value]
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(size - int(last), 0), size - 1
        if start >= size or end < start:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        handle = open(path, "rb")  # noqa: SIM115 - closed by the base class
        self._range = (start, end - start + 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return handle

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def copyfile(self, source: Any, outputfile: Any) -> None:
        try:
            if self._range is None:
                shutil.copyfileobj(source, outputfile)
                return
            start, remaining = self._range
            source.seek(start)
            while remaining > 0:
                chunk = source.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                outputfile.write(chunk)
                remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser cancelled a media request: normal

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(
            (
                self.command,
                self.path,
                self.headers.get("Range"),
                args[1] if args else "",
            )
        )


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path) -> None:
        self.requests: list[tuple[str, str, str | None, str]] = []
        handler = _handler_for(folder)
        super().__init__(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def _handler_for(folder: Path) -> type[RangeHandler]:
    mimetypes.add_type("audio/mpeg", ".mp3")
    mimetypes.add_type("text/vtt", ".vtt")

    class Handler(RangeHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

    return Handler


# --- fixtures: built and published once per module ---------------------------


@dataclass
class Published:
    folder: Path
    server: SiteServer
    other: SiteServer
    seed_mp3: Path
    hostile_mp3: Path

    def url(self, name: str) -> str:
        return self.server.url + name


def run_cli(*args: str) -> str:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def hostile_document(other: str) -> str:
    """Titles and text that would run a script or load from ``other`` if they
    were pasted into the page unescaped."""
    return f"""\
---
title: "Piège <script>window.__pwned = 1</script><img src='{other}title.png'>"
description: "Une description <img src={other}desc.png onerror=alert(3)> & fin"
---

## &lt;script&gt;alert(1)&lt;/script&gt;

Ce titre est du texte, et rien ne doit s'exécuter dans la page.

## Image &lt;img src="{other}chapter.png"&gt;

Une deuxième section, courte, pour un second chapitre.
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    folder = tmp_path_factory.mktemp("site")
    cache = tmp_path_factory.mktemp("cache")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    server, other = SiteServer(folder), SiteServer(elsewhere)
    try:
        document = folder.parent / "piege.md"
        document.write_text(hostile_document(other.url), encoding="utf-8")
        seed_mp3, hostile_mp3 = folder / "seed.mp3", folder / "piege.mp3"
        for source, mp3, number in (
            (SEED, seed_mp3, "1"),
            (document, hostile_mp3, "2"),
        ):
            run_cli(
                "build", str(source), "-o", str(mp3), "--engine", "espeak",
                "--cache-dir", str(cache), "--episode", number, "-q",
            )  # fmt: skip
        (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
        for mp3 in (seed_mp3, hostile_mp3):
            run_cli("publish", str(mp3), "--feed", str(folder / "feed.xml"),
                    "--base-url", server.url)  # fmt: skip
        yield Published(folder, server, other, seed_mp3, hostile_mp3)
    finally:
        server.close()
        other.close()


@pytest.fixture(scope="module")
def browser(chromium: tuple[str, str]) -> Iterator[Any]:
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
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(
        service=Service(executable_path=driver_path), options=options
    )
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(browser: Any, url: str) -> None:
    """Load a page fresh (a hash-only change would not reload it)."""
    browser.get("about:blank")
    browser.get_log("performance")  # each page starts with an empty log
    browser.get(url)


def wait(browser: Any, script: str, *args: Any, timeout: float = 10) -> Any:
    """Wait until the JavaScript ``script`` returns a truthy value; return it."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(script, *args)
    )


def wait_metadata(browser: Any) -> None:
    wait(browser, "return document.getElementById('audio').readyState >= 1")


def current_cues(browser: Any) -> list[dict[str, Any]]:
    return browser.execute_script(
        """return [...document.querySelectorAll('[aria-current="true"]')].map(
            e => ({start: +e.dataset.start, end: +e.dataset.end,
                   inTranscript: !!e.closest('#transcript'), text: e.textContent}));"""
    )


def in_view(browser: Any, element: Any) -> bool:
    return bool(
        browser.execute_script(
            """const box = arguments[0].getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;""",
            element,
        )
    )


# --- publish writes the pages ------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"a", "link"}:
            self.links.append({"tag": tag, **dict(attrs)})


def test_publish_writes_the_pages_beside_the_feed(published: Published) -> None:
    folder = published.folder
    for name in ("index.html", "seed.html", "piege.html", "feed.xml"):
        assert (folder / name).is_file(), name
    parser = Links()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    hrefs = {link["href"] for link in parser.links if link["tag"] == "a"}
    assert {"seed.html", "piege.html", "feed.xml"} <= hrefs
    alternate = [link for link in parser.links if link.get("rel") == "alternate"]
    assert alternate == [
        {
            "tag": "link",
            "rel": "alternate",
            "type": "application/rss+xml",
            "title": "Résumés à écouter",
            "href": "feed.xml",
        }
    ]
    # Each page stays under 60 KB (the audio and cover are separate files).
    for name in ("index.html", "seed.html", "piege.html"):
        assert (folder / name).stat().st_size <= 60_000, name

    data = (folder / "feed.xml").read_bytes()
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    gpodder = podcastparser.parse(published.url("feed.xml"), io.BytesIO(data))
    for stem in ("seed", "piege"):
        page = published.url(f"{stem}.html")
        assert any(e.link == page for e in parsed.entries)
        assert any(e["link"] == page for e in gpodder["episodes"])
    assert parsed.feed.link == "https://example.org/"


def test_the_server_answers_byte_ranges(published: Published) -> None:
    url = published.url("seed.mp3")
    whole = published.seed_mp3.read_bytes()
    with urlopen(Request(url, headers={"Range": "bytes=100-199"})) as response:
        assert response.status == 206
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert response.read() == whole[100:200]
    with urlopen(Request(url, headers={"Range": "bytes=-10"})) as response:
        assert response.status == 206 and response.read() == whole[-10:]


# --- in Chromium ---------------------------------------------------------------


def test_each_chapter_entry_seeks_to_its_start_in_the_mp3(
    browser: Any, published: Published
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, published.url("seed.html"))
    wait_metadata(browser)
    browser.execute_script(
        """window.seeks = [];
        const audio = document.getElementById('audio');
        audio.addEventListener('seeked', () => window.seeks.push(audio.currentTime));"""
    )
    expected = ffmpeg_chapters(published.seed_mp3)
    entries = browser.find_elements(By.CSS_SELECTOR, "#chapters [data-start]")
    assert [e.text.split(None, 1)[1] for e in entries] == SEED_TITLES
    assert len(entries) == len(expected) == 11
    for index, (entry, chapter) in enumerate(zip(entries, expected, strict=True)):
        if index % 2:
            entry.click()
        else:  # the keyboard works too: focus the entry, press Enter
            browser.execute_script("arguments[0].focus()", entry)
            entry.send_keys(Keys.ENTER)
        seeked = wait(
            browser, "return window.seeks.length > arguments[0] && window.seeks",
            index,
        )  # fmt: skip
        assert abs(seeked[index] - chapter["start_ms"] / 1000) <= 0.05, chapter
        assert "on" in entry.get_attribute("class")
    # Clicking a chapter also plays.
    wait(browser, "return !document.getElementById('audio').paused")
    browser.execute_script("document.getElementById('audio').pause()")
    # Chromium fetched the MP3 with byte ranges, answered 206 by the server.
    audio = [r for r in published.server.requests if r[1] == "/seed.mp3"]
    assert any(r[2] and r[3] == "206" for r in audio), audio[:5]


def test_playing_from_the_middle_of_a_cue_marks_exactly_that_cue(
    browser: Any, published: Published
) -> None:
    open_page(browser, published.url("seed.html"))
    wait_metadata(browser)
    cues = browser.execute_script(
        """return [...document.querySelectorAll('#transcript [data-start]')].map(
            e => [+e.dataset.start, +e.dataset.end]);"""
    )
    assert len(cues) > 50
    assert current_cues(browser) == []  # nothing is marked before playing
    long_cues = [c for c in cues if c[1] - c[0] >= 2.0]
    picks = [long_cues[1], long_cues[len(long_cues) // 2], long_cues[-2]]
    for start, end in picks:
        middle = (start + end) / 2
        # Seek, play, and stop at the first timeupdate that played past the
        # middle: the mark must be on the cue that is being spoken.
        played = browser.execute_async_script(
            """const [middle, done] = [arguments[0], arguments[arguments.length - 1]];
            const audio = document.getElementById('audio');
            const onTime = () => {
              if (!audio.seeking && audio.currentTime > middle + 0.05) {
                audio.removeEventListener('timeupdate', onTime);
                audio.pause();
                done(audio.currentTime);
              }
            };
            audio.addEventListener('timeupdate', onTime);
            audio.currentTime = middle;
            audio.play();""",
            middle,
        )
        assert start <= middle < played < end
        marked = current_cues(browser)
        assert len(marked) == 1, marked
        assert marked[0]["inTranscript"]
        assert (marked[0]["start"], marked[0]["end"]) == (start, end)


def test_a_link_with_a_time_opens_there(browser: Any, published: Published) -> None:
    from selenium.webdriver.common.by import By

    for suffix in ("#t=100", "?t=1:40"):
        open_page(browser, published.url("seed.html" + suffix))
        wait_metadata(browser)
        position = browser.execute_script(
            "return document.getElementById('audio').currentTime"
        )
        assert abs(position - 100) <= 1.5, suffix
        marked = current_cues(browser)
        assert len(marked) == 1 and marked[0]["start"] <= 100 < marked[0]["end"] + 1
        # Pressing play starts there.
        started = browser.execute_async_script(
            """const done = arguments[arguments.length - 1];
            const audio = document.getElementById('audio');
            audio.addEventListener('playing', () => {
              done(audio.currentTime); audio.pause(); }, {once: true});
            audio.play();"""
        )
        assert abs(started - 100) <= 1.5, suffix

    # The button copies a link to the current moment.
    browser.find_element(By.ID, "moment").click()
    status = wait(browser, "return document.getElementById('status').textContent")
    link = re.search(r"http\S+", status)
    assert link is not None, status
    assert link.group(0) == published.url("seed.html#t=100"), status


def test_the_spoken_cue_stays_in_view_unless_the_reader_scrolls_away(
    browser: Any, published: Published
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    try:
        open_page(browser, published.url("seed.html"))
        wait_metadata(browser)
        entries = browser.find_elements(By.CSS_SELECTOR, "#chapters [data-start]")
        browser.execute_script("arguments[0].click()", entries[8])
        cue = wait(browser, "return document.querySelector('[aria-current=true]')")
        wait(browser, "return window.scrollY > 1000")
        browser.execute_script("document.getElementById('audio').pause()")
        wait(browser, "const b = arguments[0].getBoundingClientRect();"
             "return b.top >= 0 && b.bottom <= innerHeight", cue)  # fmt: skip
        follow = browser.find_element(By.ID, "follow")
        assert not follow.is_displayed()

        # The reader scrolls back to the top: the page stops following...
        for _ in range(30):
            ActionChains(browser).scroll_by_amount(0, -800).perform()
            if browser.execute_script("return window.scrollY") == 0:
                break
        wait(browser, "return !document.getElementById('follow').hidden")
        later = browser.execute_script(
            """const cues = [...document.querySelectorAll('#transcript [data-start]')];
            const audio = document.getElementById('audio');
            const next = cues[cues.length - 3];
            audio.currentTime = +next.dataset.start + 0.1;
            return next;"""
        )
        wait(
            browser,
            "return arguments[0].getAttribute('aria-current') === 'true'",
            later,
        )
        assert browser.execute_script("return window.scrollY") == 0
        assert not in_view(browser, later)
        # ...until they ask to go back to the voice.
        follow.click()
        wait(browser, "const b = arguments[0].getBoundingClientRect();"
             "return b.top >= 0 && b.bottom <= innerHeight", later)  # fmt: skip
        assert not follow.is_displayed()
    finally:
        browser.set_window_size(1280, 900)


def test_nothing_is_loaded_from_another_origin_and_titles_stay_text(
    browser: Any, published: Published
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    origin = published.server.url.rstrip("/")
    for name in ("index.html", "seed.html", "piege.html"):
        open_page(browser, published.url(name))
        if name != "index.html":
            wait_metadata(browser)
            browser.execute_script(
                "const a = document.getElementById('audio');"
                "a.currentTime = 1; a.play();"
            )
            wait(browser, "return document.getElementById('audio').currentTime > 1.2")
            browser.execute_script("document.getElementById('audio').pause()")
        wait(browser, "return document.readyState === 'complete'")
        urls = [
            json.loads(entry["message"])["message"]["params"]["request"]["url"]
            for entry in browser.get_log("performance")
            if '"Network.requestWillBeSent"' in entry["message"]
        ]
        resources = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert urls, name  # the log works: at least the page's own requests
        for url in [*urls, *resources]:
            assert url.startswith((origin + "/", "data:")), (name, url)
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - raises when no alert

    # The hostile episode: its markup shows as text, and runs nothing.
    assert browser.execute_script("return window.__pwned") is None
    assert browser.execute_script("return document.scripts.length") == 1
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("Piège <script>window.__pwned = 1</script><img src=")
    chapters = browser.find_elements(By.CSS_SELECTOR, "#chapters [data-start]")
    assert chapters[0].text.split(None, 1)[1] == SCRIPT_TITLE
    assert SCRIPT_TITLE in browser.find_element(By.ID, "transcript").text
    assert browser.find_elements(By.CSS_SELECTOR, "img:not(.cover)") == []
    assert published.other.requests == []  # the other origin was never asked


def test_the_page_works_from_a_file_url(browser: Any, published: Published) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, (published.folder / "seed.html").as_uri() + "#t=100")
    wait_metadata(browser)
    position = browser.execute_script(
        "return document.getElementById('audio').currentTime"
    )
    assert abs(position - 100) <= 1.5
    assert len(current_cues(browser)) == 1
    wait(browser, "return document.querySelector('img.cover').naturalWidth > 0")
    # From file://, the copied link is the public one.
    browser.find_element(By.ID, "moment").click()
    status = wait(browser, "return document.getElementById('status').textContent")
    assert published.url("seed.html#t=100") in status


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_pages_fit_phone_and_desktop_widths(
    browser: Any, published: Published, tmp_path: Path, width: int, height: int
) -> None:
    browser.set_window_size(width, height)
    try:
        for name in ("index.html", "seed.html", "piege.html"):
            open_page(browser, published.url(name))
            wait(browser, "return document.readyState === 'complete'")
            # Nothing sticks out sideways (no horizontal scrolling).
            visible, scroll = browser.execute_script(
                "const root = document.documentElement;"
                "return [root.clientWidth, root.scrollWidth]"
            )
            assert scroll <= visible, (name, width)
            # Kept for a human look (NARRATOR_SCREENSHOTS=folder keeps them).
            keep = os.environ.get("NARRATOR_SCREENSHOTS")
            target = Path(keep) if keep else tmp_path
            target.mkdir(parents=True, exist_ok=True)
            assert browser.save_screenshot(
                str(target / f"{Path(name).stem}-{width}.png")
            )
    finally:
        browser.set_window_size(1280, 900)
