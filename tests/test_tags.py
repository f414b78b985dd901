from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import ID3, CTOCFlags

from narrator.container.tags import TXXX_GUID, read_episode, read_extra, render_id3
from narrator.errors import TaggingError
from narrator.model import Chapter, EpisodeInfo

from .conftest import DATA, ffmetadata, ffmpeg_chapters

# Titles chosen so mutagen's size-sorted save would shuffle them.
TITLES = ["Un titre assez long pour être grand", "Court", "Moyen titre ici", "É"]
CHAPTERS = [Chapter(t, i * 250, (i + 1) * 250) for i, t in enumerate(TITLES)]


def tagged(tmp_path: Path, **kwargs) -> Path:
    info = EpisodeInfo(
        title="Épisode « test » & co",
        author="Autrice",
        podcast="Mon podcast",
        date="2026-11-27",
        episode=7,
        description="Une description.",
        transcript="Bonjour.\nAu revoir.",
        cover=(DATA / "blank.mp3").read_bytes()[:100],  # bytes are opaque to ID3
        cover_mime="image/jpeg",
    )
    tag = render_id3(info, CHAPTERS, extra={TXXX_GUID: "guid-1"}, **kwargs)
    path = tmp_path / "ep.mp3"
    path.write_bytes(tag + (DATA / "blank.mp3").read_bytes())
    return path


def test_v23_frames_read_back_with_mutagen(tmp_path: Path) -> None:
    path = tagged(tmp_path)
    tags = ID3(path, translate=False)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Épisode « test » & co"
    assert str(tags["TPE1"]) == "Autrice"
    assert str(tags["TALB"]) == "Mon podcast"
    assert str(tags["TCON"]) == "Podcast"
    assert str(tags["TLAN"]) == "fra"
    assert str(tags["TRCK"]) == "7"
    assert str(tags["TYER"]) == "2026" and str(tags["TDAT"]) == "2711"
    assert "TDRC" not in tags
    assert tags.getall("COMM")[0].text[0] == "Une description."
    assert tags.getall("USLT")[0].text == "Bonjour.\nAu revoir."
    assert tags.getall("APIC")[0].mime == "image/jpeg"
    toc = tags.getall("CTOC")
    assert len(toc) == 1
    assert toc[0].flags & CTOCFlags.TOP_LEVEL and toc[0].flags & CTOCFlags.ORDERED
    assert toc[0].child_element_ids == ["ch0", "ch1", "ch2", "ch3"]
    assert str(toc[0].sub_frames["TIT2"]) == "Épisode « test » & co"
    for i, chap in enumerate(sorted(tags.getall("CHAP"), key=lambda c: c.start_time)):
        assert chap.element_id == f"ch{i}"
        assert str(chap.sub_frames["TIT2"]) == TITLES[i]
        assert (chap.start_time, chap.end_time) == (i * 250, (i + 1) * 250)
        assert chap.start_offset == 0xFFFFFFFF and chap.end_offset == 0xFFFFFFFF


def test_v24_uses_tdrc(tmp_path: Path) -> None:
    tags = ID3(tagged(tmp_path, version=4))
    assert tags.version[:2] == (2, 4)
    assert str(tags["TDRC"]) == "2026-11-27"


def test_chap_frames_are_stored_in_chapter_order(tmp_path: Path) -> None:
    """ffmpeg lists chapters in disk order: they must come out in chapter order."""
    chapters = ffmpeg_chapters(tagged(tmp_path))
    assert [c["title"] for c in chapters] == TITLES
    # ffmpeg maps CHAP times (ms from the start of the MP3 stream) onto its
    # gapless timeline, shifting them by the encoder delay of blank.mp3 (~25 ms).
    starts = [c["start_ms"] for c in chapters]
    assert [b - a for a, b in zip(starts[1:], starts[2:], strict=False)] == [250, 250]
    assert 0 <= 250 - starts[1] <= 30


def test_ffmpeg_reads_the_tags(tmp_path: Path) -> None:
    text = ffmetadata(tagged(tmp_path))
    assert "title=Épisode « test » & co" in text
    assert "artist=Autrice" in text
    assert "album=Mon podcast" in text


def test_read_episode_and_extra(tmp_path: Path) -> None:
    path = tagged(tmp_path)
    ep = read_episode(path)
    assert ep.title == "Épisode « test » & co"
    assert [c.title for c in ep.chapters] == TITLES
    assert ep.toc == ("ch0", "ch1", "ch2", "ch3")
    assert ep.extra[TXXX_GUID] == "guid-1"
    assert read_extra(path) == {TXXX_GUID: "guid-1"}
    assert ep.sample_rate == 44100 and ep.channels == 1


def test_limits() -> None:
    info = EpisodeInfo(title="t")
    with pytest.raises(TaggingError):
        render_id3(info, [])
    many = [Chapter(str(i), i, i + 1) for i in range(256)]
    with pytest.raises(TaggingError, match="255"):
        render_id3(info, many)


def test_untagged_file_has_no_extra(tmp_path: Path) -> None:
    path = tmp_path / "raw.mp3"
    path.write_bytes((DATA / "blank.mp3").read_bytes())
    assert read_extra(path) == {}


def test_not_an_mp3(tmp_path: Path) -> None:
    path = tmp_path / "x.mp3"
    path.write_bytes(b"hello")
    with pytest.raises(TaggingError):
        read_episode(path)


def test_the_cheap_readers_skip_the_cover_and_read_what_mutagen_reads(
    tmp_path: Path,
) -> None:
    """A rebuild reads the TXXX frames, chapters and duration of the previous
    output without its cover or transcript: the same values as a full read."""
    from narrator.container.tags import read_chapters, read_episode, read_extra

    out = tmp_path / "ep.mp3"
    chapters = (Chapter("Un", 0, 1000), Chapter("Deux", 1000, 2000))
    for version in (3, 4):
        info = EpisodeInfo(
            title="Épisode",
            transcript="Bonjour à tous. " * 2000,
            cover=b"\xff\xd8" + bytes(500_000),
            cover_mime="image/jpeg",
        )
        tag = render_id3(
            info, chapters, version=version, extra={"NARRATOR_BUILD": "clé"}
        )
        out.write_bytes(tag + (DATA / "blank.mp3").read_bytes())
        full = read_episode(out)
        assert read_extra(out) == dict(full.extra) == {"NARRATOR_BUILD": "clé"}
        got, duration = read_chapters(out)
        assert got == full.chapters == chapters
        assert duration == pytest.approx(full.duration_s)
