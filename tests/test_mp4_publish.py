"""M4A/M4B episodes in ``info``, the feed and the pages, read back by real readers.

One build writes a short document as MP3, M4A and M4B from one synthesis
(module fixture), and a second document as MP3 only, for a feed that mixes
both. ``info`` is checked against ffprobe and against the MP3's own report;
the feed against podcastparser (gPodder) and feedparser; the pages' markup
here, the playing in Chromium in ``test_site_m4a.py``.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner

from narrator.build.pipeline import build_formats
from narrator.cli import main
from narrator.config import Settings
from narrator.ffmpeg import ffmpeg_exe
from narrator.publish.episode_file import fallback_guid
from narrator.publish.podcast import publish_episode

from .conftest import PODCAST_CONFIG as CONFIG

RATE = 44100
FRAME_S = 1024 / RATE
BASE = "https://example.org/podcast/"

DOCUMENT = """\
---
title: Un épisode en AAC
---
# Le début

Voici le premier chapitre, assez court pour un test rapide.

# La suite

Puis un deuxième chapitre, avec quelques mots de plus pour durer.

# La fin

Et voilà, c'est terminé.
"""

OTHER = """\
---
title: Un épisode en MP3
---
# Seul chapitre

Celui-ci reste un MP3, dans le même flux que l'autre.
"""


TITLES = ["Le début", "La suite", "La fin"]


def settings_for(out: Path, work: Path, **changes: object) -> Settings:
    return replace(
        Settings(
            engine="espeak",
            output_path=out,
            cache_dir=work / "cache",
            lock_dir=work / "locks",
            author="Anne Autrice",
            podcast="Mes résumés",
            date="2024-05-01",
            episode=7,
            description="Une description « entre guillemets ».",
        ),
        **changes,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ep.mp3, ep.m4a, ep.m4b (one synthesis) and other.mp3, in one folder."""
    work = tmp_path_factory.mktemp("mp4pub")
    out = work / "out"
    (work / "ep.md").write_text(DOCUMENT, encoding="utf-8")
    (work / "other.md").write_text(OTHER, encoding="utf-8")
    formats = ("mp3", "m4a", "m4b")
    settings = settings_for(out / "ep.mp3", work, formats=formats)
    build_formats(work / "ep.md", settings)
    other = settings_for(out / "other.mp3", work, episode=8, description=None)
    build_formats(work / "other.md", other)
    files = {name: out / f"ep.{name}" for name in formats}
    files["other"] = out / "other.mp3"
    files["work"] = work
    return files


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def ffprobe_json(ffprobe: str, path: Path) -> dict:
    proc = subprocess.run(
        [ffprobe, "-v", "error", "-print_format", "json", "-show_format"]
        + ["-show_streams", "-show_chapters", str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(proc.stdout)


# --- info ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["m4a", "m4b"])
def test_info_json_has_the_mp3s_keys_and_ffprobes_chapters(
    built: dict[str, Path], ffprobe: str, kind: str
) -> None:
    code, out, err = run_cli("info", str(built[kind]), "--json")
    assert code == 0, err
    mp4 = json.loads(out)
    code, out, err = run_cli("info", str(built["mp3"]), "--json")
    assert code == 0, err
    mp3 = json.loads(out)
    assert set(mp4) == set(mp3)
    assert mp4["container"] == kind and mp3["container"] == "mp3"
    assert mp4["codec"] == "AAC LC"
    for key in ("title", "author", "podcast", "date", "episode", "description"):
        assert mp4[key] == mp3[key], key
    assert set(mp4["extra"]) == set(mp3["extra"])
    assert mp4["extra"]["NARRATOR_SOURCE"] == mp3["extra"]["NARRATOR_SOURCE"]
    assert mp4["cover_mime"] == mp3["cover_mime"] == "image/jpeg"
    assert mp4["cover_bytes"] == mp3["cover_bytes"] > 0
    assert mp4["transcript_chars"] == mp3["transcript_chars"] > 0
    assert (mp4["sample_rate"], mp4["channels"]) == (RATE, 1)
    assert mp4["id3_version"] == "" and mp4["toc"] == []

    probe = ffprobe_json(ffprobe, built[kind])
    assert abs(mp4["duration_s"] - float(probe["format"]["duration"])) < FRAME_S
    assert abs(mp4["duration_s"] - mp3["duration_s"]) < FRAME_S
    assert [c["title"] for c in mp4["chapters"]] == TITLES
    for ours, theirs, in_mp3 in zip(
        mp4["chapters"], probe["chapters"], mp3["chapters"], strict=True
    ):
        assert ours["title"] == theirs["tags"]["title"]
        # Chapter times are kept in ms: within a frame and a rounding.
        assert abs(ours["start_s"] - float(theirs["start_time"])) < FRAME_S + 1e-3
        assert abs(ours["start_s"] - in_mp3["start_s"]) < FRAME_S + 1e-3


def test_info_text_names_the_kind_and_lists_the_chapters(
    built: dict[str, Path],
) -> None:
    code, out, err = run_cli("info", str(built["m4b"]))
    assert code == 0, err
    audio = next(line for line in out.splitlines() if line.startswith("audio"))
    assert "AAC LC" in audio and "44100 Hz, 1 ch, M4B (audiobook)" in audio
    assert "ID3" not in out
    lines = [line.strip() for line in out.splitlines()]
    assert "chapters     3" in out
    for n, title in enumerate(TITLES, 1):
        assert any(line.startswith(f"{n}.") and line.endswith(title) for line in lines)
    code, out, err = run_cli("info", str(built["m4a"]))
    assert code == 0 and "M4A (podcast)" in out, err


def test_an_mp4_under_another_name_is_still_read_as_one(
    built: dict[str, Path], tmp_path: Path
) -> None:
    odd = tmp_path / "episode.bin"
    shutil.copyfile(built["m4a"], odd)
    code, out, err = run_cli("info", str(odd), "--json")
    assert code == 0, err
    assert json.loads(out)["container"] == "m4a"


def test_damaged_or_foreign_files_are_clear_errors(
    built: dict[str, Path], tmp_path: Path
) -> None:
    whole = built["m4b"].read_bytes()
    cases = {
        "cut.m4b": whole[:300],
        "empty.m4a": b"",
        "text.m4a": b"Ceci n'est pas de l'audio.\n",
        "picture.m4b": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "header.m4b": whole[:8] + b"\xff" * 64,  # an ftyp that lies about its size
        "noise.mp3": bytes(range(256)) * 8,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for extra in ((), ("--json",)):
            code, out, err = run_cli("info", str(path), *extra)
            assert code == 2, (name, out, err)
            assert "Traceback" not in err and str(path) in err, (name, err)
            assert len(err.strip().splitlines()) == 1, (name, err)
            assert "Give an MP3, M4A or M4B episode" in err, (name, err)
            assert out == "", name
    code, _, err = run_cli("info", str(tmp_path / "missing.m4b"))
    assert code == 2 and "no such file" in err


def test_an_untagged_m4a_is_shown_and_a_video_without_audio_refused(
    tmp_path: Path,
) -> None:
    plain, video = tmp_path / "plain.m4a", tmp_path / "video.mp4"
    for path, source, codec in (
        (plain, "sine=duration=2", ["-c:a", "aac"]),
        (video, "testsrc=duration=1:size=64x64", ["-c:v", "mpeg4"]),
    ):
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", source, *codec,
             "-y", str(path)],
            check=True,
        )  # fmt: skip
    code, out, err = run_cli("info", str(plain), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["chapters"] == [] and data["title"] is None
    assert abs(data["duration_s"] - 2) < 0.1 and data["container"] == "m4a"
    code, out, err = run_cli("info", str(video))
    assert code == 2 and out == ""
    assert "an MP4 without an audio track" in err and "Traceback" not in err
    # Published, it is named after its file and gets a file-name guid.
    (tmp_path / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    result = publish_episode(plain, feed_path=tmp_path / "feed.xml", base_url=BASE)
    assert (result.title, result.guid) == ("plain", fallback_guid("plain.m4a"))
    (entry,) = feedparser.parse((tmp_path / "feed.xml").read_bytes()).entries
    assert entry.enclosures[0].type == "audio/mp4"


# --- the feed ----------------------------------------------------------------------


@pytest.fixture
def show(tmp_path: Path, built: dict[str, Path]) -> Path:
    """A show folder with the M4A, the other MP3 and their sidecars."""
    folder = tmp_path / "show"
    folder.mkdir()
    sidecars = (".chapters.json", ".vtt", ".srt")
    names = ["ep.m4a", "other.mp3"]
    names += [f"{stem}{suffix}" for stem in ("ep", "other") for suffix in sidecars]
    for name in names:
        shutil.copyfile(built["m4a"].parent / name, folder / name)
    (folder / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    return folder


def test_a_feed_of_an_m4a_and_an_mp3_reads_in_both_parsers(
    show: Path, built: dict[str, Path], ffprobe: str
) -> None:
    from datetime import UTC, datetime

    feed = show / "feed.xml"
    m4a, mp3 = show / "ep.m4a", show / "other.mp3"
    first = publish_episode(
        m4a, feed_path=feed, base_url=BASE, now=datetime(2024, 5, 1, tzinfo=UTC)
    )
    # The second publish reads the first item back from the feed: its type stays.
    second = publish_episode(
        mp3, feed_path=feed, base_url=BASE, now=datetime(2024, 5, 8, tzinfo=UTC)
    )
    assert (first.action, second.action) == ("added", "added")
    data = feed.read_bytes()
    gpodder = podcastparser.parse(BASE + "feed.xml", io.BytesIO(data))
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    guid = json.loads(run_cli("info", str(m4a), "--json")[1])["extra"]["NARRATOR_GUID"]
    assert first.guid == guid
    by_guid = {e["guid"]: e for e in gpodder["episodes"]}
    entries = {e.id: e for e in parsed.entries}
    assert set(by_guid) == set(entries) == {first.guid, second.guid}

    duration = float(ffprobe_json(ffprobe, m4a)["format"]["duration"])
    for path, guid, mime in (
        (m4a, first.guid, "audio/mp4"),
        (mp3, second.guid, "audio/mpeg"),
    ):
        gp, entry = by_guid[guid], entries[guid]
        url = BASE + path.name
        (enclosure,) = gp["enclosures"]
        assert enclosure == {
            "url": url,
            "file_size": path.stat().st_size,
            "mime_type": mime,
        }
        (fp_enclosure,) = entry.enclosures
        assert fp_enclosure.href == url and fp_enclosure.type == mime
        assert int(fp_enclosure.length) == path.stat().st_size
        stem = BASE + path.stem
        assert gp["chapters_json_url"] == stem + ".chapters.json"
        assert entry.podcast_chapters["url"] == stem + ".chapters.json"
        assert gp["transcript_url"] == entry.podcast_transcript["url"] == stem + ".vtt"
        assert gp["link"] == entry.link == stem + ".html"
    m4a_entry = entries[first.guid]
    assert int(m4a_entry.itunes_duration) == round(duration)
    assert by_guid[first.guid]["total_time"] == round(duration)
    psc = [c["title"] for c in m4a_entry.psc_chapters["chapters"]]
    assert psc == TITLES
    assert [c["title"] for c in by_guid[first.guid]["chapters"]] == TITLES
    # The chapters JSON the item links is the build's, naming the M4A's times.
    chapters = json.loads((show / "ep.chapters.json").read_text(encoding="utf-8"))
    assert [c["title"] for c in chapters["chapters"]] == TITLES


def test_removing_the_m4a_leaves_the_mp3(show: Path) -> None:
    feed = show / "feed.xml"
    kept = publish_episode(show / "other.mp3", feed_path=feed, base_url=BASE)
    gone = publish_episode(show / "ep.m4a", feed_path=feed, base_url=BASE)
    removed = publish_episode(
        show / "ep.m4a", feed_path=feed, base_url=BASE, remove=True
    )
    assert (removed.action, removed.guid) == ("removed", gone.guid)
    (entry,) = feedparser.parse(feed.read_bytes()).entries
    assert entry.id == kept.guid and entry.enclosures[0].type == "audio/mpeg"
    assert not (show / "ep.html").exists() and (show / "other.html").is_file()


def test_the_m4as_page_plays_it_with_its_type(show: Path) -> None:
    publish_episode(show / "ep.m4a", feed_path=show / "feed.xml", base_url=BASE)
    page = (show / "ep.html").read_text(encoding="utf-8")
    assert '<source src="ep.m4a" type="audio/mp4">' in page
    assert '<meta property="og:audio:type" content="audio/mp4">' in page
    assert "Télécharger le M4A" in page and "MP3" not in page
    for title in TITLES:
        assert title in page


def test_republishing_the_m4b_of_the_same_build_replaces_the_mp3s_item(
    show: Path, built: dict[str, Path]
) -> None:
    """The MP3 and the M4B of one build are one episode (one stem, one page,
    one title; each file has its own guid): publishing the M4B after the MP3
    updates the item in place, now audio/mp4, with the MP3's guid."""
    feed = show / "feed.xml"
    for kind in ("mp3", "m4b"):
        shutil.copyfile(built[kind], show / f"ep.{kind}")
    before = publish_episode(show / "ep.mp3", feed_path=feed, base_url=BASE)
    after = publish_episode(show / "ep.m4b", feed_path=feed, base_url=BASE)
    assert (before.action, after.action) == ("added", "updated")
    assert after.guid == before.guid and after.episode_count == 1
    (entry,) = feedparser.parse(feed.read_bytes()).entries
    (enclosure,) = entry.enclosures
    assert enclosure.type == "audio/mp4" and enclosure.href == BASE + "ep.m4b"
    assert int(enclosure.length) == (show / "ep.m4b").stat().st_size


# --- batch -------------------------------------------------------------------------


def test_batch_writes_and_publishes_the_first_format_of_the_toml(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    show, public = tmp_path / "show", tmp_path / "public"
    show.mkdir()
    (show / "ep.md").write_text(DOCUMENT, encoding="utf-8")
    (show / "other.md").write_text(OTHER, encoding="utf-8")
    (show / "podcast.toml").write_text(CONFIG, encoding="utf-8")
    (show / "narrator.toml").write_text(
        '[build]\nformat = ["m4b", "mp3"]\n', encoding="utf-8"
    )
    feed = public / "feed.xml"
    cache = built["work"] / "cache"  # the clips of the module's builds
    code, out, err = run_cli(
        "batch", str(show), "-o", str(public), "--engine", "espeak", "--json",
        "--cache-dir", str(cache), "--feed", str(feed), "--base-url", BASE,
    )  # fmt: skip
    assert code == 0, err
    assert "batch writes one format per document: m4b (mp3 left out)" in err
    data = json.loads(out)
    assert sorted(Path(e["output"]).name for e in data["episodes"]) == [
        "ep.m4b",
        "other.m4b",
    ]
    assert not list(public.glob("*.mp3"))
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    gpodder = podcastparser.parse(BASE + "feed.xml", io.BytesIO(feed.read_bytes()))
    assert len(parsed.entries) == len(gpodder["episodes"]) == 2
    for entry, gp in zip(parsed.entries, gpodder["episodes"], strict=True):
        (enclosure,) = entry.enclosures
        path = public / enclosure.href.rsplit("/", 1)[1]
        assert path.suffix == ".m4b" and enclosure.type == "audio/mp4"
        assert int(enclosure.length) == path.stat().st_size
        assert gp["enclosures"][0]["mime_type"] == "audio/mp4"
        tags = json.loads(run_cli("info", str(path), "--json")[1])
        assert int(entry.itunes_duration) == round(tags["duration_s"])
        assert entry.id == tags["extra"]["NARRATOR_GUID"]
        # The sidecars name the M4B, the file they go with.
        chapters = json.loads(path.with_suffix(".chapters.json").read_text("utf-8"))
        assert [c["title"] for c in chapters["chapters"]] == [
            c["title"] for c in tags["chapters"]
        ]
    # Episode order: the front matter gives none, the dates are equal: by name,
    # published one second apart, so the newest (other) is listed first.
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries] == [
        "other.html",
        "ep.html",
    ]
