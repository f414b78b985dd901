"""--engine edge through the whole build, against the local fake of the service
(150 ms before the first audio, then 10x real time): the reference summary,
a flaky service, a dead one, bad options. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import webvtt
from click.testing import CliRunner
from edge_tts.drm import DRM

from narrator.cli import main
from narrator.container.tags import TXXX_ENGINE, read_extra
from narrator.ffmpeg import ffmpeg_exe

from .conftest import SEED_TITLES, decode_stats, ffmpeg_chapters
from .fake_edge import FakeEdge
from .test_pipeline import edit_section

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keep_drm_clock(monkeypatch):
    monkeypatch.setattr(DRM, "clock_skew_seconds", 0.0)


def cli(monkeypatch, url: str, *args: str):
    monkeypatch.setenv("NARRATOR_EDGE_URL", url)
    monkeypatch.delenv("NARRATOR_ENGINE", raising=False)
    return CliRunner(mix_stderr=False).invoke(main, [*args, "--engine", "edge"])


@pytest.fixture
def doc(tmp_path: Path, seed_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    shutil.copy(seed_path, path)
    return path


def loudness_at(path: Path, rate: int = 8000) -> np.ndarray:
    """The decoded episode as float samples at ``rate`` Hz."""
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate)]
        + ["-f", "s16le", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64) / 32768


def test_edge_builds_the_seed_with_timed_sentence_cues(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    with FakeEdge() as fake:  # the service's pace
        result = cli(monkeypatch, fake.url, "build", str(doc), "-o", str(out), "--json")
        texts = fake.texts
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "edge"
    assert [c["title"] for c in report["chapters"]] == SEED_TITLES
    assert [c["title"] for c in ffmpeg_chapters(out)] == SEED_TITLES
    assert decode_stats(out)["returncode"] == 0
    assert read_extra(out)[TXXX_ENGINE] == "edge"
    assert all(title in texts for title in SEED_TITLES)
    # One cue per sentence, in order, each over the fake's tone bursts.
    captions = list(webvtt.read(str(out.with_suffix(".vtt"))))
    assert len(captions) > 2 * len(SEED_TITLES)
    starts = [c.start_in_seconds for c in captions]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    samples = loudness_at(out)
    duration = len(samples) / 8000
    assert captions[-1].end_in_seconds <= duration + 0.05
    for caption in captions:
        assert caption.start_in_seconds < caption.end_in_seconds
        window = samples[
            int(caption.start_in_seconds * 8000) : int(caption.end_in_seconds * 8000)
        ]
        assert np.sqrt(np.mean(window**2)) > 0.02, caption.text
    # The pauses between chapters are silent: cues sit on the speech.
    for chapter in report["chapters"][1:]:
        gap = samples[
            int((chapter["start_s"] - 0.25) * 8000) : int(chapter["start_s"] * 8000)
        ]
        assert np.sqrt(np.mean(gap**2)) < 0.005


def test_edge_flaky_service_still_builds_the_seed(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    kinds = ("500", "503", "429", "close", "throttle", "truncate", "garbage")
    with FakeEdge(failure_rate=0.3, failure_kinds=kinds, seed=3) as fake:
        result = cli(monkeypatch, fake.url, "build", str(doc), "-o", str(out), "--json")
        failures = sum(1 for s in fake.seen if s.action != "ok")
    assert result.exit_code == 0, result.stderr
    assert [c["title"] for c in json.loads(result.stdout)["chapters"]] == SEED_TITLES
    assert failures > 5  # the fake really failed some requests
    assert [c["title"] for c in ffmpeg_chapters(out)] == SEED_TITLES


def test_edge_dead_service_fails_cleanly_and_keeps_previous_output(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    with FakeEdge(first_audio_s=0.0, speed=40.0) as fake:
        first = cli(monkeypatch, fake.url, "build", str(doc), "-o", str(out))
    assert first.exit_code == 0, first.stderr
    before = out.read_bytes()
    edit_section(doc, 4, "ressources", "moyens")
    with FakeEdge(default="503") as fake:
        started = time.monotonic()
        result = cli(monkeypatch, fake.url, "build", str(doc), "-o", str(out))
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "La question des ressources et du calcul" in result.stderr
    assert "503" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert out.read_bytes() == before
    assert not list(out.parent.glob(".*.tmp"))
    assert elapsed < 120  # a hang guard: the circuit breaker stops the build


def test_edge_unreachable_service_fails_with_one_line(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    result = cli(
        monkeypatch, "ws://127.0.0.1:9/edge/v1?x=1", "build", str(doc), "-o", str(out)
    )
    assert result.exit_code == 1
    assert "cannot reach 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--voice", "en-US-AriaNeural", "not a French Edge voice"),
        ("--rate", "+200%", "out of range"),
        ("--rate", "vite", "not a percentage"),
    ],
)
def test_edge_bad_voice_or_rate_is_bad_input(
    monkeypatch, doc, tmp_path, cache_dir, option, value, message
) -> None:
    with FakeEdge() as fake:
        result = cli(
            monkeypatch,
            fake.url,
            "build",
            str(doc),
            "-o",
            str(tmp_path / "e.mp3"),
            option,
            value,
        )
        assert fake.seen == []
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr


def test_edge_rate_and_voice_reach_the_service(
    monkeypatch, tmp_path, cache_dir
) -> None:
    with FakeEdge(first_audio_s=0.0, speed=40.0) as fake:
        result = cli(
            monkeypatch,
            fake.url,
            "say",
            "Bonjour à tous.",
            "-o",
            str(tmp_path / "s.mp3"),
            "--voice",
            "fr-CA-SylvieNeural",
            "--rate",
            "-10",
        )
        seen = [s for s in fake.seen if s.text]
    assert result.exit_code == 0, result.stderr
    assert seen and all(s.rate == "-10%" for s in seen)
    assert all("(fr-CA, SylvieNeural)" in s.voice for s in seen)
