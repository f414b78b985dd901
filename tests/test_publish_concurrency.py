"""Publishes that run at once lose nothing; a publish killed anywhere tears nothing.

Every publish here is a separate ``python`` process running narrator's real
CLI (``tests/publish_driver.py``), started together: each imports narrator,
then waits for a start file, so they all reach the feed within milliseconds.
The episodes are one real espeak-ng build, copied and retagged with their own
title and guid (mutagen), so each is a distinct episode. The feed is read back
with podcastparser and feedparser, and the pages are checked against it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import feedparser
import podcastparser
import pytest
from mutagen.id3 import ID3, TIT2, TXXX

from narrator.publish.transaction import STAGING

from .conftest import DATA, REPO

BASE_URL = "https://example.org/resumes/"
DRIVER = Path(__file__).with_name("publish_driver.py")
SIDECARS = (".chapters.json", ".vtt", ".srt")
pytestmark = pytest.mark.timeout(300)


def _env(tmp: Path) -> dict[str, str]:
    """The processes' environment: espeak, and every user folder under ``tmp``."""
    env = dict(os.environ)
    env.update(
        NARRATOR_ENGINE="espeak",
        NARRATOR_CACHE_DIR=str(tmp / "cache"),
        NARRATOR_LOCK_DIR=str(tmp / "locks"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        PYTHONPATH=str(REPO),
    )
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One episode built by espeak-ng, with its sidecars (built once)."""
    tmp = tmp_path_factory.mktemp("built")
    out = tmp / "episode.mp3"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "narrator",
            "build",
            str(DATA / "batch" / "03_jardin.txt"),
        ]
        + ["-o", str(out)],
        env=_env(tmp),
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(DATA / "batch" / "podcast.toml", folder)
    return folder


def make_episodes(built: Path, folder: Path, numbers: Sequence[int]) -> list[Path]:
    """Copies of the built episode, each with its own title and guid."""
    made = []
    for n in numbers:
        path = folder / f"ep{n:02d}.mp3"
        shutil.copyfile(built, path)
        for suffix in SIDECARS:
            shutil.copyfile(built.with_suffix(suffix), path.with_suffix(suffix))
        tags = ID3(path)
        tags.setall("TIT2", [TIT2(encoding=3, text=[f"Épisode {n}"])])
        tags.setall(
            "TXXX:NARRATOR_GUID",
            [TXXX(encoding=3, desc="NARRATOR_GUID", text=[f"guid-{n:02d}"])],
        )
        tags.save(path, v2_version=tags.version[1])
        made.append(path)
    return made


def publish_args(mp3: Path, site: Path, *extra: str) -> list[str]:
    feed = site / "feed.xml"
    return ["publish", str(mp3), "--feed", str(feed), "--base-url", BASE_URL, *extra]


def run_together(
    tmp: Path, commands: Sequence[Sequence[str]], *, pause: str = ""
) -> list[subprocess.CompletedProcess[str]]:
    """Start every command in its own process; let them go at the same moment."""
    go = tmp / f"go-{time.monotonic_ns()}"
    procs = []
    for k, args in enumerate(commands):
        ready = tmp / f"{go.name}-ready-{k}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, str(DRIVER), str(go), str(ready), pause, *args],
                    env=_env(tmp),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    deadline = time.monotonic() + 120
    while not all(r.exists() for r, _ in procs):
        assert time.monotonic() < deadline, "the publishes never got ready"
        time.sleep(0.01)
    go.touch()
    done = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def feed_guids(site: Path) -> list[str]:
    """The feed's guids as two client parsers read it (they must agree)."""
    data = (site / "feed.xml").read_bytes()
    parsed = podcastparser.parse(BASE_URL + "feed.xml", io.BytesIO(data))
    loose = feedparser.parse(data)
    assert not loose.bozo, loose.bozo_exception
    guids = sorted(e["guid"] for e in parsed["episodes"])
    assert guids == sorted(e.id for e in loose.entries)
    return guids


def assert_pages_match_feed(site: Path) -> None:
    """Every item has its page, no page lacks an item, the index lists them all."""
    data = (site / "feed.xml").read_bytes()
    parsed = podcastparser.parse(BASE_URL + "feed.xml", io.BytesIO(data))
    stems = {
        e["enclosures"][0]["url"].rsplit("/", 1)[1].removesuffix(".mp3")
        for e in parsed["episodes"]
    }
    pages = {p.stem for p in site.glob("*.html")} - {"index"}
    assert pages == stems
    index = (site / "index.html").read_text("utf-8")
    listed = set(re.findall(r'<li><h3><a href="([^"]+)\.html"', index))
    assert listed == stems


def test_six_publishes_started_together_give_six_items_every_time(
    built: Path, site: Path, tmp_path: Path
) -> None:
    for trial in range(3):
        numbers = range(trial * 6, trial * 6 + 6)
        episodes = make_episodes(built, site, numbers)
        done = run_together(tmp_path, [publish_args(e, site) for e in episodes])
        assert [p.returncode for p in done] == [0] * 6, [p.stderr for p in done]
        assert feed_guids(site) == [f"guid-{n:02d}" for n in range(trial * 6 + 6)]
        assert_pages_match_feed(site)
    assert not (site / STAGING).exists()


def test_adds_and_removes_interleaved_lose_nothing(
    built: Path, site: Path, tmp_path: Path
) -> None:
    first = make_episodes(built, site, range(6))
    done = run_together(tmp_path, [publish_args(e, site) for e in first])
    assert all(p.returncode == 0 for p in done), [p.stderr for p in done]
    later = make_episodes(built, site, range(6, 10))
    commands = []
    for add, remove in zip(later, first[:4], strict=True):
        commands += [publish_args(add, site), publish_args(remove, site, "--remove")]
    done = run_together(tmp_path, commands)
    assert all(p.returncode == 0 for p in done), [p.stderr for p in done]
    assert feed_guids(site) == [f"guid-{n:02d}" for n in range(4, 10)]
    assert_pages_match_feed(site)


def test_a_batch_publishes_while_single_publishes_run(
    built: Path, site: Path, tmp_path: Path
) -> None:
    show = tmp_path / "show"
    show.mkdir()
    for name in ("01_climat.md", "02_sommeil.md"):
        shutil.copy(DATA / "batch" / name, show)
    shutil.copy(DATA / "batch" / "podcast.toml", show)
    # Built beforehand: the batch finds them up to date and only publishes.
    batch = [
        "batch", str(show), "-o", str(site), "--feed", str(site / "feed.xml"),
        "--base-url", BASE_URL,
    ]  # fmt: skip
    first = run_together(tmp_path, [[*batch, "--no-site"]])
    assert first[0].returncode == 0, first[0].stderr
    (site / "feed.xml").unlink()
    singles = make_episodes(built, site, range(4))
    done = run_together(tmp_path, [batch, *(publish_args(e, site) for e in singles)])
    assert all(p.returncode == 0 for p in done), [p.stderr for p in done]
    guids = feed_guids(site)
    assert len(guids) == 6
    assert {f"guid-{n:02d}" for n in range(4)} <= set(guids)
    assert_pages_match_feed(site)


# -- killed publishes ------------------------------------------------------------


def _killed_at(tmp: Path, site: Path, mp3: Path, pause: str) -> None:
    """Run one publish that stops at ``pause`` (the driver's hook); kill -9 it."""
    marker = tmp / "paused"
    marker.unlink(missing_ok=True)
    go = tmp / f"go-kill-{time.monotonic_ns()}"
    go.touch()
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(go), str(tmp / "ready"), f"{pause}:{marker}"]
        + publish_args(mp3, site),
        env=_env(tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the publish ended before {pause}: {proc.stderr!r}")
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _publish(tmp: Path, site: Path, mp3: Path) -> None:
    done = run_together(tmp, [publish_args(mp3, site)])
    assert done[0].returncode == 0, done[0].stderr


# Two episodes in the feed, a third added: staged files 0-4 (two pages, the
# new one, the index, the feed), then renames 0 (the journal, the commit
# point), 1-4 (the pages, the index) and 5 (the feed).
KILL_POINTS = [f"write:{k}" for k in (0, 2, 4)] + [f"rename:{k}" for k in range(6)]


@pytest.mark.parametrize("pause", KILL_POINTS)
def test_a_publish_killed_anywhere_leaves_the_old_set_or_the_new(
    built: Path, site: Path, tmp_path: Path, pause: str
) -> None:
    old = make_episodes(built, site, range(2))
    for mp3 in old:
        _publish(tmp_path, site, mp3)
    before = {p.name: p.read_bytes() for p in site.glob("*.html")}
    before_feed = (site / "feed.xml").read_bytes()
    (killed,) = make_episodes(built, site, [2])
    _killed_at(tmp_path, site, killed, pause)

    committed = (site / STAGING / "journal.json").is_file()
    guids = feed_guids(site)  # the feed parses, whatever the moment
    if not committed:  # killed before the commit point: nothing a reader sees moved
        assert (site / "feed.xml").read_bytes() == before_feed
        assert {p.name: p.read_bytes() for p in site.glob("*.html")} == before
        assert_pages_match_feed(site)
    else:
        assert guids in (["guid-00", "guid-01"], ["guid-00", "guid-01", "guid-02"])
    # The next publish (under the lock) finishes the committed one or drops
    # the uncommitted one, then adds its own.
    (last,) = make_episodes(built, site, [3])
    _publish(tmp_path, site, last)
    expected = ["guid-00", "guid-01", *(["guid-02"] if committed else []), "guid-03"]
    assert feed_guids(site) == expected
    assert_pages_match_feed(site)
    assert not (site / STAGING).exists()


def test_publishes_killed_at_random_moments_never_tear_the_feed(
    built: Path, site: Path, tmp_path: Path
) -> None:
    episodes = make_episodes(built, site, range(8))
    _publish(tmp_path, site, episodes[0])
    for n, mp3 in enumerate(episodes[1:6], 1):
        go = tmp_path / f"go-random-{n}"
        go.touch()
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), str(go), str(tmp_path / "r"), ""]
            + publish_args(mp3, site),
            env=_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.25 + 0.15 * n)  # from the imports to past the last rename
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        guids = feed_guids(site)
        if not (site / STAGING / "journal.json").is_file():
            assert_pages_match_feed(site)
        assert set(guids) >= {"guid-00"}
    _publish(tmp_path, site, episodes[7])
    assert "guid-07" in feed_guids(site)
    assert_pages_match_feed(site)


def test_a_publish_that_waits_too_long_says_who_holds_the_feed(
    built: Path, site: Path, tmp_path: Path
) -> None:
    (first, second) = make_episodes(built, site, range(2))
    marker = tmp_path / "paused"
    go = tmp_path / "go-hold"
    go.touch()
    holder = subprocess.Popen(
        [
            sys.executable,
            str(DRIVER),
            str(go),
            str(tmp_path / "r"),
            f"rename:0:{marker}",
        ]
        + publish_args(first, site),
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.01)
        waiting = subprocess.run(
            [sys.executable, "-m", "narrator"]
            + publish_args(second, site, "--lock-wait", "0.5"),
            env=_env(tmp_path),
            capture_output=True,
            text=True,
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert waiting.returncode == 1
    assert f"another narrator (pid {holder.pid}) is publishing to" in waiting.stderr
    assert "waited 0 s" in waiting.stderr or "waited 1 s" in waiting.stderr
    assert "Traceback" not in waiting.stderr
