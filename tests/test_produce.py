"""Producing one section, directly: the segment cache, the clip cache, synthesis.

A fake engine (tones, counted calls) and a cache in tmp_path: what each call
made and what it found, without a build around it.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from narrator.build.keys import Mastering, SectionPlan, plan_sections
from narrator.build.plan import segment_params
from narrator.build.produce import produce_jingle, produce_section, reread
from narrator.build.schedule import Cancelled
from narrator.cache import Cache
from narrator.config import Pauses
from narrator.errors import EngineError
from narrator.model import Utterance

from .fakes import FakeEngine

MASTERING = Mastering("small", Pauses(), None)
SECTION = (
    "Le climat",
    (
        Utterance("Le climat", "Le climat", "title"),
        Utterance("Il change vite.", "Il change vite.", "sentence"),
        Utterance("Les mers montent.", "Les mers montent.", "end"),
    ),
)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def keyed(cache: Cache, engine: FakeEngine) -> SectionPlan:
    (sp,) = plan_sections(
        [SECTION], engine.identity(), segment_params(MASTERING), cache
    )
    return sp


def test_a_section_is_synthesized_once_then_read_from_the_segment_cache(
    cache: Cache,
) -> None:
    engine = FakeEngine()
    sp = keyed(cache, engine)
    assert sp.action == "synthesize"
    first = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert first.synthesized and engine.call_count == 1
    assert [c for call in engine.calls for c in call] == [u.text for u in SECTION[1]]
    assert first.frames > 0 and len(first.spans) == 3
    again = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert engine.call_count == 1  # the segment cache: no engine call
    assert not again.synthesized
    assert (again.frames, again.samples, again.spans) == (
        first.frames,
        first.samples,
        first.spans,
    )
    assert keyed(cache, engine).action == "reuse"  # the clip is cached too


def test_without_its_segment_a_section_is_mastered_again_from_its_clip(
    cache: Cache,
) -> None:
    engine = FakeEngine()
    sp = keyed(cache, engine)
    first = produce_section(cache, engine, sp, MASTERING, threading.Event())
    shutil.rmtree(cache.root / "segments")
    again = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert engine.call_count == 1  # the clip cache: mastered, not synthesized
    assert not again.synthesized
    assert (again.frames, again.spans) == (first.frames, first.spans)


def test_other_pauses_remaster_the_cached_clip(cache: Cache) -> None:
    engine = FakeEngine()
    produce_section(cache, engine, keyed(cache, engine), MASTERING, threading.Event())
    slower = Mastering("small", Pauses(sentence_ms=900), None)
    (sp,) = plan_sections([SECTION], engine.identity(), segment_params(slower), cache)
    record = produce_section(cache, engine, sp, slower, threading.Event())
    assert engine.call_count == 1 and not record.synthesized


def test_a_cancelled_section_asks_the_engine_nothing(cache: Cache) -> None:
    engine = FakeEngine()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        produce_section(cache, engine, keyed(cache, engine), MASTERING, cancel)
    assert engine.call_count == 0


def test_an_engine_failure_names_the_section(cache: Cache) -> None:
    engine = FakeEngine(fail_on="mers")
    with pytest.raises(EngineError, match="Le climat"):
        produce_section(
            cache, engine, keyed(cache, engine), MASTERING, threading.Event()
        )
    assert not cache.has("clips", keyed(cache, engine).clip_key)


def test_reread_follows_the_entry_and_makes_a_vanished_one_again(
    cache: Cache,
) -> None:
    engine = FakeEngine()
    sp = keyed(cache, engine)
    record = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert reread(cache, engine, sp, MASTERING, record) == record
    shutil.rmtree(cache.root / "segments")
    again = reread(cache, engine, sp, MASTERING, record)
    assert again.entry_path.is_file() and again.frames == record.frames
    assert engine.call_count == 1  # the clip was still cached: only re-encoded
    shutil.rmtree(cache.root / "segments")
    shutil.rmtree(cache.root / "clips")
    again = reread(cache, engine, sp, MASTERING, record)
    assert again.synthesized and engine.call_count == 2


def test_a_jingle_is_cached_by_its_content(cache: Cache, tmp_path: Path) -> None:
    engine = FakeEngine(rate=22050)
    (audio,) = engine.synthesize(["un petit air de musique"])
    jingle = tmp_path / "jingle.wav"
    jingle.write_bytes(audio.data)
    params = segment_params(MASTERING)
    first = produce_jingle(cache, MASTERING, params, jingle, "intro")
    again = produce_jingle(cache, MASTERING, params, jingle, "intro")
    assert again.entry_path == first.entry_path and first.frames > 0
    outro = produce_jingle(cache, MASTERING, params, jingle, "outro")
    assert outro.entry_path != first.entry_path  # faded and placed otherwise


# -- an edited section: only what changed is synthesized ----------------------------


def sentence(text: str) -> Utterance:
    return Utterance(text, text, "sentence")


def plan_of(
    cache: Cache, engine: FakeEngine, *texts: str, title: str = "Le climat"
) -> SectionPlan:
    section = (title, (Utterance(title, title, "title"), *map(sentence, texts)))
    (sp,) = plan_sections(
        [section], engine.identity(), segment_params(MASTERING), cache
    )
    return sp


def made_from_scratch(tmp_path: Path, sp: SectionPlan) -> tuple[bytes, bytes]:
    """The clip and segment payloads a fresh cache makes for ``sp``."""
    fresh = Cache(tmp_path / "fresh")
    produce_section(fresh, FakeEngine(), sp, MASTERING, threading.Event())
    clip = fresh.get_bytes("clips", sp.clip_key)
    segment = fresh.get_bytes("segments", sp.segment_key)
    assert clip is not None and segment is not None
    return clip, segment


def produced(cache: Cache, sp: SectionPlan) -> tuple[bytes, bytes]:
    clip = cache.get_bytes("clips", sp.clip_key)
    segment = cache.get_bytes("segments", sp.segment_key)
    assert clip is not None and segment is not None
    return clip, segment


FIRST = ("Il change vite.", "Les mers montent.", "Les glaces fondent.")


@pytest.mark.parametrize(
    ("edited", "spoken"),
    [
        (  # one word added to one sentence
            ("Il change vite.", "Les mers montent très vite.", "Les glaces fondent."),
            ["Les mers montent très vite."],
        ),
        (  # sentences added, moved and removed
            ("Une phrase neuve.", "Les glaces fondent.", "Une autre.", FIRST[0]),
            ["Une phrase neuve.", "Une autre."],
        ),
    ],
)
def test_only_the_changed_sentences_are_synthesized_again(
    cache: Cache, tmp_path: Path, edited: tuple[str, ...], spoken: list[str]
) -> None:
    engine = FakeEngine()
    produce_section(cache, engine, plan_of(cache, engine, *FIRST), MASTERING,
                    threading.Event())  # fmt: skip
    sp = plan_of(cache, engine, *edited)
    record = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert engine.calls[1:] == [spoken]
    assert record.synthesized and record.spoken == len(spoken)
    # The copied utterances and the new ones make what a fresh cache makes.
    assert produced(cache, sp) == made_from_scratch(tmp_path, sp)


def test_changes_spread_over_several_engine_calls_stay_in_order(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("narrator.build.reuse.SYNTH_BATCH_CHARS", 30)
    engine = FakeEngine()
    old = [f"Phrase numéro {i}." for i in range(12)]
    produce_section(cache, engine, plan_of(cache, engine, *old), MASTERING,
                    threading.Event())  # fmt: skip
    new = [t if i % 3 else f"Phrase changée {i}." for i, t in enumerate(old)]
    sp = plan_of(cache, engine, *new)
    calls = len(engine.calls)
    record = produce_section(cache, engine, sp, MASTERING, threading.Event())
    asked = engine.calls[calls:]
    assert len(asked) > 1 and all(len(" ".join(b)) <= 40 for b in asked)
    assert [t for b in asked for t in b] == new[::3]
    assert record.spoken == 4
    assert produced(cache, sp) == made_from_scratch(tmp_path, sp)


def test_another_title_or_voice_is_synthesized_whole(cache: Cache) -> None:
    engine = FakeEngine()
    produce_section(cache, engine, plan_of(cache, engine, *FIRST), MASTERING,
                    threading.Event())  # fmt: skip
    retitled = plan_of(cache, engine, *FIRST, title="Le temps")
    record = produce_section(cache, engine, retitled, MASTERING, threading.Event())
    assert engine.calls[-1] == ["Le temps", *FIRST] and record.spoken == 4
    other = FakeEngine(voice="b")
    edited = plan_of(cache, other, FIRST[0], "Autre chose.", FIRST[2])
    record = produce_section(cache, other, edited, MASTERING, threading.Event())
    assert other.calls == [["Le climat", FIRST[0], "Autre chose.", FIRST[2]]]


@pytest.mark.parametrize("damage", ["clip gone", "clip damaged", "pointer damaged"])
def test_a_latest_clip_that_is_gone_or_damaged_means_synthesizing_all(
    cache: Cache, tmp_path: Path, damage: str
) -> None:
    engine = FakeEngine()
    first = plan_of(cache, engine, *FIRST)
    produce_section(cache, engine, first, MASTERING, threading.Event())
    entry = cache.get("clips", first.clip_key)
    pointer = cache.get("latest", first.latest_key)
    assert entry is not None and pointer is not None
    if damage == "clip gone":
        entry.path.unlink()
    else:
        path = entry.path if damage == "clip damaged" else pointer.path
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF
        path.write_bytes(bytes(data))
    sp = plan_of(cache, engine, FIRST[0], "Tout autre.", FIRST[2])
    record = produce_section(cache, engine, sp, MASTERING, threading.Event())
    assert engine.calls[-1] == ["Le climat", FIRST[0], "Tout autre.", FIRST[2]]
    assert record.spoken == 4
    assert produced(cache, sp) == made_from_scratch(tmp_path, sp)
