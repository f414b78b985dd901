"""Chapters JSON, WebVTT and SRT rendered from a timeline, read back by parsers."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st
from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags

from narrator.container.sidecars import (
    SRT_LINE_CHARS,
    VTT_LINE_CHARS,
    render_chapters_json,
    render_srt,
    render_vtt,
    write_sidecars,
)
from narrator.ffmpeg import ffmpeg_exe
from narrator.model import Chapter, Cue, Timeline

LONG = (
    "Aujourd’hui, nous parlons de l’économie française et de ses « grandes "
    "tendances » pour 2024, avec beaucoup de détails, des chiffres précis sur "
    "les PME, les ETI et les grands groupes, ainsi que l’effet de l’IA sur "
    "l’emploi qualifié dans les régions."
)

TIMELINE = Timeline(
    chapters=(
        Chapter("Introduction & <contexte>", 0, 6_000),
        Chapter("Les chiffres clés", 6_000, 21_000),
        Chapter("Conclusion", 21_000, 24_500),
    ),
    cues=(
        Cue(0, 1_200, "Introduction & <contexte>", 0),
        Cue(1_400, 5_800, "Bonjour à tous, bienvenue dans ce résumé.", 0),
        Cue(6_000, 7_000, "Les chiffres clés", 1),
        Cue(7_200, 18_900, LONG, 1),
        Cue(19_000, 20_900, "Un mot très long : anticonstitutionnellement --> fin.", 1),
        Cue(21_000, 22_000, "Conclusion", 2),
        Cue(22_200, 24_400, "Merci de votre écoute !", 2),
    ),
    duration_ms=24_500,
)


def _words(text: str) -> list[str]:
    return text.split()


def _parse_srt(text: str) -> list[tuple[int, int, int, list[str]]]:
    """A strict little SRT reader: index, start, end (ms), lines."""
    stamp = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d\d\d)$")

    def ms(value: str) -> int:
        match = stamp.match(value)
        assert match, value
        h, m, s, f = (int(g) for g in match.groups())
        return ((h * 60 + m) * 60 + s) * 1000 + f

    cues = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        start, arrow, end = lines[1].split(" ")
        assert arrow == "-->"
        cues.append((int(lines[0]), ms(start), ms(end), lines[2:]))
    return cues


def _vtt_ms(value: str) -> int:
    h, m, rest = value.split(":")
    s, f = rest.split(".")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)


def _check_vtt(timeline: Timeline) -> None:
    text = render_vtt(timeline)
    captions = list(webvtt.from_string(text))
    starts = [_vtt_ms(c.start) for c in captions]
    ends = [_vtt_ms(c.end) for c in captions]
    assert starts == sorted(starts)
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        assert 0 <= start <= end <= timeline.duration_ms
        if i:
            assert start >= ends[i - 1], "cues overlap"
    for caption in captions:
        lines = caption.text.split("\n")
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= VTT_LINE_CHARS for line in lines)
    spoken = " ".join(c.text for c in captions)
    spoken = spoken.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert _words(spoken) == [
        w.replace("-->", "\u2192")
        for cue in sorted(timeline.cues, key=lambda c: c.start_ms)
        for w in _words(cue.text)
    ]


def test_vtt_parses_in_order_inside_duration_and_covers_every_sentence() -> None:
    _check_vtt(TIMELINE)


def test_vtt_splits_a_long_sentence_within_its_own_time_span() -> None:
    captions = list(webvtt.from_string(render_vtt(TIMELINE)))
    long_parts = [
        c for c in captions if _vtt_ms(c.start) >= 7_200 and _vtt_ms(c.end) <= 18_900
    ]
    assert len(long_parts) >= 2
    assert _vtt_ms(long_parts[0].start) == 7_200
    assert _vtt_ms(long_parts[-1].end) == 18_900
    # Time is shared in proportion to characters: each part is 1-4x the next.
    spans = [_vtt_ms(c.end) - _vtt_ms(c.start) for c in long_parts]
    assert max(spans) <= 4 * min(spans)


def test_vtt_escapes_markup_and_notes_each_chapter() -> None:
    text = render_vtt(TIMELINE)
    assert text.startswith("WEBVTT\n\n")
    assert "Introduction &amp; &lt;contexte&gt;" in text
    assert "NOTE Les chiffres clés" in text
    assert text.count("-->") == len(list(webvtt.from_string(text)))


def test_french_punctuation_stays_with_its_word() -> None:
    text = render_vtt(TIMELINE) + render_srt(TIMELINE)
    for line in text.split("\n"):
        assert not line.startswith(("»", ":", "!", "?", ";")), line
        assert not line.endswith("«"), line


def test_srt_has_numbered_cues_of_two_short_lines_covering_all_text() -> None:
    cues = _parse_srt(render_srt(TIMELINE))
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    previous_end = 0
    for _, start, end, lines in cues:
        assert previous_end <= start <= end <= TIMELINE.duration_ms
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= SRT_LINE_CHARS for line in lines)
        previous_end = end
    words = [w for *_, lines in cues for line in lines for w in line.split()]
    expected = [w for c in TIMELINE.cues for w in c.text.replace("-->", "→").split()]
    assert words == expected


def test_srt_is_read_by_webvtt_srt_reader(tmp_path: Path) -> None:
    path = tmp_path / "ep.srt"
    path.write_text(render_srt(TIMELINE), encoding="utf-8")
    captions = list(webvtt.from_srt(str(path)))
    assert len(captions) == len(_parse_srt(render_srt(TIMELINE)))
    assert captions[0].start == "00:00:00.000"


def test_chapters_json_is_podcasting20_shaped() -> None:
    doc = json.loads(
        render_chapters_json(
            TIMELINE,
            title="Épisode 1",
            podcast="Résumés",
            author="Anne",
            file_name="ep.mp3",
        )
    )
    assert doc["version"] == "1.2.0"
    assert doc["podcastName"] == "Résumés"
    assert doc["fileName"] == "ep.mp3"
    starts = [c["startTime"] for c in doc["chapters"]]
    assert starts == sorted(starts) == [0.0, 6.0, 21.0]
    assert doc["chapters"][-1]["endTime"] == 24.5
    assert doc["chapters"][0]["title"] == "Introduction & <contexte>"


def _tagged_mp3(path: Path, timeline: Timeline) -> None:
    """Encode silence of the timeline's length and add CHAP/CTOC frames."""
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"anullsrc=r=22050:cl=mono:d={timeline.duration_ms / 1000}",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "32k",
            "-y",
            str(path),
        ],
        check=True,
    )
    tags = ID3()
    ids = [f"ch{i}" for i in range(len(timeline.chapters))]
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text=["Table"])],
        )
    )
    for element_id, chapter in zip(ids, timeline.chapters, strict=True):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                sub_frames=[TIT2(encoding=3, text=[chapter.title])],
            )
        )
    tags.save(path, v2_version=3)


def test_written_sidecars_match_the_mp3_chap_frames(tmp_path: Path) -> None:
    mp3 = tmp_path / "épisode 1.mp3"
    _tagged_mp3(mp3, TIMELINE)
    paths = write_sidecars(mp3, TIMELINE, title="Épisode 1", podcast="P", author="A")
    assert paths.chapters_json.name == "épisode 1.chapters.json"
    assert paths.vtt.name == "épisode 1.vtt" and paths.srt.name == "épisode 1.srt"
    assert [p.name for p in tmp_path.glob(".*")] == []  # no temp file left

    doc = json.loads(paths.chapters_json.read_text(encoding="utf-8"))
    frames = sorted(ID3(mp3).getall("CHAP"), key=lambda f: f.start_time)
    assert len(frames) == len(doc["chapters"])
    for frame, chapter in zip(frames, doc["chapters"], strict=True):
        assert frame.sub_frames["TIT2"].text[0] == chapter["title"]
        assert abs(frame.start_time - chapter["startTime"] * 1000) < 1
    captions = list(webvtt.read(str(paths.vtt)))
    assert captions and _vtt_ms(captions[-1].end) <= TIMELINE.duration_ms


_word = st.text(alphabet=st.sampled_from("abcdeéèàçxyz«»:!?-"), min_size=1, max_size=30)


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    count = draw(st.integers(min_value=1, max_value=8))
    cues = []
    cursor = 0
    for _ in range(count):
        cursor += draw(st.integers(min_value=0, max_value=500))
        length = draw(st.integers(min_value=1, max_value=20_000))
        text = " ".join(draw(st.lists(_word, min_size=1, max_size=40)))
        cues.append(Cue(cursor, cursor + length, text, 0))
        # Allow a small overlap, as rounding of sample offsets can produce, but
        # never one that reaches back before the cue's own start: real cues are
        # in order and times are never negative.
        cursor += length - draw(st.integers(min_value=0, max_value=min(3, length - 1)))
    duration = cursor + draw(st.integers(min_value=0, max_value=1000))
    return Timeline((Chapter("Un", 0, duration),), tuple(cues), duration)


@settings(max_examples=60, deadline=None)
@given(timelines())
def test_vtt_invariants_hold_for_any_timeline(timeline: Timeline) -> None:
    _check_vtt(timeline)


@settings(max_examples=60, deadline=None)
@given(timelines())
def test_srt_invariants_hold_for_any_timeline(timeline: Timeline) -> None:
    cues = _parse_srt(render_srt(timeline))
    previous = 0
    for _, start, end, lines in cues:
        assert previous <= start <= end <= timeline.duration_ms
        assert all(len(line) <= SRT_LINE_CHARS for line in lines)
        previous = end
    words = [w for *_, lines in cues for line in lines for w in line.split()]
    assert words == [w for c in timeline.cues for w in c.text.split()]


@pytest.mark.parametrize("render", [render_vtt, render_srt])
def test_empty_timeline_renders_a_valid_empty_file(render: object) -> None:
    empty = Timeline((), (), 0)
    text = render(empty)  # type: ignore[operator]
    if render is render_vtt:
        assert list(webvtt.from_string(text)) == []
    else:
        assert text == ""
    assert io.StringIO(text).read() == text
