"""An episode on disk: MP3 and sidecars written together, nothing else left behind.

The write phase is interrupted at every step (each temporary file, each
rename) by making the step raise KeyboardInterrupt, as Ctrl-C would there.
After each: the MP3 is the previous one or the new one, whole; the sidecars
beside it describe it, or the next build does not call the episode up to date
and puts things right.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from mutagen.id3 import ID3

import narrator.atomic
import narrator.container.splice
from narrator.build.keys import read_previous
from narrator.build.output import lock_path, output_lock
from narrator.build.pipeline import build
from narrator.config import Settings
from narrator.container.sidecars import sidecar_paths, sidecars_on_disk_digest
from narrator.container.tags import TXXX_SIDECARS
from narrator.errors import EngineError

from .fakes import FakeEngine

EPISODE_FILES = {"episode.mp3", "episode.chapters.json", "episode.vtt", "episode.srt"}


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


def listing(folder: Path) -> set[str]:
    """``ls -A``: every name in the folder, hidden ones included."""
    return {p.name for p in folder.iterdir()}


def chap_starts_ms(mp3: Path) -> list[int]:
    return sorted(int(f.start_time) for f in ID3(mp3).getall("CHAP"))


def json_starts_ms(mp3: Path) -> list[int]:
    doc = json.loads(sidecar_paths(mp3).chapters_json.read_text("utf-8"))
    return [round(c["startTime"] * 1000) for c in doc["chapters"]]


def sidecars_describe(mp3: Path) -> bool:
    """The chapters JSON beside ``mp3`` has the MP3's own chapter starts."""
    return chap_starts_ms(mp3) == json_starts_ms(mp3)


def test_output_folder_holds_only_the_episode(doc: Path, settings: Settings) -> None:
    build(doc, settings, engine=FakeEngine())
    assert listing(settings.output_path.parent) == EPISODE_FILES
    assert not lock_path(settings.output_path).is_relative_to(
        settings.output_path.parent
    )


def test_failed_and_interrupted_builds_leave_nothing_in_the_folder(
    doc: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EngineError):
        build(doc, settings, engine=FakeEngine(fail_on="ressources"))
    folder = settings.output_path.parent
    assert not folder.exists() or listing(folder) == set()

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(narrator.atomic, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        build(doc, settings, engine=FakeEngine())
    assert listing(folder) == set()


def test_lock_is_released_and_not_in_the_output_folder(
    doc: Path, settings: Settings
) -> None:
    settings.output_path.parent.mkdir(parents=True)
    with output_lock(settings.output_path):
        assert lock_path(settings.output_path).is_file()
        assert listing(settings.output_path.parent) == set()
    build(doc, settings, engine=FakeEngine())  # not held any more


def test_sidecar_digest_is_recorded_and_checked(doc: Path, settings: Settings) -> None:
    out = settings.output_path
    build(doc, settings, engine=FakeEngine())
    previous = read_previous(out)
    assert previous is not None
    assert previous.get(TXXX_SIDECARS) == sidecars_on_disk_digest(out)
    # A sidecar edited (or left by another build) behind the MP3's back:
    vtt = sidecar_paths(out).vtt
    vtt.write_text(vtt.read_text("utf-8") + "\n", encoding="utf-8")
    again = build(doc, settings, engine=FakeEngine())
    assert not again.up_to_date and again.sections_synthesized == 0
    assert build(doc, settings, engine=FakeEngine()).up_to_date


# The write phase: the MP3 spliced into a temporary file, the 3 sidecars
# written to temporary files, then 4 renames, the MP3's first.
WRITE_STEPS = (
    [(narrator.container.splice, "splice", 0)]
    + [(narrator.atomic, "write_temp", n) for n in range(3)]
    + [(narrator.atomic, "replace", n) for n in range(4)]
)


@pytest.mark.parametrize(
    ("module", "step", "nth"),
    WRITE_STEPS,
    ids=[f"{step}-{nth}" for _, step, nth in WRITE_STEPS],
)
def test_interrupt_at_each_write_step(
    doc: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    step: str,
    nth: int,
) -> None:
    out = settings.output_path
    build(doc, settings, engine=FakeEngine())
    before = {p: p.read_bytes() for p in (out, *sidecar_paths(out).all())}
    # Longer pauses between sections: every chapter start after the first moves.
    slower = replace(settings, pauses=replace(settings.pauses, section_ms=3000))

    real = getattr(module, step)
    calls = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == nth + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, step, flaky)
    with pytest.raises(KeyboardInterrupt):
        build(doc, slower, engine=FakeEngine())
    monkeypatch.undo()

    assert len(calls) == nth + 1
    assert listing(out.parent) == EPISODE_FILES  # no temporary file left
    mp3_moved = step == "replace" and nth > 0
    if not mp3_moved:
        # Interrupted before the MP3's rename: the previous episode, whole.
        assert {p: p.read_bytes() for p in before} == before
        assert sidecars_describe(out)
    else:
        assert out.read_bytes() != before[out]
        # New MP3, some old sidecars: its recorded digest says they are not its.
        previous = read_previous(out)
        assert previous is not None
        assert previous.get(TXXX_SIDECARS) != sidecars_on_disk_digest(out)
    # Either way the next build is not "up to date" until MP3 and sidecars agree.
    result = build(doc, slower, engine=FakeEngine())
    assert not result.up_to_date
    assert sidecars_describe(out)
    assert build(doc, slower, engine=FakeEngine()).up_to_date


def test_tests_cannot_reach_the_network() -> None:
    """The guard in conftest: a test that would reach another host fails at once."""
    import socket

    from .conftest import NetworkBlocked

    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=5)
    with socket.socket() as sock, pytest.raises(NetworkBlocked):
        sock.connect_ex(("2001:db8::1", 80, 0, 0))


def test_tests_cannot_look_up_names() -> None:
    import socket

    from .conftest import NetworkBlocked

    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("translate.google.fr", 443)
    assert socket.getaddrinfo("127.0.0.1", 80)
