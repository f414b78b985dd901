"""Chapter and cue times from the splice plan: where each section and sentence is heard.

Times come from frame counts, not from measuring audio: in the decoded
(gapless) timeline, segment k starts at exactly the sum of the frames before
it times the samples per frame. ID3 CHAP times count from the start of the MP3
stream, before a gapless decoder skips the encoder + decoder delay, so every
time after the first chapter's start is shifted by that delay (ffmpeg maps
them back; a player without gapless support plays them as they are). No I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from narrator.model import Chapter, ChapterPicture, Cue, Timeline, Utterance


@dataclass(frozen=True)
class PlacedSection:
    """A section as placed in the episode: its utterances and where each one sounds.

    ``spans`` are (start, end) sample offsets of each utterance inside the
    section's segment, in the order of ``utterances``.
    """

    title: str
    utterances: Sequence[Utterance]
    spans: Sequence[tuple[int, int]]
    picture: ChapterPicture | None = None
    url: str | None = None


def build_timeline(
    sections: Sequence[PlacedSection],
    segment_starts: Sequence[int],
    *,
    first_segment: int,
    duration_samples: int,
    sample_rate: int,
    stream_offset: int,
) -> Timeline:
    """Chapters (one per section, contiguous) and cues (one per spoken utterance).

    ``segment_starts`` are the first samples of every segment in the decoded
    timeline, intro and outro included; section i is segment
    ``first_segment + i``. ``stream_offset`` is the encoder + decoder delay in
    samples. The first chapter starts at 0 (it holds the intro, if any) and the
    last one ends with the file.
    """

    def ms(samples: int) -> int:
        return int(round(samples * 1000 / sample_rate))

    def stream_ms(samples: int) -> int:
        return min(ms(samples + stream_offset), ms(duration_samples))

    chapters: list[Chapter] = []
    cues: list[Cue] = []
    last = len(sections) - 1
    for i, section in enumerate(sections):
        k = first_segment + i
        start = 0 if i == 0 else stream_ms(segment_starts[k])
        end = stream_ms(segment_starts[k + 1]) if i < last else ms(duration_samples)
        chapters.append(
            Chapter(section.title, start, end, section.picture, section.url)
        )
        for (u_start, u_end), utterance in zip(
            section.spans, section.utterances, strict=True
        ):
            if u_end > u_start:
                cues.append(
                    Cue(
                        stream_ms(segment_starts[k] + u_start),
                        stream_ms(segment_starts[k] + u_end),
                        utterance.display,
                        i,
                    )
                )
    return Timeline(tuple(chapters), tuple(cues), ms(duration_samples))
