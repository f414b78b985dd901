"""End to end with the real engine (espeak-ng), ffmpeg and mutagen, read back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import CTOCFlags
from mutagen.mp3 import MP3, BitrateMode

from narrator.audio.render import PRESETS
from narrator.cli import main
from narrator.container.crc import crc16
from narrator.container.frames import scan_frames
from narrator.container.info import info_frame_size

from .conftest import DATA, SEED_TITLES, decode_stats, ffmpeg_chapters
from .test_mp3 import eyed3_lame
from .test_pipeline import edit_section

pytestmark = pytest.mark.slow


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def has_info_header(path: Path) -> bool:
    """The first MPEG frame after the ID3 tag is a Xing-layout 'Info' frame."""
    data = path.read_bytes()
    b = data[6:10]  # syncsafe tag size: 7 bits per byte
    size = 10 + ((b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3])
    frame = data[size : size + 200]
    return frame[:2] == b"\xff\xfb" and (b"Info" in frame[:40])


def check_episode(path: Path, titles: list[str]) -> dict:
    """The must-show checks on a built episode."""
    stats = decode_stats(path)
    assert stats["returncode"] == 0 and not stats["warnings"], stats["warnings"]
    chapters = ffmpeg_chapters(path)
    assert [c["title"] for c in chapters] == titles
    assert chapters[0]["start_ms"] == 0
    for a, b in zip(chapters, chapters[1:], strict=False):
        assert a["end_ms"] == b["start_ms"]
    assert abs(chapters[-1]["end_ms"] - stats["reported_s"] * 1000) <= 50
    assert abs(stats["decoded_s"] - stats["reported_s"]) <= 0.05
    mp3 = MP3(path)
    assert mp3.info.bitrate_mode == BitrateMode.CBR
    assert mp3.info.channels == 1 and mp3.info.sample_rate == 44100
    assert round(mp3.info.bitrate / 1000) == 64  # from bytes / gapless length
    assert has_info_header(path)
    tocs = mp3.tags.getall("CTOC")
    assert len(tocs) == 1
    assert tocs[0].flags & CTOCFlags.TOP_LEVEL and tocs[0].flags & CTOCFlags.ORDERED
    assert len(tocs[0].child_element_ids) == len(titles)
    # The table of contents lists the chapters in playing order: CTOC child i
    # is the CHAP that starts i-th and carries the i-th section's title.
    chaps = {c.element_id: c for c in mp3.tags.getall("CHAP")}
    assert set(tocs[0].child_element_ids) == set(chaps)
    in_toc_order = [chaps[i] for i in tocs[0].child_element_ids]
    starts = [c.start_time for c in in_toc_order]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert [c.sub_frames["TIT2"].text[0] for c in in_toc_order] == titles
    return stats


def test_seed_builds_with_eleven_chapters(
    seed_path: Path, tmp_path: Path, cache_dir: Path
) -> None:
    out = tmp_path / "x" / "seed.mp3"
    code, stdout, stderr = run_cli(
        "build", str(seed_path), "-o", str(out), "--engine", "espeak", "--json"
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    assert set(report) >= {
        "output",
        "duration_s",
        "engine",
        "sections_synthesized",
        "sections_reused",
        "chapters",
    }
    assert report["engine"] == "espeak" and report["sections_synthesized"] == 11
    assert [c["title"] for c in report["chapters"]] == SEED_TITLES
    assert set(report["chapters"][0]) >= {"title", "start_s", "end_s"}
    check_episode(out, SEED_TITLES)
    # Edit one word in section 5 and rebuild: one section synthesized,
    # chapters 1-4 unchanged, the file still decodes cleanly.
    doc = tmp_path / "seed.txt"
    shutil.copy(seed_path, doc)
    code, stdout, stderr = run_cli("build", str(doc), "-o", str(out), "--json")
    assert code == 0, stderr
    first = json.loads(stdout)
    assert first["sections_synthesized"] == 0  # same text, other file name
    edit_section(doc, 4, "ressources", "moyens")
    code, stdout, stderr = run_cli("build", str(doc), "-o", str(out), "--json")
    assert code == 0, stderr
    second = json.loads(stdout)
    assert second["sections_synthesized"] == 1
    assert second["chapters"][:4] == first["chapters"][:4]
    check_episode(out, SEED_TITLES)
    # And a no-op rebuild rewrites nothing.
    mtime = out.stat().st_mtime_ns
    code, stdout, _ = run_cli("build", str(doc), "-o", str(out))
    assert code == 0 and "up to date" in stdout
    assert out.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("preset", ["phone", "small"])
def test_seed_lame_tag_reads_back_in_every_reader(
    preset: str, seed_path: Path, tmp_path: Path, cache_dir: Path
) -> None:
    """eyeD3 validates the Info frame's LAME tag (CRC, TOC) of a real build;
    mutagen and ffmpeg agree on its length; 'small' has a raised Info frame."""
    fmt = PRESETS[preset].fmt
    out = tmp_path / "seed.mp3"
    code, _, stderr = run_cli(
        *("build", str(seed_path), "-o", str(out), "--engine", "espeak"),
        *("--preset", preset, "--no-sidecars", "-q"),
    )
    assert code == 0, stderr
    audio = eyed3_lame(out)  # no warning, tag CRC OK, TOC present
    data = out.read_bytes()
    id3_size = 10 + audio.tag.header.tag_size
    info_size = info_frame_size(fmt)
    frames = scan_frames(data[id3_size + info_size :], fmt)
    xing, lame = audio.info.xing_header, audio.info.lame_tag
    assert xing.numFrames == len(frames)
    assert xing.numBytes == lame["music_length"] == len(data) - id3_size
    assert len(xing.toc) == 100 and list(xing.toc) == sorted(xing.toc)
    assert lame["music_crc"] == crc16(data[id3_size + info_size :])
    assert lame["encoder_delay"] == 576 and lame["bitrate"][0] == fmt.bitrate_kbps
    assert len(audio.tag.chapters) == len(SEED_TITLES)
    stats = decode_stats(out)
    assert stats["returncode"] == 0 and not stats["warnings"], stats["warnings"]
    assert stats["rate"] == fmt.sample_rate
    info = MP3(out).info
    assert info.length == pytest.approx(stats["decoded_s"], abs=0.001)
    assert abs(stats["reported_s"] - stats["decoded_s"]) <= 0.05
    assert round(info.bitrate / 1000) == fmt.bitrate_kbps
    assert info.encoder_settings == f"-b {fmt.bitrate_kbps}"
    chapters = ffmpeg_chapters(out)
    assert [c["title"] for c in chapters] == SEED_TITLES
    # ffmpeg maps CHAP times back by the encoder + decoder delay (1105 samples:
    # 25 ms at 44.1 kHz, 50 ms at 22.05 kHz); the last chapter ends with the file.
    delay_ms = 1000 * (576 + 529) / fmt.sample_rate
    assert abs(chapters[-1]["end_ms"] - stats["reported_s"] * 1000) <= delay_ms + 5


@pytest.mark.parametrize(
    ("name", "titles"),
    [
        ("court.md", None),
        ("latin1.txt", None),
        ("crlf.txt", None),
    ],
)
def test_other_formats_build(
    name: str, titles, tmp_path: Path, cache_dir: Path
) -> None:
    from narrator.build.plan import read_document

    src = DATA / "parse" / name
    expected = [s.title for s in read_document(src).sections]
    assert len(expected) >= 2
    out = tmp_path / "ep.mp3"
    code, stdout, stderr = run_cli("build", str(src), "-o", str(out), "--json")
    assert code == 0, stderr
    check_episode(out, expected)


BAD_INPUTS = {
    "empty.txt": b"",
    "blank.txt": b"  \n\t\n   \r\n",
    "binary.txt": bytes(range(256)) * 8,
    "image.txt": b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(200),
    "nul.txt": b"Titre\nDu texte\x00avec un NUL.\n",
    "nothing.md": b"# Titre\n\n```\ncode seulement\n```\n",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_one_clear_line(
    name: str, tmp_path: Path, cache_dir: Path
) -> None:
    src = tmp_path / name
    src.write_bytes(BAD_INPUTS[name])
    out = tmp_path / "out" / "ep.mp3"
    code, stdout, stderr = run_cli("build", str(src), "-o", str(out))
    assert code == 2, stderr  # the README: 2 is bad input
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert name in stderr
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.glob("*.mp3")))


def test_missing_input_is_a_usage_error(tmp_path: Path, cache_dir: Path) -> None:
    code, _, stderr = run_cli("build", str(tmp_path / "absent.txt"))
    assert code == 2 and "absent.txt" in stderr and "Traceback" not in stderr


def test_kill_during_build_keeps_output_and_resumes(
    seed_path: Path, tmp_path: Path
) -> None:
    """SIGKILL mid-build: previous output intact, cache sound, next run resumes."""
    doc = tmp_path / "doc.txt"
    shutil.copy(seed_path, doc)
    out = tmp_path / "out" / "ep.mp3"
    cache = tmp_path / "cache"
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "NARRATOR_JOBS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "narrator",
        "build",
        str(doc),
        "-o",
        str(out),
        "--json",
    ]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    before = out.read_bytes()
    # Change every section (new voice rate) so the next build has real work.
    cmd2 = cmd + ["--rate", "170"]
    proc = subprocess.Popen(
        cmd2, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    clips_before = len(list((cache / "clips").glob("*/*.nrc")))
    while time.monotonic() < deadline:
        if len(list((cache / "clips").glob("*/*.nrc"))) >= clips_before + 2:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        "the build finished before it could be killed"
    )
    assert out.read_bytes() == before
    # `ls -A` of the output folder: the episode's files and nothing else.
    episode = {"ep.mp3", "ep.chapters.json", "ep.vtt", "ep.srt"}
    assert {p.name for p in out.parent.iterdir()} == episode
    from narrator.cache import Cache

    c = Cache(cache)
    for path in (cache / "clips").glob("*/*.nrc"):
        assert c.get("clips", path.stem) is not None  # every entry verifies
    cached_now = len(list((cache / "clips").glob("*/*.nrc"))) - clips_before
    done = subprocess.run(cmd2, env=env, check=True, capture_output=True)
    report = json.loads(done.stdout)
    assert report["sections_synthesized"] == 11 - cached_now
    assert {p.name for p in out.parent.iterdir()} == episode
    check_episode(out, SEED_TITLES)
