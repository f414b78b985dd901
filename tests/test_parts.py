"""A long section is encoded in parts, on two cores when a build has them.

The parts are cut at pauses and joined into one segment; the listener must
not be able to tell: every transcript cue lands on its speech, the section
keeps one loudness, and the bytes do not depend on how many parts ran at once.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from narrator.audio.clip import Clip
from narrator.audio.render import (
    PRESETS,
    SEGMENT_OVERHEAD,
    RenderPlan,
    plan_render,
)
from narrator.build import produce
from narrator.build.pipeline import build
from narrator.config import Pauses, Settings
from narrator.container import encode as encoding
from narrator.container.frames import EncodedSegment
from narrator.ffmpeg import decode_file

SENTENCES = [
    "Les modèles de langage apprennent à partir de très grands corpus de textes.",
    "Leur entraînement demande une puissance de calcul considérable et coûteuse.",
    "Les chercheurs comparent leurs résultats sur des bancs d'essai publics.",
    "Certaines entreprises publient leurs poids, d'autres les gardent secrets.",
    "La régulation européenne impose désormais des obligations de transparence.",
    "Les usages se multiplient dans les écoles, les hôpitaux et les administrations.",
]


def _document(path: Path, repeats: int) -> Path:
    body = " ".join(SENTENCES * repeats)
    path.write_text(
        f"# Essai\n\n## Une longue partie\n\n{body}\n\n## Une courte partie\n\n"
        "Elle tient en une phrase.\n",
        encoding="utf-8",
    )
    return path


def _settings(
    tmp_path: Path, name: str, jobs: int, preset: str = "phone", name_ext: str = "mp3"
) -> Settings:
    return Settings(
        output_path=tmp_path / name / f"episode.{name_ext}",
        cache_dir=tmp_path / f"cache-{name}",
        engine="espeak",
        jobs=jobs,
        preset=preset,
    )


def _rms_db(pcm: np.ndarray, rate: int, start_ms: int, end_ms: int) -> float:
    part = pcm[start_ms * rate // 1000 : end_ms * rate // 1000].astype(np.float64)
    return float(10 * np.log10(np.mean(np.square(part / 32768.0)) + 1e-12))


def _plan(clip: Clip, pause: str, part_s: float | None) -> RenderPlan:
    return plan_render(
        clip,
        [pause] * len(clip.utterances),
        PRESETS["phone"],
        Pauses(),
        lead_ms=300,
        tail_ms=1300,
        target_lufs=None,
        part_s=part_s,
    )


def test_cuts_fall_on_pauses_that_can_hold_the_overhead() -> None:
    rate = 22050
    voice = np.full(rate * 5, 3000, dtype=np.int16)  # 5 s "utterances"
    clip = Clip(sample_rate=rate, utterances=tuple(voice for _ in range(20)))
    plan = _plan(clip, "sentence", 30.0)
    parts = plan.parts
    assert len(parts) >= 3
    assert parts[0][0] == 0 and parts[-1][1] == 20
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:], strict=False))
    assert all(plan.silences[cut] >= 2 * SEGMENT_OVERHEAD for cut in plan.cuts)
    one = _plan(clip, "sentence", None)
    assert one.parts == [(0, 20)] and one.gain_db == plan.gain_db


def test_a_section_without_pauses_is_cut_all_the_same() -> None:
    # One endless sentence cut at words: no pause anywhere, still parts.
    rate = 22050
    voice = np.full(rate * 5, 3000, dtype=np.int16)
    clip = Clip(sample_rate=rate, utterances=tuple(voice for _ in range(20)))
    plan = _plan(clip, "", 30.0)
    assert len(plan.parts) == 3
    assert all(plan.silences[cut] < SEGMENT_OVERHEAD for cut in plan.cuts)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parts of ~12 s: a test-sized section is cut four or five times.
    monkeypatch.setattr(produce, "PART_S", 12.0)


@pytest.mark.parametrize("preset", ["phone", "small"])  # 1152- and 576-sample frames
def test_every_cue_of_a_section_in_parts_lands_on_its_speech(
    tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch, preset: str
) -> None:
    rate = PRESETS[preset].fmt.sample_rate
    doc = _document(tmp_path / "doc.md", repeats=2)
    joined: list[int] = []
    join = encoding.join_parts

    def counting(
        parts: Sequence[EncodedSegment], *args: Any, **kwargs: Any
    ) -> EncodedSegment:
        joined.append(len(parts))
        return join(parts, *args, **kwargs)

    monkeypatch.setattr(encoding, "join_parts", counting)
    result = build(doc, _settings(tmp_path, "a", jobs=2, preset=preset))
    pcm = np.frombuffer(decode_file(result.output, rate=rate), dtype="<i2")
    assert abs(len(pcm) / rate - result.duration_s) < 0.03
    assert result.timeline is not None
    cues = [c for c in result.timeline.cues if c.chapter == 0]
    assert len(cues) == 1 + 2 * len(SENTENCES)  # the title is spoken first
    assert len(joined) == 1 and joined[0] >= 4  # the long section, in parts
    # The same clips in one part: each pause differs by at most half a frame
    # (13 ms, where a cut rounds it to a frame), each cue's length not at all.
    monkeypatch.setattr(produce, "PART_S", 1e9)
    whole = _settings(tmp_path, "whole", jobs=2, preset=preset)
    shutil.copytree(tmp_path / "cache-a", whole.cache_dir)
    shutil.rmtree(whole.cache_dir / "segments")
    single = build(doc, whole)
    assert len(joined) == 1
    assert single.timeline is not None
    plain = [c for c in single.timeline.cues if c.chapter == 0]
    for a, b, c, d in zip(cues, cues[1:], plain, plain[1:], strict=False):
        assert abs((a.end_ms - a.start_ms) - (c.end_ms - c.start_ms)) <= 1
        assert abs((b.start_ms - a.end_ms) - (d.start_ms - c.end_ms)) <= 14
    for before, cue in zip(cues, cues[1:], strict=False):
        # Speech inside each cue, near-silence in the pause before it.
        assert _rms_db(pcm, rate, cue.start_ms + 40, cue.end_ms - 40) > -40, cue.text
        gap = cue.start_ms - before.end_ms
        assert gap > 150
        assert _rms_db(pcm, rate, before.end_ms + 60, cue.start_ms - 60) < -55


def test_the_bytes_do_not_depend_on_how_many_parts_ran_at_once(
    tmp_path: Path, small_parts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _document(tmp_path / "doc.md", repeats=2)
    threads: list[str] = []
    encode = encoding.encode_segment

    def recording(*args: Any, **kwargs: Any) -> EncodedSegment:
        threads.append(threading.current_thread().name)
        return encode(*args, **kwargs)

    monkeypatch.setattr(encoding, "encode_segment", recording)
    two = _settings(tmp_path, "two", jobs=2)
    first = build(doc, two)
    # The short section's thread, done, was lent to the long one's parts.
    assert "narrator-part" in threads
    # The same clips (espeak-ng is not bit-reproducible), segments made again
    # one part after the other.
    threads.clear()
    one = _settings(tmp_path, "one", jobs=1)
    shutil.copytree(two.cache_dir, one.cache_dir)
    shutil.rmtree(one.cache_dir / "segments")
    second = build(doc, one)
    assert "narrator-part" not in threads and len(threads) >= 5
    assert first.sections_synthesized == 2 and second.sections_synthesized == 0
    assert _audio_bytes(first.output) == _audio_bytes(second.output)
    assert first.chapters == second.chapters


def _audio_bytes(path: Path) -> bytes:
    """The MP3 after its ID3 tag: the Info frame and every audio frame."""
    data = path.read_bytes()
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:
        size = size << 7 | byte
    return data[10 + size :]


def test_an_aac_section_in_parts_is_joined_like_the_mp3s(
    tmp_path: Path, small_parts: None
) -> None:
    # Each AAC part is encoded on its own and the parts joined at silent units:
    # the M4B's section keeps every cue on its speech, and its chapters and
    # length are the MP3's from the same clips.
    doc = _document(tmp_path / "doc.md", repeats=2)
    mp3 = build(doc, _settings(tmp_path, "a", jobs=2))
    m4b = build(doc, _settings(tmp_path, "a", jobs=2, name_ext="m4b"))
    assert m4b.sections_synthesized == 0
    assert m4b.timeline is not None and mp3.timeline is not None
    frame_ms = 1024 / 44.1
    for a, b in zip(m4b.chapters, mp3.chapters, strict=True):
        assert a.title == b.title
        assert abs(a.start_ms - b.start_ms) <= frame_ms
    rate = 44100
    pcm = np.frombuffer(decode_file(m4b.output, rate=rate), dtype="<i2")
    assert abs(len(pcm) / rate - m4b.duration_s) < 0.03
    cues = [c for c in m4b.timeline.cues if c.chapter == 0]
    assert len(cues) == 1 + 2 * len(SENTENCES)
    for before, cue in zip(cues, cues[1:], strict=False):
        assert _rms_db(pcm, rate, cue.start_ms + 40, cue.end_ms - 40) > -40, cue.text
        assert _rms_db(pcm, rate, before.end_ms + 60, cue.start_ms - 60) < -55
