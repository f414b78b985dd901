"""Chapter and cue times from a splice plan: ``container.timeline.build_timeline``.

What the build relies on: one chapter per section, in order and contiguous,
the first starting at 0 (it holds the intro) and the last ending with the
file; every time after that first start shifted by the encoder + decoder
delay (ID3 CHAP times count from the start of the MP3 stream); one cue per
spoken utterance, inside its chapter. The plans below come from
``splice.plan_splice`` over segments sized as LAME sizes them, as in a build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.container.frames import (
    DECODER_DELAY,
    LAME_ENCODER_DELAY,
    EncodedSegment,
    Mp3Format,
    expected_frames,
)
from narrator.container.splice import SpliceResult, plan_splice
from narrator.container.timeline import PlacedSection, build_timeline
from narrator.model import Chapter, Cue, Timeline, Utterance

STREAM_OFFSET = LAME_ENCODER_DELAY + DECODER_DELAY  # what the pipeline passes
RATE = 44100


def utterance(n: int) -> Utterance:
    return Utterance(f"phrase {n} dite", f"Phrase {n}.", "sentence")


def timeline(
    sections: list[PlacedSection],
    starts: tuple[int, ...],
    duration: int,
    *,
    first: int = 0,
    offset: int = STREAM_OFFSET,
) -> Timeline:
    return build_timeline(
        sections,
        starts,
        first_segment=first,
        duration_samples=duration,
        sample_rate=RATE,
        stream_offset=offset,
    )


THREE = [
    PlacedSection("Un", [utterance(0)], [(0, 22050)]),
    PlacedSection("Deux", [utterance(1), utterance(2)], [(441, 4410), (8820, 8820)]),
    PlacedSection("Trois", [utterance(3)], [(0, 31900)]),
]


def test_times_by_hand() -> None:
    result = timeline(THREE, (0, 44100, 88200), 120_000)
    # (44100 + 1105) samples = 1025.06 ms; (88200 + 1105) = 2025.06 ms;
    # the file is 120000 samples = 2721.09 ms long.
    assert result.chapters == (
        Chapter("Un", 0, 1025),
        Chapter("Deux", 1025, 2025),
        Chapter("Trois", 2025, 2721),
    )
    assert result.duration_ms == 2721
    # The empty span (8820, 8820) is no cue; the last cue ends with the file.
    assert result.cues == (
        Cue(25, 525, "Phrase 0.", 0),
        Cue(1035, 1125, "Phrase 1.", 1),
        Cue(2025, 2721, "Phrase 3.", 2),
    )


def test_without_the_delay_chapters_start_on_the_segments() -> None:
    result = timeline(THREE, (0, 44100, 88200), 120_000, offset=0)
    assert [c.start_ms for c in result.chapters] == [0, 1000, 2000]
    assert [c.start_ms for c in result.cues] == [0, 1010, 2000]


def test_an_intro_belongs_to_the_first_chapter_and_an_outro_to_the_last() -> None:
    # Segments: intro, three sections, outro.
    starts = (0, 22050, 66150, 110250, 132300)
    result = timeline(THREE, starts, 150_000, first=1)
    assert result.chapters[0].start_ms == 0  # the intro, before section 0
    assert result.chapters[1].start_ms == round((66150 + STREAM_OFFSET) / 44.1)
    assert result.chapters[-1].end_ms == result.duration_ms == round(150_000 / 44.1)
    # Section 0's cue counts from its own segment, after the intro.
    assert result.cues[0].start_ms == round((22050 + STREAM_OFFSET) / 44.1)


def test_spans_and_utterances_must_pair_up() -> None:
    broken = [PlacedSection("Un", [utterance(0), utterance(1)], [(0, 10)])]
    with pytest.raises(ValueError):
        timeline(broken, (0,), 1000)


# --- invariants over plans made as a build makes them -------------------------

FORMATS = [Mp3Format(44100, 1, 64), Mp3Format(22050, 1, 40)]


@dataclass(frozen=True)
class Plan:
    """Sections with utterance spans, and the splice plan that places them."""

    fmt: Mp3Format
    sections: list[PlacedSection]
    placed: SpliceResult
    first: int  # 1 with an intro

    def timeline(self, offset: int = STREAM_OFFSET) -> Timeline:
        return build_timeline(
            self.sections,
            self.placed.segment_starts,
            first_segment=self.first,
            duration_samples=self.placed.duration_samples,
            sample_rate=self.fmt.sample_rate,
            stream_offset=offset,
        )


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A plan as a build makes it: each segment's frames are what LAME makes of
    its samples; an intro and an outro segment are each drawn or not."""
    fmt = draw(st.sampled_from(FORMATS))
    intro = draw(st.booleans())
    outro = draw(st.booleans())
    count = draw(st.integers(1, 6))
    lengths = draw(
        st.lists(
            st.integers(1, 10 * fmt.sample_rate),
            min_size=count + intro + outro,
            max_size=count + intro + outro,
        )
    )
    segments = [
        EncodedSegment(Path(f"{i}.mp3"), expected_frames(n, fmt), n, 1000 * (i + 1))
        for i, n in enumerate(lengths)
    ]
    sections = []
    for i in range(count):
        samples = lengths[int(intro) + i]
        cuts = sorted(draw(st.lists(st.integers(0, samples), max_size=8)))
        spans = list(zip(cuts[::2], cuts[1::2], strict=False))
        utterances = [utterance(j) for j in range(len(spans))]
        sections.append(PlacedSection(f"Section {i}", utterances, spans))
    return Plan(fmt, sections, plan_splice(segments, fmt), int(intro))


@settings(max_examples=200, deadline=None)
@given(plans())
def test_chapters_are_ordered_contiguous_and_cover_the_file(plan: Plan) -> None:
    result = plan.timeline()
    chapters = result.chapters
    assert [c.title for c in chapters] == [s.title for s in plan.sections]
    assert chapters[0].start_ms == 0
    assert chapters[-1].end_ms == result.duration_ms
    duration = plan.placed.duration_samples
    assert result.duration_ms == round(duration * 1000 / plan.fmt.sample_rate)
    for before, after in zip(chapters, chapters[1:], strict=False):
        assert before.end_ms == after.start_ms
    assert all(c.start_ms <= c.end_ms for c in chapters)


@settings(max_examples=200, deadline=None)
@given(plans())
def test_every_time_after_the_first_start_is_shifted_by_the_delay(plan: Plan) -> None:
    shifted, plain = plan.timeline(), plan.timeline(offset=0)
    duration_ms = shifted.duration_ms
    rate = plan.fmt.sample_rate

    def ms(samples: int) -> int:
        return min(round(samples * 1000 / rate), duration_ms)

    for i, chapter in enumerate(shifted.chapters[1:], start=1):
        start = plan.placed.segment_starts[plan.first + i]
        assert chapter.start_ms == ms(start + STREAM_OFFSET)
        assert plain.chapters[i].start_ms == ms(start)
    delay_ms = STREAM_OFFSET * 1000 / rate  # 25 ms or 50 ms
    for a, b in zip(shifted.cues, plain.cues, strict=True):
        assert a.start_ms >= b.start_ms
        assert a.start_ms == duration_ms or abs(a.start_ms - b.start_ms - delay_ms) <= 1


@settings(max_examples=200, deadline=None)
@given(plans())
def test_one_cue_per_spoken_utterance_inside_its_chapter(plan: Plan) -> None:
    result = plan.timeline()
    expected = [
        (i, u.display)
        for i, s in enumerate(plan.sections)
        for u, (a, b) in zip(s.utterances, s.spans, strict=True)
        if b > a
    ]
    assert [(c.chapter, c.text) for c in result.cues] == expected
    starts = [c.start_ms for c in result.cues]
    assert starts == sorted(starts)
    for cue in result.cues:
        chapter = result.chapters[cue.chapter]
        assert chapter.start_ms <= cue.start_ms <= cue.end_ms <= chapter.end_ms
