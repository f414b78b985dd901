"""gTTS through the whole build, against a local fake endpoint: flaky and dead
endpoints, `--engine auto` and engine pinning. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.container.tags import TXXX_ENGINE, read_extra

from .conftest import SEED_TITLES, decode_stats, ffmpeg_chapters
from .fake_google import FakeGoogle
from .test_pipeline import edit_section

pytestmark = pytest.mark.slow


def cli(monkeypatch, base_url: str, *args: str, engine: str | None = None):
    monkeypatch.setenv("NARRATOR_GTTS_BASE_URL", base_url)
    if engine is None:
        monkeypatch.delenv("NARRATOR_ENGINE", raising=False)
    else:
        monkeypatch.setenv("NARRATOR_ENGINE", engine)
    return CliRunner(mix_stderr=False).invoke(main, list(args))


@pytest.fixture
def doc(tmp_path: Path, seed_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    shutil.copy(seed_path, path)
    return path


def test_flaky_endpoint_still_builds_the_seed(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    with FakeGoogle(
        failure_rate=0.3, failure_kinds=("429", "503", "reset"), seed=3
    ) as fake:
        result = cli(
            monkeypatch,
            fake.base_url,
            "build",
            str(doc),
            "-o",
            str(out),
            "--json",
            engine="gtts",
        )
        failures = sum(1 for s in fake.seen if s.action != "ok")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "gtts"
    assert [c["title"] for c in report["chapters"]] == SEED_TITLES
    assert failures > 5  # the fake really failed some requests
    assert [c["title"] for c in ffmpeg_chapters(out)] == SEED_TITLES
    assert decode_stats(out)["returncode"] == 0
    assert read_extra(out)[TXXX_ENGINE] == "gtts"


def test_dead_endpoint_fails_cleanly_and_keeps_previous_output(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    with FakeGoogle() as fake:
        first = cli(
            monkeypatch, fake.base_url, "build", str(doc), "-o", str(out), engine="gtts"
        )
    assert first.exit_code == 0, first.stderr
    before = out.read_bytes()
    edit_section(doc, 4, "ressources", "moyens")
    with FakeGoogle(default="503") as fake:
        started = time.monotonic()
        result = cli(
            monkeypatch, fake.base_url, "build", str(doc), "-o", str(out), engine="gtts"
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "La question des ressources et du calcul" in result.stderr
    assert "503" in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == before
    assert not list(out.parent.glob(".*.tmp"))
    # Bounded: the circuit breaker stops the build long before every piece
    # exhausts its retries (a hang guard, not a speed claim).
    assert elapsed < 120


def test_auto_picks_gtts_when_it_answers_and_pins_it(
    monkeypatch, doc, tmp_path, cache_dir
):
    out = tmp_path / "ep.mp3"
    with FakeGoogle() as fake:
        result = cli(
            monkeypatch, fake.base_url, "build", str(doc), "-o", str(out), "--json"
        )
    assert result.exit_code == 0, result.stderr
    assert "engine auto: gtts" in result.stderr
    assert json.loads(result.stdout)["engine"] == "gtts"
    # Offline now: the episode was built with gtts, so auto refuses to mix.
    edit_section(doc, 4, "ressources", "moyens")
    before = out.read_bytes()
    result = cli(monkeypatch, "http://127.0.0.1:9", "build", str(doc), "-o", str(out))
    assert result.exit_code == 1
    assert "built with gtts" in result.stderr and "--engine" in result.stderr
    assert out.read_bytes() == before
    # Switching on purpose works, and the new engine is recorded.
    result = cli(
        monkeypatch,
        "http://127.0.0.1:9",
        "build",
        str(doc),
        "-o",
        str(out),
        "--json",
        engine="espeak",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["sections_synthesized"] == 11
    assert read_extra(out)[TXXX_ENGINE] == "espeak"


def test_auto_offline_uses_espeak_and_keeps_it_without_probing(
    monkeypatch, doc, tmp_path, cache_dir
) -> None:
    out = tmp_path / "ep.mp3"
    result = cli(
        monkeypatch, "http://127.0.0.1:9", "build", str(doc), "-o", str(out), "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert "engine auto: espeak" in result.stderr
    assert json.loads(result.stdout)["engine"] == "espeak"
    with FakeGoogle() as fake:
        result = cli(
            monkeypatch, fake.base_url, "build", str(doc), "-o", str(out), "--json"
        )
        assert fake.seen == []  # pinned to espeak: no probe at all
    assert result.exit_code == 0
    assert json.loads(result.stdout)["engine"] == "espeak"
