"""The MP4 box reader against files the bundled ffmpeg muxes, and damaged ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from narrator.container import boxes
from narrator.errors import AudioError
from narrator.ffmpeg import ffmpeg_exe

METADATA = """;FFMETADATA1
title=Essai
[CHAPTER]
TIMEBASE=1/1000
START=0
END=500
title=Un
[CHAPTER]
TIMEBASE=1/1000
START=500
END=1000
title=Deux
"""


@pytest.fixture(scope="module")
def m4b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("boxes")
    meta = folder / "meta.txt"
    meta.write_text(METADATA, "utf-8")
    out = folder / "essai.m4b"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=1", "-i", str(meta),
         "-map_metadata", "1", "-map_chapters", "1", "-c:a", "aac",
         "-b:a", "64k", "-f", "ipod", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_walk_finds_both_chapter_formats(m4b: Path) -> None:
    found = boxes.walk_path(m4b)
    paths = {box.path for box in found}
    assert "ftyp" in paths and "moov/mvhd" in paths
    assert boxes.find(found, "moov/udta/chpl"), sorted(paths)
    assert boxes.find(found, "moov/trak/tref/chap"), sorted(paths)
    assert boxes.find(found, "moov/udta/meta/ilst"), sorted(paths)
    with m4b.open("rb") as handle:
        assert boxes.is_mp4(handle)
        (chpl,) = boxes.find(found, "moov/udta/chpl")
        assert b"Deux" in chpl.payload(handle)
    for box in found:
        assert box.start <= box.end <= m4b.stat().st_size


def test_mp3_is_not_mp4() -> None:
    blank = Path(__file__).parent / "data" / "blank.mp3"
    with blank.open("rb") as handle:
        assert not boxes.is_mp4(handle)


def test_a_box_running_past_its_parent_is_an_error(m4b: Path, tmp_path: Path) -> None:
    data = bytearray(m4b.read_bytes())
    moov = data.index(b"moov") - 4
    data[moov : moov + 4] = (len(data) * 2).to_bytes(4, "big")
    bad = tmp_path / "bad.m4b"
    bad.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="runs past"):
        boxes.walk_path(bad)


def test_truncated_file_is_an_error(m4b: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.m4b"
    cut.write_bytes(m4b.read_bytes()[: m4b.stat().st_size // 2])
    with pytest.raises(AudioError):
        boxes.walk_path(cut)
