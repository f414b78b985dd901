"""An M4A episode's page in a real browser: Debian's headless Chromium plays AAC.

The reference summary is built as M4A with espeak-ng, published with
``narrator publish`` and served from 127.0.0.1 with byte ranges (the server
and the browser are those of ``test_site_browser``). Chromium must play the
file, report the audio's duration (the edit list honoured: the encoder's
priming is not counted) and land each chapter entry on the chapter's start,
within one AAC frame (1024 samples) of what ffprobe reads.
"""

from __future__ import annotations

import json
import mimetypes
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from narrator.cli import main

from .conftest import SEED, SEED_TITLES
from .test_site_browser import CONFIG, SiteServer, open_page, wait, wait_metadata
from .test_site_browser import browser as browser  # the module's fixture

pytestmark = pytest.mark.slow

RATE = 44100
FRAME_S = 1024 / RATE


def run_cli(*args: str) -> str:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The seed as seed.m4a, published with its page; the folder and its URL."""
    mimetypes.add_type("audio/mp4", ".m4a")
    folder = tmp_path_factory.mktemp("site-m4a")
    cache = tmp_path_factory.mktemp("cache-m4a")
    server = SiteServer(folder)
    try:
        m4a = folder / "seed.m4a"
        run_cli("build", str(SEED), "-o", str(m4a), "--engine", "espeak",
                "--cache-dir", str(cache), "--episode", "1", "-q")  # fmt: skip
        (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
        run_cli("publish", str(m4a), "--feed", str(folder / "feed.xml"),
                "--base-url", server.url)  # fmt: skip
        yield folder, server.url
    finally:
        server.close()


def probed(ffprobe: str, path: Path) -> tuple[float, list[float]]:
    """The duration and chapter starts (s) as ffprobe reads them."""
    proc = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format"]
        + ["-show_chapters", str(path)],
        capture_output=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    starts = [float(c["start_time"]) for c in data["chapters"]]
    return float(data["format"]["duration"]), starts


def test_chromium_plays_the_m4a_for_its_whole_duration(
    browser: Any, site: tuple[Path, str], ffprobe: str
) -> None:
    folder, url = site
    open_page(browser, url + "seed.html")
    wait_metadata(browser)
    kind = browser.execute_script(
        """const audio = document.getElementById('audio');
        const source = audio.querySelector('source');
        return [source.type, audio.canPlayType(source.type), audio.currentSrc];"""
    )
    assert kind[0] == "audio/mp4" and kind[1] in {"maybe", "probably"}, kind
    assert kind[2] == url + "seed.m4a"
    duration, _ = probed(ffprobe, folder / "seed.m4a")
    info = json.loads(run_cli("info", str(folder / "seed.m4a"), "--json"))
    shown = browser.execute_script("return document.getElementById('audio').duration")
    assert abs(shown - duration) < FRAME_S, (shown, duration)
    assert abs(shown - info["duration_s"]) < FRAME_S, (shown, info["duration_s"])
    # It plays: the clock advances, and no media error is raised.
    browser.execute_script("document.getElementById('audio').play()")
    first = wait(browser, "const t = document.getElementById('audio').currentTime;"
                 "return t > 0.3 && t")  # fmt: skip
    later = wait(
        browser,
        "const t = document.getElementById('audio').currentTime;"
        "return t > arguments[0] + 0.3 && t",
        first,
    )
    assert later > first
    error = browser.execute_script("return document.getElementById('audio').error")
    assert error is None
    browser.execute_script("document.getElementById('audio').pause()")


def test_each_chapter_entry_seeks_to_its_start_in_the_m4a(
    browser: Any, site: tuple[Path, str], ffprobe: str
) -> None:
    from selenium.webdriver.common.by import By

    folder, url = site
    open_page(browser, url + "seed.html")
    wait_metadata(browser)
    # Each click seeks and plays. The landing is read once the seek is done,
    # with the audio paused as the seek starts: read while it plays, the clock
    # has moved on by however late the event handler ran.
    browser.execute_script(
        """window.seeks = []; window.plays = 0;
        const audio = document.getElementById('audio');
        audio.addEventListener('play', () => { window.plays += 1; });
        audio.addEventListener('seeking', () => audio.pause());
        audio.addEventListener('seeked', () => window.seeks.push(audio.currentTime));"""
    )
    _, starts = probed(ffprobe, folder / "seed.m4a")
    entries = browser.find_elements(By.CSS_SELECTOR, "#chapters [data-start]")
    assert [e.text.split(None, 1)[1] for e in entries] == SEED_TITLES
    assert len(entries) == len(starts) == len(SEED_TITLES)
    for index, (entry, start) in enumerate(zip(entries, starts, strict=True)):
        entry.click()
        seeked = wait(
            browser, "return window.seeks.length > arguments[0] && window.seeks",
            index,
        )  # fmt: skip
        assert abs(seeked[index] - start) < FRAME_S, (index, seeked[index], start)
        assert "on" in entry.get_attribute("class")
    assert browser.execute_script("return window.plays") >= 1  # a click plays
