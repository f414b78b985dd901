"""A cache shared by running builds and a user pruning it.

Running builds register themselves (an ``flock``'d file in ``builds/``); a
prune spares their scratch files and what they used since they started. A
build whose entries vanish or turn into folders makes them again. The long
build is real (espeak-ng over the reference summary, in a process of its own)
while this process prunes in a loop; its episode is read back with mutagen and
compared with a build that nothing disturbed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from narrator.build.batch import run_batch
from narrator.build.pipeline import build
from narrator.cache import Cache
from narrator.cli import main
from narrator.config import Settings
from narrator.engines.base import SectionRef
from narrator.model import Audio

from .conftest import DATA, REPO, SEED, SEED_TITLES
from .fakes import FakeEngine

pytestmark = pytest.mark.timeout(300)


def _env(tmp: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NARRATOR_ENGINE="espeak",
        NARRATOR_CACHE_DIR=str(cache),
        NARRATOR_LOCK_DIR=str(tmp / "locks"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        PYTHONPATH=str(REPO),
    )
    return env


def chapters(path: Path) -> list[tuple[str, int, int]]:
    """(title, start ms, end ms) of each CHAP frame, as mutagen reads them."""
    tags = ID3(path)
    found = [
        (str(c.sub_frames["TIT2"].text[0]), c.start_time, c.end_time)
        for c in tags.getall("CHAP")
    ]
    return sorted(found, key=lambda c: c[1])


# -- registrations -----------------------------------------------------------------


def test_a_running_build_is_seen_and_a_dead_one_is_removed(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    assert cache.running_builds() == []
    with cache.running():
        (alive,) = cache.running_builds()
        assert alive.pid == os.getpid() and alive.start <= time.time()
    assert cache.running_builds() == []
    assert list((tmp_path / "cache" / "builds").iterdir()) == []

    # A build killed with -9 leaves its registration, unlocked: dead.
    code = (
        "import sys, time; from pathlib import Path; from narrator.cache import Cache\n"
        "with Cache(Path(sys.argv[1])).running():\n"
        "    print('registered', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(cache.root)],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, cache.root),
    )
    assert proc.stdout is not None and proc.stdout.readline() == "registered\n"
    assert [b.pid for b in cache.running_builds()] == [proc.pid]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list((cache.root / "builds").iterdir())) == 1
    assert cache.running_builds() == []
    assert list((cache.root / "builds").iterdir()) == []


def test_a_registration_with_a_live_pid_but_no_lock_is_dead(tmp_path: Path) -> None:
    # The pid is reused (here: ours), the lock is not: liveness is the lock.
    folder = tmp_path / "cache" / "builds"
    folder.mkdir(parents=True)
    (folder / f"{os.getpid()}-1-abc.json").write_text(
        f'{{"pid": {os.getpid()}, "start": 1.0, "host": "here"}}'
    )
    assert Cache(tmp_path / "cache").running_builds() == []
    assert list(folder.iterdir()) == []


def test_prune_spares_what_a_running_build_uses_and_says_so(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    old = cache.put("clips", "aa" * 32, b"1" * 1000)
    past = time.time() - 3600
    os.utime(old.path, (past, past))
    stale_tmp = cache.tmp_dir() / "left-by-a-killed-build.part"
    stale_tmp.write_bytes(b"x")
    os.utime(stale_tmp, (past, past))
    with cache.running():
        used = cache.put("segments", "bb" * 32, b"2" * 1000)
        in_flight = cache.tmp_dir() / "clip-in-flight.pcm"
        in_flight.write_bytes(b"pcm")
        result = cache.prune(everything=True)
        assert (result.removed, result.kept, result.builds) == (1, 1, 1)
        assert result.kept_bytes == used.path.stat().st_size
        assert in_flight.exists() and not stale_tmp.exists()
        assert cache.get("segments", "bb" * 32) is not None
        said = CliRunner(mix_stderr=False).invoke(
            main, ["cache", "prune", "--all", "--cache-dir", str(cache.root)]
        )
        assert said.exit_code == 0, said.stderr
        assert said.stdout.splitlines() == [
            "removed 0 entries, 0.0 MB",
            "kept 1 entries (0.0 MB) in use by 1 running build",
        ]
    # The build is over: everything goes.
    assert cache.prune(everything=True).removed == 1
    assert not in_flight.exists()


# -- entries that vanish or turn into folders ------------------------------------


def _settings(tmp_path: Path, name: str) -> Settings:
    return Settings(
        output_path=tmp_path / "out" / f"{name}.mp3",
        cache_dir=tmp_path / "cache",
        lock_dir=tmp_path / "locks",
        jobs=1,
        title="Résumé",
    )


def test_entries_replaced_by_folders_or_deleted_are_made_again(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    first = build(SEED, _settings(tmp_path, "first"), engine=engine)
    calls = engine.call_count
    cache = tmp_path / "cache"
    entries = sorted((cache / "segments").glob("*/*.nrc"))
    clips = sorted((cache / "clips").glob("*/*.nrc"))
    # Every segment gone (half of them folders now), two clips too.
    for n, path in enumerate([*entries, clips[0], clips[1]]):
        path.unlink()
        if n % 2 == 0:
            path.mkdir()
            (path / "inside").write_bytes(b"not an entry")
    again = build(SEED, _settings(tmp_path, "again"), engine=engine)
    assert again.sections_synthesized == 2
    assert engine.call_count == calls + 2
    assert again.duration_s == first.duration_s
    assert chapters(again.output) == chapters(first.output)
    assert all(p.is_file() for p in (*entries, *clips))


class _PruningEngine(FakeEngine):
    """A fake voice that, speaking the last section, clears the cache's entries."""

    def __init__(self, cache: Path) -> None:
        super().__init__()
        self.cache = cache
        self.running: list[int] = []  # running builds seen at each call

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        self.running.append(len(Cache(self.cache).running_builds()))
        if section is not None and section.title == SEED_TITLES[-1]:
            shutil.rmtree(self.cache / "segments", ignore_errors=True)
            for path in (self.cache / "clips").glob("*/*.nrc"):
                path.unlink()
                path.mkdir()
        return super().synthesize(texts, section=section)


def test_entries_deleted_mid_build_are_made_again_before_the_splice(
    tmp_path: Path,
) -> None:
    reference = build(SEED, _settings(tmp_path, "reference"), engine=FakeEngine())
    shutil.rmtree(tmp_path / "cache")
    engine = _PruningEngine(tmp_path / "cache")
    result = build(SEED, _settings(tmp_path, "pruned"), engine=engine)
    assert result.duration_s == reference.duration_s
    assert chapters(result.output) == chapters(reference.output)
    assert set(engine.running) == {1}  # the build was registered throughout
    assert Cache(tmp_path / "cache").running_builds() == []


def test_a_batch_is_registered_while_it_runs(tmp_path: Path) -> None:
    engine = _PruningEngine(tmp_path / "cache")  # no seed title here: no pruning
    result = run_batch(
        DATA / "batch", _settings(tmp_path, "x"), outdir=tmp_path / "out", engine=engine
    )
    assert len(result.episodes) == 3 and all(e.error is None for e in result.episodes)
    assert engine.running and set(engine.running) == {1}
    assert Cache(tmp_path / "cache").running_builds() == []


# -- a real build while the user prunes -----------------------------------------


def test_prune_in_a_loop_against_a_running_build(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "pruned.mp3"
    args = [sys.executable, "-m", "narrator", "build", str(SEED), "--title", "Résumé"]
    proc = subprocess.Popen(
        [*args, "-o", str(out)],
        env={**_env(tmp_path, cache), "NARRATOR_JOBS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prunes = kept = 0
    said: list[str] = []
    stop = threading.Event()

    def cli_prunes() -> None:  # what a user types, a few times
        while not stop.is_set():
            run = subprocess.run(
                [sys.executable, "-m", "narrator", "cache", "prune", "--all"],
                env=_env(tmp_path, cache),
                capture_output=True,
                text=True,
            )
            said.append(run.stdout)
            stop.wait(0.5)

    user = threading.Thread(target=cli_prunes)
    user.start()
    try:
        while proc.poll() is None:
            result = Cache(cache).prune(everything=True)
            prunes += 1
            kept = max(kept, result.kept)
            time.sleep(0.01)
    finally:
        stop.set()
        user.join()
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert prunes > 50 and kept > 0
    assert any("in use by 1 running build" in s for s in said), said

    # The same document built again, in a cache nobody touches.
    reference = tmp_path / "reference.mp3"
    subprocess.run(
        [*args, "-o", str(reference)],
        # One job, as above: libespeak-ng carries state from one call to the
        # next, so its audio depends on the order the sections are spoken in.
        env={**_env(tmp_path, tmp_path / "cache-ref"), "NARRATOR_JOBS": "1"},
        check=True,
        capture_output=True,
    )
    assert [c[0] for c in chapters(out)] == SEED_TITLES
    assert chapters(out) == chapters(reference)
    assert MP3(out).info.length == pytest.approx(MP3(reference).info.length, abs=1e-6)
    assert MP3(out).info.length > 60


def test_an_entry_is_stored_over_a_folder_in_its_place(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    entry = cache.put("segments", "cc" * 32, b"first")
    entry.path.unlink()
    entry.path.mkdir()
    (entry.path / "inside").write_bytes(b"x")
    assert cache.put("segments", "cc" * 32, b"second").path.is_file()
    assert cache.get_bytes("segments", "cc" * 32) == b"second"
    entry.path.unlink()
    assert cache.get_bytes("segments", "cc" * 32) is None
