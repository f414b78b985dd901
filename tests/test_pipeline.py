"""The build pipeline with a counting fake engine: caching and incremental builds."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from narrator.build.output import output_lock
from narrator.build.pipeline import build, dry_run, plan_build
from narrator.cache import Cache
from narrator.config import Settings
from narrator.errors import EngineError, LockError

from .conftest import SEED_TITLES
from .fakes import FakeEngine


@pytest.fixture
def doc(tmp_path: Path, seed_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    shutil.copy(seed_path, path)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        output_path=tmp_path / "out" / "episode.mp3",
        cache_dir=tmp_path / "cache",
        jobs=2,
    )


def edit_section(path: Path, index: int, old: str, new: str) -> None:
    """Replace one word in section ``index`` (0-based) of a seed-shaped file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    heading = lines.index(SEED_TITLES[index])
    body = heading + 1
    assert old in lines[body]
    lines[body] = lines[body].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


def test_first_build_synthesizes_each_section_once(
    doc: Path, settings: Settings
) -> None:
    engine = FakeEngine()
    result = build(doc, settings, engine=engine)
    assert engine.call_count == 11
    assert result.sections_synthesized == 11 and result.sections_reused == 0
    assert [c.title for c in result.chapters] == SEED_TITLES
    assert result.output.is_file()


def test_second_build_makes_no_engine_call(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    before = settings.output_path.read_bytes()
    result = build(doc, settings, engine=engine)
    assert engine.call_count == 11
    assert result.up_to_date
    assert result.sections_synthesized == 0 and result.sections_reused == 11
    assert settings.output_path.read_bytes() == before


def test_editing_one_section_synthesizes_exactly_one(
    doc: Path, settings: Settings
) -> None:
    engine = FakeEngine()
    first = build(doc, settings, engine=engine)
    edit_section(doc, 4, "ressources", "moyens")
    second = build(doc, settings, engine=engine)
    assert engine.call_count == 12
    assert second.sections_synthesized == 1 and second.sections_reused == 10
    assert second.chapters[:4] == first.chapters[:4]


def test_reordering_sections_synthesizes_nothing(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    lines = doc.read_text(encoding="utf-8").split("\n")
    a = lines.index(SEED_TITLES[1])
    b = lines.index(SEED_TITLES[2])
    c = lines.index(SEED_TITLES[3])
    swapped = lines[:a] + lines[b:c] + lines[a:b] + lines[c:]
    doc.write_text("\n".join(swapped), encoding="utf-8")
    result = build(doc, settings, engine=engine)
    assert engine.call_count == 11
    assert result.sections_synthesized == 0
    assert result.chapters[1].title == SEED_TITLES[2]


def test_renaming_the_input_synthesizes_nothing(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    renamed = doc.with_name("renamed.txt")
    doc.rename(renamed)
    result = build(renamed, settings, engine=engine)
    assert engine.call_count == 11 and result.sections_synthesized == 0


def test_tag_only_change_synthesizes_nothing(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    result = build(
        doc, replace(settings, title="Autre titre", author="Quelqu'un"), engine=engine
    )
    assert engine.call_count == 11
    assert not result.up_to_date and result.sections_synthesized == 0


def test_changing_voice_resynthesizes_everything(doc: Path, settings: Settings) -> None:
    build(doc, settings, engine=FakeEngine(voice="a"))
    other = FakeEngine(voice="b")
    result = build(doc, settings, engine=other)
    assert other.call_count == 11 and result.sections_synthesized == 11


def test_corrupted_clip_is_resynthesized(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    plan = plan_build(doc, settings, engine=engine)
    cache = Cache(settings.cache_dir)
    clip_path = cache._path("clips", plan.sections[2].clip_key)
    data = bytearray(clip_path.read_bytes())
    data[-5] ^= 0x55
    clip_path.write_bytes(bytes(data))
    # A new preset needs every clip again; only the damaged one is synthesized.
    result = build(doc, replace(settings, preset="small"), engine=engine)
    assert engine.call_count == 12
    assert result.sections_synthesized == 1


def test_failed_build_keeps_previous_output_and_resumes(
    doc: Path, settings: Settings
) -> None:
    build(doc, settings, engine=FakeEngine())
    before = settings.output_path.read_bytes()
    failing = FakeEngine(voice="b", fail_on="puissance de calcul")
    with pytest.raises(EngineError, match="section"):
        build(doc, replace(settings, jobs=1), engine=failing)
    assert settings.output_path.read_bytes() == before
    assert not list(settings.output_path.parent.glob(".*.tmp"))
    good = FakeEngine(voice="b")
    result = build(doc, settings, engine=good)
    # Sections finished before the failure were cached and are not asked again.
    assert good.call_count == 11 - (failing.call_count - 1)
    assert result.sections_synthesized == good.call_count


def test_chapters_are_contiguous_and_cover_the_file(
    doc: Path, settings: Settings
) -> None:
    result = build(doc, settings, engine=FakeEngine())
    chapters = result.chapters
    assert chapters[0].start_ms == 0
    for a, b in zip(chapters, chapters[1:], strict=False):
        assert a.end_ms == b.start_ms and a.start_ms < a.end_ms
    assert abs(chapters[-1].end_ms - result.duration_s * 1000) <= 50


def test_dry_run_reports_reuse_and_synthesize(doc: Path, settings: Settings) -> None:
    engine = FakeEngine()
    assert {a for a, _ in dry_run(plan_build(doc, settings, engine=engine))} == {
        "synthesize"
    }
    build(doc, settings, engine=engine)
    edit_section(doc, 4, "ressources", "moyens")
    rows = dry_run(plan_build(doc, settings, engine=engine))
    assert [a for a, _ in rows] == ["reuse"] * 4 + ["synthesize"] + ["reuse"] * 6
    assert engine.call_count == 11


def test_second_build_of_same_output_is_refused(doc: Path, settings: Settings) -> None:
    settings.output_path.parent.mkdir(parents=True)
    with output_lock(settings.output_path), pytest.raises(LockError, match="another"):
        build(doc, settings, engine=FakeEngine())


def test_lexicon_edit_resynthesizes_exactly_the_sections_it_affects(
    doc: Path, settings: Settings
) -> None:
    engine = FakeEngine()
    build(doc, settings, engine=engine)
    # "Microsoft" appears in only some sections of the seed.
    (doc.parent / "narrator.toml").write_text(
        '[lexicon]\n"Microsoft" = "Maïcrossofte"\n', encoding="utf-8"
    )
    plan = plan_build(doc, settings, engine=engine)
    affected = [sp.title for sp in plan.sections if not sp.cached]
    text = doc.read_text(encoding="utf-8")
    assert 0 < len(affected) < 11
    for sp in plan.sections:
        said = " ".join(u.text for u in sp.utterances)
        assert ("Maïcrossofte" in said) == (sp.title in affected)
    assert "Microsoft" in text
    result = build(doc, settings, engine=engine)
    assert result.sections_synthesized == len(affected)
    assert set(result.synthesized_titles) == set(affected)
    assert engine.call_count == 11 + len(affected)


def test_identical_sections_share_one_segment(
    tmp_path: Path, settings: Settings
) -> None:
    """Found in review: identical sections raced to write one cache entry."""
    doc = tmp_path / "dup.md"
    doc.write_text(
        "## Premier\n\nLa même phrase, mot pour mot.\n\n" * 3
        + "## Fin\n\nUne autre phrase.\n",
        encoding="utf-8",
    )
    engine = FakeEngine()
    result = build(doc, replace(settings, jobs=4), engine=engine)
    assert engine.call_count == 2
    assert result.sections_synthesized == 2 and result.sections_reused == 2
    assert [c.title for c in result.chapters] == ["Premier"] * 3 + ["Fin"]
    starts = [c.start_ms for c in result.chapters]
    assert starts == sorted(set(starts))


def test_no_sidecars_build_can_be_up_to_date(doc: Path, settings: Settings) -> None:
    quiet = replace(settings, sidecars=False)
    build(doc, quiet, engine=FakeEngine())
    assert build(doc, quiet, engine=FakeEngine()).up_to_date


def test_sidecars_are_written_before_the_mp3(
    doc: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build interrupted while writing sidecars must not leave an MP3 that
    claims to be up to date next to stale sidecars."""
    import narrator.container.sidecars

    build(doc, settings, engine=FakeEngine())
    before = settings.output_path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(narrator.container.sidecars, "render_sidecars", boom)
    slower = replace(settings, pauses=replace(settings.pauses, section_ms=3000))
    with pytest.raises(KeyboardInterrupt):
        build(doc, slower, engine=FakeEngine())
    assert settings.output_path.read_bytes() == before
    monkeypatch.undo()
    assert not build(doc, slower, engine=FakeEngine()).up_to_date


def test_guid_survives_rename_and_retitle_but_not_another_document(
    doc: Path, settings: Settings, tmp_path: Path
) -> None:
    from narrator.container.tags import TXXX_GUID, read_extra

    def guid() -> str:
        return read_extra(settings.output_path)[TXXX_GUID]

    build(doc, settings, engine=FakeEngine())
    first = guid()
    build(doc, replace(settings, title="Nouveau titre"), engine=FakeEngine())
    assert guid() == first  # same source file: same episode
    renamed = doc.with_name("autre-nom.txt")
    doc.rename(renamed)
    build(renamed, replace(settings, title="Nouveau titre"), engine=FakeEngine())
    assert guid() == first  # same title: same episode
    other = tmp_path / "different.md"
    other.write_text("## Ailleurs\n\nUn tout autre épisode.\n", encoding="utf-8")
    build(other, settings, engine=FakeEngine())
    assert guid() != first


@pytest.mark.parametrize(
    ("language", "tlan"),
    [(None, "fra"), ("fr", "fra"), ("fr-CA", "fra"), ("en", "eng"), ("oci", "oci")],
)
def test_front_matter_language_becomes_tlan(language, tlan) -> None:
    from narrator.build.episode import iso639_2 as _iso639_2

    assert _iso639_2(language) == tlan


class WordsEngine:
    """Each utterance: 200 ms of silence, a 1 s tone, 300 ms of silence, and (if
    ``words``) word timings that put the speech at 250-1100 ms."""

    name = "words"
    local = True
    profile = "espeak"
    voice = ""

    def __init__(self, words: bool) -> None:
        self.words = words

    def identity(self) -> dict[str, str]:
        return {"engine": "words", "timed": str(self.words)}

    def probe(self) -> bool:
        return True

    def synthesize(self, texts: list[str], *, section: object = None) -> list:
        import numpy as np

        from narrator.model import Audio, WordTiming

        rate = 22050
        tone = 0.3 * np.sin(2 * np.pi * 330 * np.arange(rate) / rate)
        x = np.concatenate([np.zeros(rate // 5), tone, np.zeros(rate * 3 // 10)])
        pcm = np.round(x * 32767).astype("<i2").tobytes()
        timed = (WordTiming(250, 700, "un"), WordTiming(720, 1100, "deux"))
        return [
            Audio.from_pcm(pcm, rate, words=timed if self.words else ()) for _ in texts
        ]


def test_edge_word_timings_time_the_transcript_cues(
    doc: Path, settings: Settings
) -> None:
    """With word timings (as Edge gives them), a cue spans first word to last."""
    plain = build(doc, settings, engine=WordsEngine(words=False))
    other = replace(settings, output_path=settings.output_path.with_name("w.mp3"))
    timed = build(doc, other, engine=WordsEngine(words=True))
    assert plain.timeline is not None and timed.timeline is not None
    for a, b in zip(plain.timeline.cues, timed.timeline.cues, strict=True):
        # Trimmed audio: the 1 s tone with 30 ms kept each side (about 1060 ms);
        # the words: 850 ms, starting 80 ms after the trimmed start.
        assert abs((a.end_ms - a.start_ms) - 1060) <= 12
        assert abs((b.end_ms - b.start_ms) - 850) <= 2
        assert abs((b.start_ms - a.start_ms) - 80) <= 12


def test_only_edited_sections_are_made_speakable_again(
    doc: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The speech cache: a rebuild normalizes only what changed, and a change
    of the normalizer's own code invalidates everything."""
    import narrator.build.plan
    import narrator.speech.normalize

    real = narrator.speech.normalize.speak_section
    calls: list[str] = []

    def counting(section: object, **kwargs: object) -> object:
        calls.append(section.title)
        return real(section, **kwargs)

    monkeypatch.setattr(narrator.speech.normalize, "speak_section", counting)
    first = plan_build(doc, settings, engine=FakeEngine())
    assert len(calls) == 11
    calls.clear()
    plan_build(doc, settings, engine=FakeEngine())
    assert len(calls) == 11  # planning alone (a dry run) stores nothing
    calls.clear()
    build(doc, settings, engine=FakeEngine())
    assert len(calls) == 11  # the build planned, then stored what it made
    calls.clear()
    again = plan_build(doc, settings, engine=FakeEngine())
    assert calls == [] and again.build_key == first.build_key
    edit_section(doc, 4, "ressources", "moyens")
    plan_build(doc, settings, engine=FakeEngine())
    assert calls == [SEED_TITLES[4]]
    calls.clear()
    narrator.build.plan._speech_code_digest.cache_clear()
    episode = narrator.build.plan
    monkeypatch.setattr(episode, "_speech_code_digest", lambda: "changed")
    plan_build(doc, settings, engine=FakeEngine())
    assert len(calls) == 11
