"""Files made by an older narrator are reused by today's code.

``tests/data/compat`` holds an episode and its caches written by commit 3500a7e,
before the code moved into packages (see its README). A user who upgrades keeps
their output and cache: the same build must be "up to date", and a forced build
must take every clip from the cache, synthesizing nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main

from .conftest import DATA

COMPAT = DATA / "compat"


@pytest.fixture
def old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "compat"
    shutil.copytree(COMPAT, folder)
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(folder / "cache"))
    monkeypatch.chdir(folder)
    return folder


def _build(*extra: str) -> dict[str, object]:
    args = ["build", "court.md", "-o", "out/court.mp3", "--engine", "espeak"]
    args += ["--preset", "small", "--cover", "cover.jpg", "--json", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_an_old_episode_is_up_to_date(old_files: Path) -> None:
    before = (old_files / "out" / "court.mp3").read_bytes()
    report = _build()
    assert report["up_to_date"] is True
    assert report["sections_synthesized"] == 0
    assert (old_files / "out" / "court.mp3").read_bytes() == before


def test_an_old_clip_cache_is_reused(old_files: Path) -> None:
    shutil.rmtree(old_files / "cache" / "segments")
    shutil.rmtree(old_files / "cache" / "speech")
    report = _build("--force")
    assert report["up_to_date"] is False
    assert report["sections_synthesized"] == 0
    assert report["sections_reused"] == 2
    chapters = report["chapters"]
    assert isinstance(chapters, list)
    assert [c["title"] for c in chapters] == ["Ouverture", "Suite"]
