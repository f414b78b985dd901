"""narrator check on media files: each rule fired by a file that breaks only it.

Files are made here as other tools make them (ffmpeg's LAME, mutagen's tags,
Pillow's images; see tests/checkfiles.py); the check reads them with the
project's own readers. narrator's own output is checked in test_check_output.py.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mutagen.mp4 import MP4, AtomDataType, MP4FreeForm
from PIL import Image

from narrator.check import rules
from narrator.check.inspect import check_path
from narrator.cli import main
from narrator.container import boxes, cover
from tests import checkfiles as cf


def run(*args: object) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


def rules_of(path: Path) -> list[str]:
    return [p.rule for report in check_path(path) for p in report.problems]


@pytest.fixture
def mp3(tmp_path: Path) -> Path:
    return cf.cbr_mp3(tmp_path / "ep.mp3")


SPANS = [("Un", 0, 1500), ("Deux", 1500, 3000)]


def test_a_clean_id3v24_file_with_chapters_passes(mp3: Path) -> None:
    cf.add_chapters(mp3, SPANS, version=4)
    assert rules_of(mp3) == []
    said = run("check", mp3)
    assert said.exit_code == 0, said.stderr
    assert "no problem" in said.stdout


def test_chapters_without_a_ctoc(mp3: Path) -> None:
    cf.add_chapters(mp3, SPANS, toc=())  # as some tag editors write them
    assert rules_of(mp3) == ["chapters-no-ctoc"]
    said = run("check", mp3, "--json")
    assert said.exit_code == 1
    (report,) = json.loads(said.stdout)
    assert set(report) == {"path", "kind", "problems"}
    assert report["kind"] == "mp3"
    (found,) = report["problems"]
    assert set(found) == {"rule", "severity", "message", "apps", "fix"}
    assert "Overcast" in found["apps"]


def test_a_ctoc_leaving_a_chapter_out(mp3: Path) -> None:
    cf.add_chapters(mp3, SPANS, toc=["ch0"])
    assert rules_of(mp3) == ["chapters-no-ctoc"]


def test_a_long_chapter_title_breaks_only_id3v24(tmp_path: Path) -> None:
    long = [("Un titre de chapitre bien plus long que cinquante et un signes", 0, 1500)]
    long.append(("Deux", 1500, 3000))
    v24, v23 = cf.cbr_mp3(tmp_path / "v24.mp3"), cf.cbr_mp3(tmp_path / "v23.mp3")
    cf.add_chapters(v24, long, version=4)
    cf.add_chapters(v23, long, version=3)
    assert rules_of(v24) == ["id3v24-long-chapter-title"]
    assert rules_of(v23) == []
    said = run("check", v24)
    assert said.exit_code == 1
    assert "--id3 2.3" in said.stdout


def test_lame_vbr_without_a_xing_header(tmp_path: Path) -> None:
    bare = cf.vbr_mp3(tmp_path / "bare.mp3", xing=False)
    headed = cf.vbr_mp3(tmp_path / "headed.mp3", xing=True)
    assert rules_of(bare) == ["vbr-no-xing"]
    assert rules_of(headed) == []


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (cf.image((1400, 1400), "RGB", "WEBP"), "cover-format"),
        (cf.image((1600, 1400)), "cover-not-square"),
        (cf.image((1000, 1000)), "cover-pixels"),
        (cf.image((3200, 3200)), "cover-pixels"),
        (cf.image((1400, 1400), "CMYK"), "cover-not-rgb"),
        (cf.image((1400, 1400), "L", "PNG"), "cover-not-rgb"),
        (cf.noise_png(1400), "cover-too-large"),
    ],
)
def test_cover_rules(mp3: Path, data: bytes, rule: str) -> None:
    cf.add_cover(mp3, data)
    assert rules_of(mp3) == [rule]


def test_a_good_cover_passes(mp3: Path) -> None:
    cf.add_cover(mp3, cf.image((3000, 3000)))
    assert rules_of(mp3) == []


def test_cover_limits_are_the_containers() -> None:
    assert (rules.MIN_COVER_PX, rules.MAX_COVER_PX) == (
        cover.MIN_COVER_PX,
        cover.MAX_COVER_PX,
    )


def test_chapters_out_of_order(mp3: Path) -> None:
    cf.add_chapters(mp3, SPANS, toc=["ch1", "ch0"])
    assert rules_of(mp3) == ["chapters-out-of-order"]


def test_chapters_overlapping(mp3: Path) -> None:
    cf.add_chapters(mp3, [("Un", 0, 2000), ("Deux", 1500, 3000)])
    assert rules_of(mp3) == ["chapters-overlap"]


def test_chapters_past_the_end(mp3: Path) -> None:
    cf.add_chapters(mp3, [("Un", 0, 1500), ("Deux", 1500, 9000)])
    assert rules_of(mp3) == ["chapters-past-end"]


def _chapters_json(path: Path, spans: list[tuple[str, float]]) -> None:
    doc = {
        "version": "1.2.0",
        "chapters": [{"startTime": s, "title": t} for t, s in spans],
    }
    path.with_name(path.stem + ".chapters.json").write_text(json.dumps(doc))


def test_a_chapters_json_disagreeing_with_the_embedded_chapters(mp3: Path) -> None:
    cf.add_chapters(mp3, SPANS)
    _chapters_json(mp3, [("Un", 0.0), ("Deux", 1.5)])
    assert rules_of(mp3) == []
    _chapters_json(mp3, [("Un", 0.0), ("Trois", 1.5)])
    assert rules_of(mp3) == ["chapters-json-mismatch"]
    _chapters_json(mp3, [("Un", 0.0), ("Deux", 2.5)])
    assert rules_of(mp3) == ["chapters-json-mismatch"]
    _chapters_json(mp3, [("Un", 0.0)])
    assert rules_of(mp3) == ["chapters-json-mismatch"]


def _m4a(tmp_path: Path, name: str, muxer: str, *flags: str) -> Path:
    meta = tmp_path / "chapters.txt"
    meta.write_text(
        ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=Un\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=3000\ntitle=Deux\n"
    )
    out = tmp_path / name
    cf.ffmpeg(
        "-f", "lavfi", "-i", "sine=f=440:d=3:r=44100", "-i", str(meta),
        "-map_metadata", "1", "-map_chapters", "1", "-ac", "1", "-c:a", "aac",
        "-b:a", "64k", *flags, "-f", muxer, str(out),
    )  # fmt: skip
    return out


def test_an_mp4_with_both_chapter_formats_passes(tmp_path: Path) -> None:
    both = _m4a(tmp_path, "both.m4a", "ipod")
    walked = boxes.walk_path(both)
    assert boxes.find(walked, "moov/udta/chpl")
    assert boxes.find(walked, "moov/trak/tref/chap")
    assert rules_of(both) == []


def _drop_box(path: Path, box_path: str) -> None:
    """Turn the box into ``free`` in place: what a muxer that never wrote it leaves."""
    (box,) = boxes.find(boxes.walk_path(path), box_path)
    with path.open("r+b") as handle:
        handle.seek(box.offset + 4)
        handle.write(b"free")


def test_an_mp4_with_one_chapter_format(tmp_path: Path) -> None:
    nero_only = _m4a(tmp_path, "nero.m4a", "ipod")
    _drop_box(nero_only, "moov/trak/tref")
    assert not boxes.find(boxes.walk_path(nero_only), "moov/trak/tref/chap")
    assert rules_of(nero_only) == ["mp4-one-chapter-format"]
    track_only = _m4a(tmp_path, "qt.m4a", "ipod", "-movflags", "disable_chpl")
    assert not boxes.find(boxes.walk_path(track_only), "moov/udta/chpl")
    assert rules_of(track_only) == ["mp4-one-chapter-format"]


def _set_smpb(path: Path, priming: int, samples: int) -> None:
    from narrator.container.mp4tags import ITUNSMPB, itunsmpb

    audio = MP4(path)
    value = itunsmpb(priming, 0, samples).encode()
    assert audio.tags is not None
    audio.tags[ITUNSMPB] = [MP4FreeForm(value, dataformat=AtomDataType.UTF8)]
    audio.save()


def _edit(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        walked = list(boxes.walk(handle))
        data = boxes.find(walked, "moov/trak/edts/elst")[0].payload(handle)
    duration, media_time = struct.unpack(">Ii", data[8:16])
    return duration, media_time


def test_an_edit_list_disagreeing_with_itunsmpb(tmp_path: Path) -> None:
    m4a = _m4a(tmp_path, "ep.m4a", "ipod")
    _, priming = _edit(m4a)
    _set_smpb(m4a, priming, 3 * 44100)
    assert rules_of(m4a) == []
    _set_smpb(m4a, priming, 5 * 44100)  # says 5 s of audio where the edit plays 3
    assert rules_of(m4a) == ["mp4-duration"]
    _set_smpb(m4a, priming + 512, 3 * 44100)
    assert rules_of(m4a) == ["mp4-duration"]


@pytest.mark.parametrize("junk", [b"", b"not a podcast at all", b"\x00" * 100])
def test_unreadable_input_exits_2_without_a_traceback(
    tmp_path: Path, junk: bytes
) -> None:
    path = tmp_path / "ep.mp3"
    path.write_bytes(junk)
    said = run("check", path)
    assert said.exit_code == 2, said.output
    assert said.stderr.startswith("narrator: error: ")
    assert "Traceback" not in said.stderr


def test_a_missing_path_exits_2(tmp_path: Path) -> None:
    said = run("check", tmp_path / "nothing.mp3")
    assert said.exit_code == 2
    assert "no such file" in said.stderr


def test_a_folder_reports_each_file_and_an_unreadable_one(
    tmp_path: Path, mp3: Path
) -> None:
    (tmp_path / "broken.m4a").write_bytes(b"\x00\x00\x00\x10ftypM4A \x00\x00")
    cf.add_chapters(mp3, SPANS, toc=())
    said = run("check", tmp_path, "--json")
    assert said.exit_code == 1
    found = {
        Path(r["path"]).name: [p["rule"] for p in r["problems"]]
        for r in json.loads(said.stdout)
    }
    assert found == {"broken.m4a": ["unreadable"], "ep.mp3": ["chapters-no-ctoc"]}


def test_check_has_help() -> None:
    said = run("check", "--help")
    assert said.exit_code == 0
    assert "--fetch" in said.stdout and "--root" in said.stdout


def test_a_decompression_bomb_cover_is_a_finding_not_a_crash(mp3: Path) -> None:
    buffer = io.BytesIO()
    Image.new("1", (14000, 14000)).save(buffer, "PNG")  # 196 Mpx, a few kB
    cf.add_cover(mp3, buffer.getvalue(), "image/png")
    assert rules_of(mp3) == ["cover-format"]


def test_a_hostile_mp4_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "ep.m4a"
    # ftyp, then a moov claiming a gigabyte it does not have
    path.write_bytes(
        struct.pack(">I4s4sI", 16, b"ftyp", b"M4A ", 0)
        + struct.pack(">I4s", 1 << 30, b"moov")
        + b"\0" * 64
    )
    said = run("check", path)
    assert said.exit_code == 2
    assert "runs past its parent" in said.stderr
