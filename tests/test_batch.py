"""``narrator batch``: a show folder in one run, one pool of sections, one feed.

Real espeak-ng, ffmpeg and mutagen over the reference summary and three small
summaries (tests/data/batch/); the feed is read back with podcastparser.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import podcastparser
import pytest
from click.testing import CliRunner, Result

from narrator.build.batch import find_documents, run_batch
from narrator.build.schedule import Progress
from narrator.cli import main
from narrator.config import Settings
from narrator.container.tags import read_episode

from .conftest import DATA, SEED, SEED_TITLES
from .fakes import FakeEngine

BATCH = DATA / "batch"
STEMS = ["000_4308e03e8e9adbfa", "01_climat", "02_sommeil", "03_jardin"]
EPISODE_KEYS = {
    "source",
    "output",
    "up_to_date",
    "sections_synthesized",
    "sections_reused",
    "utterances_synthesized",
    "duration_s",
    "error",
}
BATCH_KEYS = {"episodes", "built", "up_to_date", "failed", "workers"}
BASE_URL = "https://example.org/resumes/"


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """The show folder: the reference summary, three more, and podcast.toml."""
    folder = tmp_path / "show"
    shutil.copytree(BATCH, folder)
    shutil.copy(SEED, folder)
    return folder


def run_cli(*args: str | Path) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


def batch_json(show: Path, out: Path, *extra: str | Path) -> tuple[Result, dict]:
    result = run_cli(
        "batch", show, "-o", out, "--engine", "espeak", "--json", "-j", "2", *extra
    )
    return result, json.loads(result.stdout)


def section_titles(path: Path) -> list[str]:
    result = run_cli("sections", path, "--json")
    assert result.exit_code == 0, result.stderr
    return [row["title"] for row in json.loads(result.stdout)]


def feed_items(feed: Path) -> dict[str, str]:
    """guid -> enclosure file name, as podcastparser reads the feed."""
    parsed = podcastparser.parse(BASE_URL + "feed.xml", io.BytesIO(feed.read_bytes()))
    return {
        e["guid"]: e["enclosures"][0]["url"].rsplit("/", 1)[1]
        for e in parsed["episodes"]
    }


def test_a_folder_becomes_episodes_and_one_feed_then_only_edits_rebuild(
    show: Path, tmp_path: Path, cache_dir: Path
) -> None:
    out = tmp_path / "public"
    feed = out / "feed.xml"
    (show / "narrator.toml").write_text(
        '[build]\npodcast = "Résumés du lundi"\n', encoding="utf-8"
    )
    result, data = batch_json(show, out, "--feed", feed, "--base-url", BASE_URL)
    assert result.exit_code == 0, result.stderr
    assert set(data) == BATCH_KEYS
    assert (data["built"], data["up_to_date"], data["failed"]) == (4, 0, 0)
    assert data["workers"] == 1
    episodes = {Path(e["output"]).stem: e for e in data["episodes"]}
    assert sorted(episodes) == STEMS  # podcast.toml and narrator.toml are settings
    for stem, episode in episodes.items():
        assert set(episode) == EPISODE_KEYS
        assert episode["error"] is None and episode["sections_reused"] == 0
        source = show / Path(episode["source"]).name
        tags = read_episode(out / f"{stem}.mp3")
        assert [c.title for c in tags.chapters] == section_titles(source)
        assert episode["sections_synthesized"] == len(tags.chapters)
        assert tags.podcast == "Résumés du lundi"  # narrator.toml applies to all
        assert (out / f"{stem}.chapters.json").is_file()
    assert [c.title for c in read_episode(out / f"{STEMS[0]}.mp3").chapters] == (
        SEED_TITLES
    )
    items = feed_items(feed)
    assert sorted(items.values()) == [f"{s}.mp3" for s in STEMS]
    parsed = podcastparser.parse(BASE_URL, io.BytesIO(feed.read_bytes()))
    titles = [e["title"] for e in parsed["episodes"]]
    # Newest first: episodes 2 and 1 by front matter, then the file names.
    assert titles[-2:] == ["Bien dormir", "Le climat en trois questions"]
    assert (out / "index.html").is_file()  # the site, as publish writes it

    unchanged = feed.read_bytes()
    result, data = batch_json(show, out, "--feed", feed, "--base-url", BASE_URL)
    assert result.exit_code == 0, result.stderr
    assert (data["built"], data["up_to_date"]) == (0, 4)
    assert all(e["sections_synthesized"] == 0 for e in data["episodes"])
    assert feed.read_bytes() == unchanged  # nothing new: the feed is not rewritten

    doc = show / "02_sommeil.md"
    doc.write_text(
        doc.read_text(encoding="utf-8").replace("beaucoup", "énormément"),
        encoding="utf-8",
    )
    result, data = batch_json(show, out, "--feed", feed, "--base-url", BASE_URL)
    assert result.exit_code == 0, result.stderr
    assert (data["built"], data["up_to_date"], data["failed"]) == (1, 3, 0)
    edited = next(e for e in data["episodes"] if e["source"].endswith("sommeil.md"))
    assert (edited["sections_synthesized"], edited["sections_reused"]) == (1, 1)
    assert feed_items(feed) == items  # same items, same guids


def test_a_bad_document_is_reported_and_the_others_build(
    show: Path, tmp_path: Path, cache_dir: Path
) -> None:
    (show / "04_vide.txt").write_text("", encoding="utf-8")
    out = tmp_path / "public"
    result, data = batch_json(show, out)
    assert result.exit_code == 1
    assert (data["built"], data["failed"]) == (4, 1)
    failed = [e for e in data["episodes"] if e["error"]]
    assert [Path(e["source"]).name for e in failed] == ["04_vide.txt"]
    assert "empty" in failed[0]["error"]
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "04_vide.txt" in errors[0]
    assert sorted(p.stem for p in out.glob("*.mp3")) == STEMS
    # Without --json: one line per episode and a summary on stdout.
    result = run_cli("batch", show, "-o", out, "--engine", "espeak")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "0 built, 4 up to date, 1 failed"


def test_an_engine_error_fails_its_document_only(
    show: Path, tmp_path: Path, cache_dir: Path
) -> None:
    engine = FakeEngine(fail_on="arrosage")  # in 03_jardin.txt only
    result = run_batch(
        show,
        Settings(engine="fake", jobs=2, cache_dir=cache_dir),
        outdir=tmp_path / "out",
        engine=engine,
    )
    failed = {e.source.name: e.error for e in result.episodes if e.error}
    assert list(failed) == ["03_jardin.txt"]
    assert "fake failure" in str(failed["03_jardin.txt"])
    assert result.built == 3
    assert not (tmp_path / "out" / "03_jardin.mp3").exists()


def test_one_progress_over_every_section_of_every_document(
    show: Path, tmp_path: Path, cache_dir: Path
) -> None:
    events: list[Progress] = []
    result = run_batch(
        show,
        Settings(engine="fake", jobs=2, cache_dir=cache_dir),
        outdir=tmp_path / "out",
        engine=FakeEngine(),
        report=events.append,
    )
    total = sum(e.result.sections_synthesized for e in result.episodes if e.result)
    assert total == 11 + 3 + 2 + 3
    assert [e.done for e in events] == list(range(1, total + 1))
    assert {e.total for e in events} == {total}


def test_identical_sections_across_documents_are_produced_once(
    tmp_path: Path, cache_dir: Path
) -> None:
    show = tmp_path / "show"
    show.mkdir()
    text = "Un titre\nUne phrase identique dans les deux documents.\n"
    for name in ("a.txt", "b.txt"):
        (show / name).write_text(text, encoding="utf-8")
    engine = FakeEngine()
    result = run_batch(
        show,
        Settings(engine="fake", cache_dir=cache_dir),
        outdir=tmp_path / "out",
        engine=engine,
    )
    assert engine.call_count == 1
    counts = [
        (e.result.sections_synthesized, e.result.sections_reused)
        for e in result.episodes
        if e.result
    ]
    assert counts == [(1, 0), (0, 1)]


def test_documents_are_visible_txt_and_md_files_but_the_settings(
    tmp_path: Path,
) -> None:
    for name in (
        "b.md",
        "a.txt",
        ".cache.txt",
        "notes.rst",
        "podcast.toml",
        "narrator.toml",
        "C.MD",
    ):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "dir.txt").mkdir()
    assert [p.name for p in find_documents(tmp_path)] == ["C.MD", "a.txt", "b.md"]


def test_usage_errors_exit_2(show: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("batch", empty, "--engine", "espeak")
    assert result.exit_code == 2 and "no .txt or .md" in result.stderr
    result = run_cli("batch", show, "--feed", tmp_path / "feed.xml")
    assert result.exit_code == 2 and "--base-url" in result.stderr
    result = run_cli(
        "batch", show, "--feed", tmp_path / "f.xml", "--base-url", "ftp://x/"
    )
    assert result.exit_code == 2 and "http(s)" in result.stderr
    assert not (tmp_path / "f.xml").exists()
