"""Everything narrator writes passes narrator check with no problem.

The seed is built in every preset and format (one clip cache: espeak speaks
it once), an MP3, an M4A and an M4B published into one feed with their
pages, and the episodes, the feed and the folder checked through the CLI. Then build and
publish themselves are shown to warn when what they wrote breaks a rule.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from narrator.build.pipeline import build_formats
from narrator.cli import main
from narrator.config import Settings
from tests import checkfiles as cf
from tests.conftest import SEED

DATA = Path(__file__).parent / "data"
PRESETS = ("phone", "small", "hq")
FORMATS = ("mp3", "m4a", "m4b")
BASE = "https://example.org/pod/"


def run(*args: object) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed in every preset (one folder each) and format, MP3s published."""
    work = tmp_path_factory.mktemp("check-output")
    folder = work / "show"
    folder.mkdir()
    shutil.copy(DATA / "batch" / "podcast.toml", folder)
    for preset in PRESETS:
        settings = Settings(
            engine="espeak",
            output_path=folder / f"seed-{preset}.mp3",
            cache_dir=work / "cache",
            preset=preset,
            formats=FORMATS,
            title=f"Le seed ({preset})",
        )
        build_formats(SEED, settings)
    return folder


# One episode of each format in the feed (the three of one build share a guid).
PUBLISHED = ("seed-phone.mp3", "seed-small.m4a", "seed-hq.m4b")


def published(show: Path) -> Path:
    feed = show / "feed.xml"
    if not feed.exists():
        for name in PUBLISHED:
            said = run("publish", show / name, "--feed", feed, "--base-url", BASE)
            assert said.exit_code == 0, said.stderr
            assert "warning" not in said.stderr, said.stderr
    return feed


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_episode_passes(show: Path, preset: str, fmt: str) -> None:
    said = run("check", show / f"seed-{preset}.{fmt}", "--json")
    assert said.exit_code == 0, said.stdout
    (report,) = json.loads(said.stdout)
    assert report["kind"] == ("mp3" if fmt == "mp3" else "mp4")
    assert report["problems"] == []


def test_the_feed_passes_with_its_episodes(show: Path) -> None:
    said = run("check", published(show), "--json")
    assert said.exit_code == 0, said.stdout
    reports = json.loads(said.stdout)
    assert reports[0]["kind"] == "feed"
    assert sorted(r["kind"] for r in reports[1:]) == ["mp3", "mp4", "mp4"]
    assert [r["problems"] for r in reports] == [[]] * 4


def test_the_folder_passes(show: Path) -> None:
    published(show)
    said = run("check", show, "--json")
    assert said.exit_code == 0, said.stdout
    reports = json.loads(said.stdout)
    assert sorted(Path(r["path"]).name for r in reports) == sorted(
        ["feed.xml"] + [f"seed-{p}.{f}" for p in PRESETS for f in FORMATS]
    )
    assert all(r["problems"] == [] for r in reports)


def test_build_and_publish_warn_of_what_they_wrote(show: Path, tmp_path: Path) -> None:
    heavy = tmp_path / "heavy.png"
    heavy.write_bytes(cf.noise_png(1400))  # Apple's rules hold; the bytes do not
    out = tmp_path / "ep.mp3"
    said = run(
        "build", SEED, "-o", out, "--cover", heavy, "--engine", "espeak",
        "--cache-dir", show.parent / "cache", "--title", "Lourd",
    )  # fmt: skip
    assert said.exit_code == 0, said.stderr
    assert "warning" in said.stderr and "[cover-too-large]" in said.stderr
    shutil.copy(DATA / "batch" / "podcast.toml", tmp_path)
    said = run("publish", out, "--feed", tmp_path / "feed.xml", "--base-url", BASE)
    assert said.exit_code == 0, said.stderr
    assert "[cover-too-large]" in said.stderr
