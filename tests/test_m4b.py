"""M4A/M4B episodes, read back by independent readers: ffprobe, mutagen, the box walk.

One build writes the seed as MP3 and M4B from one synthesis (module fixture);
the M4B is checked against the MP3 of the same build: chapters, duration,
loudness, sidecars. The join of AAC segments is checked on its own against
each segment decoded alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4

from narrator.audio.render import PRESETS
from narrator.build.pipeline import build, build_formats
from narrator.config import Settings, load_settings
from narrator.container import aac, boxes, mp4file
from narrator.container.frames import Mp3Format
from narrator.container.tags import read_extra
from narrator.ffmpeg import decode_file, ffmpeg_exe
from tests.conftest import SEED, SEED_TITLES

RATE = 44100
FRAME_S = 1024 / RATE


def probe(ffprobe: str, path: Path) -> dict:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_format", "-show_streams", "-show_chapters"]
        + ["-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's ebur128 filter.

    As tests/test_audio.py's, with ffmpeg's log read leniently: it prints the
    MP4's chapter titles cut at a byte count.
    """
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path)]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        check=True,
    )
    log = proc.stderr.decode("utf-8", "replace")
    summary = log[log.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert lufs and peak, summary
    return float(lufs.group(1)), float(peak.group(1))


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
            title="L'épisode",
        ),
        **changes,
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The seed built as ep.mp3 and ep.m4b, one synthesis."""
    work = tmp_path_factory.mktemp("m4b")
    out = work / "out" / "ep.mp3"
    settings = settings_for(out, work, formats=("mp3", "m4b"))
    results = build_formats(SEED, settings)
    return {"work": work, "settings": settings, "results": results}


def test_one_synthesis_two_files_beside_each_other(pair: dict) -> None:
    mp3, m4b = pair["results"]
    assert mp3.output.name == "ep.mp3" and m4b.output.name == "ep.m4b"
    assert mp3.output.parent == m4b.output.parent
    assert mp3.sections_synthesized == len(SEED_TITLES)
    assert m4b.sections_synthesized == 0  # every clip was cached by the MP3
    names = {p.name for p in m4b.output.parent.iterdir()}
    assert names == {"ep.mp3", "ep.m4b", "ep.chapters.json", "ep.vtt", "ep.srt"}


def test_ffprobe_reads_aac_chapters_and_duration(pair: dict, ffprobe: str) -> None:
    mp3, m4b = pair["results"]
    got = probe(ffprobe, m4b.output)
    audio = [s for s in got["streams"] if s["codec_type"] == "audio"]
    assert len(audio) == 1
    assert audio[0]["codec_name"] == "aac" and audio[0]["profile"] == "LC"
    assert int(audio[0]["sample_rate"]) == RATE and audio[0]["channels"] == 1
    want = probe(ffprobe, mp3.output)["chapters"]
    chapters = got["chapters"]
    assert [c["tags"]["title"] for c in chapters] == SEED_TITLES
    assert [c["tags"]["title"] for c in want] == SEED_TITLES
    for ours, theirs in zip(chapters, want, strict=True):
        assert abs(float(ours["start_time"]) - float(theirs["start_time"])) < FRAME_S
    # The audio's duration (the edit list), against the MP3's as mutagen reads
    # it (ffprobe overstates an MP3 by its padding).
    duration = float(got["format"]["duration"])
    assert abs(duration - m4b.duration_s) < 1e-3
    assert abs(float(audio[0]["duration"]) - m4b.duration_s) < 1e-3
    assert abs(duration - MP3(mp3.output).info.length) < FRAME_S


def test_mutagen_reads_tags_cover_and_audiobook_kind(pair: dict) -> None:
    _, m4b = pair["results"]
    audio = MP4(m4b.output)
    tags = audio.tags
    assert tags is not None
    assert tags["©nam"] == ["L'épisode"]
    assert tags["©ART"] == ["Anne Autrice"]
    assert tags["©alb"] == ["Mes résumés"]
    assert tags["©day"] == ["2024-05-01"]
    assert tags["desc"] == ["Une description « entre guillemets »."]
    assert tags["trkn"] == [(7, 0)]
    assert tags["stik"] == [2]
    assert "pcst" not in tags
    lyrics = tags["©lyr"][0]
    assert "Résumé bref" in lyrics and len(lyrics) > 2000
    cover = tags["covr"][0]
    assert (
        bytes(cover)[:3] == b"\xff\xd8\xff" and cover.imageformat == cover.FORMAT_JPEG
    )
    smpb = bytes(tags["----:com.apple.iTunes:iTunSMPB"][0]).decode().split()
    priming, padding, length = (int(x, 16) for x in smpb[1:4])
    assert priming == aac.PRIMING and 0 <= padding < 1024
    assert abs(length / RATE - m4b.duration_s) < 1e-6
    # mutagen's length is the media's (mdhd): the priming unit included.
    assert 0 <= audio.info.length - m4b.duration_s <= FRAME_S + 1e-6
    assert [c.title for c in audio.chapters] == SEED_TITLES
    build_key = bytes(tags["----:org.narrator:NARRATOR_BUILD"][0]).decode()
    assert len(build_key) == 64


def test_the_box_walk_finds_both_chapter_formats_and_the_edit(pair: dict) -> None:
    _, m4b = pair["results"]
    found = boxes.walk_path(m4b.output)
    assert boxes.find(found, "moov/udta/chpl")
    assert boxes.find(found, "moov/trak/tref/chap")
    with m4b.output.open("rb") as handle:
        edit = boxes.find(found, "moov/trak/edts/elst")[0].payload(handle)
        mvhd = boxes.find(found, "moov/mvhd")[0].payload(handle)
    count, duration, media_time = struct.unpack(">III", edit[4:16])
    assert count == 1 and media_time == aac.PRIMING
    assert duration == round(m4b.duration_s * RATE)
    timescale, movie = struct.unpack(">II", mvhd[12:20])
    assert timescale == RATE and movie == duration


def test_loudness_of_the_decoded_file(pair: dict) -> None:
    _, m4b = pair["results"]
    lufs, peak = ebur128(m4b.output)
    assert abs(lufs - PRESETS["phone"].target_lufs) <= 0.3 + 1e-6, lufs
    assert peak <= -1.0, peak


def test_sidecars_are_the_mp3s_and_both_files_are_up_to_date(pair: dict) -> None:
    mp3, m4b = pair["results"]
    assert mp3.timeline == m4b.timeline
    sidecars = read_extra(mp3.output)["NARRATOR_SIDECARS"]
    tags = MP4(m4b.output).tags
    assert tags is not None
    assert bytes(tags["----:org.narrator:NARRATOR_SIDECARS"][0]).decode() == sidecars
    chapters = json.loads((m4b.output.parent / "ep.chapters.json").read_text())
    assert chapters["fileName"] == "ep.mp3"  # the first format names them
    again = build_formats(SEED, pair["settings"])
    assert [r.up_to_date for r in again] == [True, True]
    assert [c.title for c in again[1].chapters] == SEED_TITLES
    assert abs(again[1].duration_s - m4b.duration_s) < 1e-6


def test_an_m4b_alone_has_the_mp3s_sidecars(pair: dict) -> None:
    work = pair["work"]
    out = work / "solo" / "ep.m4b"
    result = build(SEED, settings_for(out, work))
    assert result.sections_synthesized == 0
    mine = json.loads((out.parent / "ep.chapters.json").read_text())
    theirs = json.loads((work / "out" / "ep.chapters.json").read_text())
    assert mine.pop("fileName") == "ep.m4b"
    theirs.pop("fileName")
    assert mine == theirs
    for suffix in (".vtt", ".srt"):
        assert (out.parent / f"ep{suffix}").read_bytes() == (
            work / "out" / f"ep{suffix}"
        ).read_bytes()
    assert MP4(out).tags["stik"] == [2]  # type: ignore[index]


def test_a_one_word_edit_resynthesizes_one_section(pair: dict, tmp_path: Path) -> None:
    work = pair["work"]
    doc = tmp_path / "doc.txt"
    text = SEED.read_text(encoding="utf-8")
    doc.write_text(text.replace("Altman", "Altmann", 1), encoding="utf-8")
    out = tmp_path / "ep.m4b"
    settings = settings_for(out, work)
    first = build(doc, settings)
    assert first.sections_synthesized == 1
    assert build(doc, settings).up_to_date


@pytest.mark.parametrize(
    ("preset", "rate", "channels"), [("small", 22050, 1), ("hq", 44100, 2)]
)
def test_presets_and_exact_titles(
    tmp_path: Path, ffprobe: str, preset: str, rate: int, channels: int
) -> None:
    long_title = 'Un « très » long titre "cité" : ' + "é" * 200
    doc = tmp_path / "doc.md"
    doc.write_text(
        f"# Titre\n\n## {long_title}\n\nPremière phrase du texte.\n\n"
        "## Deuxième = ; # \\ partie\n\nUne autre phrase, plus courte.\n",
        encoding="utf-8",
    )
    out = tmp_path / "ep.m4a"
    result = build(doc, settings_for(out, tmp_path, preset=preset))
    got = probe(ffprobe, out)
    stream = [s for s in got["streams"] if s["codec_type"] == "audio"][0]
    assert (int(stream["sample_rate"]), stream["channels"]) == (rate, channels)
    titles = [c["tags"]["title"] for c in got["chapters"]]
    assert titles == [long_title, "Deuxième = ; # \\ partie"]
    assert abs(float(got["format"]["duration"]) - result.duration_s) < 1e-3
    tags = MP4(out)
    assert tags.tags is not None and tags.tags["stik"] == [21]
    assert tags.tags["pcst"] is True
    nero = [c.title for c in tags.chapters]
    assert nero[0] == mp4file.cut_title(long_title).decode()  # 255 bytes, whole chars
    assert len(long_title.encode()) > 255 and nero[1] == titles[1]
    # Two sentences: ±0.6 LU (the seed's M4B above keeps ±0.3).
    lufs, peak = ebur128(out)
    assert abs(lufs - PRESETS[preset].target_lufs) <= 0.6 + 1e-6 and peak <= -1.0


def _section(rng: np.random.Generator, sound: int, lead: int, tail: int) -> np.ndarray:
    t = np.arange(sound) / RATE
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    x = (x + 0.05 * rng.standard_normal(sound)).astype(np.float32)
    x[:300] *= np.linspace(0, 1, 300, dtype=np.float32)
    x[-300:] *= np.linspace(1, 0, 300, dtype=np.float32)
    return np.concatenate([np.zeros(lead, np.float32), x, np.zeros(tail, np.float32)])


def test_joined_segments_decode_as_each_alone(tmp_path: Path) -> None:
    """The join is seamless: each segment decodes, in the joined stream, to
    exactly what it decodes to alone, and the joins are silent."""
    fmt = Mp3Format(RATE, 1, 64)
    rng = np.random.default_rng(7)
    pcm = [_section(rng, n, 13230, 40000) for n in (60000, 90001, 70000)]
    segments = [
        aac.encode_segment(
            [x.tobytes()], fmt, tmp_path / f"{k}.aac", sample_format="f32le"
        )
        for k, x in enumerate(pcm)
    ]
    placement = aac.place(segments, fmt)
    silent = aac.silent_unit(fmt, tmp_path / "silent.aac")
    joined = tmp_path / "joined.aac"
    with joined.open("wb") as out:
        aac.write_units(segments, placement, silent, out)
    decoded = np.frombuffer(decode_file(joined, rate=RATE), "<i2")[aac.PRIMING :]
    for k, (segment, start) in enumerate(zip(segments, placement.starts, strict=True)):
        alone = np.frombuffer(decode_file(segment.path, rate=RATE), "<i2")
        alone = alone[aac.PRIMING : aac.PRIMING + segment.samples]
        at = start * aac.UNIT_SAMPLES
        assert np.array_equal(decoded[at : at + alone.size], alone), k
        # Within half a unit of where the MP3 puts the segment.
        assert abs(at - placement.mp3_starts[k]) <= aac.UNIT_SAMPLES // 2
    for start in placement.starts[1:]:
        around = decoded[start * 1024 - 4096 : start * 1024 + 4096]
        assert not around.any()  # the join: digital silence on both sides


def test_cli_writes_formats_from_the_toml_and_refuses_other_suffixes(
    tmp_path: Path, cache_dir: Path
) -> None:
    from tests.test_e2e import run_cli

    doc = tmp_path / "doc.md"
    doc.write_text("# Titre\n\n## Un\n\nUne phrase.\n", encoding="utf-8")
    (tmp_path / "narrator.toml").write_text('[build]\nformat = ["m4a", "mp3"]\n')
    assert load_settings(doc, {}).formats == ("m4a", "mp3")
    code, stdout, stderr = run_cli(
        "build", str(doc), "-o", str(tmp_path / "o" / "x.mp3")
    )
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "o").glob("x.*")) == [
        "x.chapters.json", "x.m4a", "x.mp3", "x.srt", "x.vtt",
    ]  # fmt: skip
    assert stdout.count("x.m4a") == 1 and stdout.count("x.mp3") == 1
    code, _, stderr = run_cli("build", str(doc), "-o", str(tmp_path / "x.ogg"))
    assert code == 2 and ".m4b" in stderr and "Traceback" not in stderr
    (tmp_path / "narrator.toml").write_text('[build]\nformat = ["ogg"]\n')
    code, _, stderr = run_cli("build", str(doc))
    assert code == 2 and "format" in stderr and "Traceback" not in stderr


def test_kill_during_m4b_build_keeps_the_previous_file(
    seed_path: Path, tmp_path: Path
) -> None:
    """SIGKILL mid-build: the previous M4B intact, nothing left beside it."""
    doc = tmp_path / "doc.txt"
    shutil.copy(seed_path, doc)
    out = tmp_path / "out" / "ep.m4b"
    cache = tmp_path / "cache"
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "NARRATOR_JOBS": "1"}
    cmd = [sys.executable, "-m", "narrator", "build", str(doc), "-o", str(out)]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    before = out.read_bytes()
    episode = {"ep.m4b", "ep.chapters.json", "ep.vtt", "ep.srt"}
    for delay_s in (0.6, 2.5):  # while synthesizing; later, nearer the commit
        proc = subprocess.Popen(
            [*cmd, "--rate", "170"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the build finished first"
        assert out.read_bytes() == before
        assert {p.name for p in out.parent.iterdir()} == episode
    subprocess.run([*cmd, "--rate", "170"], env=env, check=True, capture_output=True)
    assert out.read_bytes() != before
    assert [c.title for c in MP4(out).chapters] == SEED_TITLES
