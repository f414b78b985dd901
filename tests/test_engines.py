"""The engine registry: an engine's normalization profile is declared once (its
module's PROFILE), so what `sections --spoken` previews is what a build sends.
Nothing leaves this machine: every engine is created offline."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import main
from narrator.engines import BUILTIN, get_engine, profile_of
from narrator.engines.base import SectionRef
from narrator.engines.piper import PiperEngine
from narrator.model import Audio

from .test_piper import make_voice

# The gTTS and espeak profiles read this name differently («OpenAI et ChatGPT»
# against «Opeune a i et Tchatte gé pé té»): a preview with the wrong profile
# shows the wrong text.
DOCUMENT = """# Essai

## OpenAI et ChatGPT

OpenAI et ChatGPT ont 3 500 utilisateurs en 2023. Le 1er mai, M. Dupont parle.

## Second

Encore une phrase, courte.
"""


@pytest.fixture(scope="module")
def tiny_voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_voice(tmp_path_factory.mktemp("voice"))


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("NARRATOR_DATA_DIR", str(path))
    return path


def cli(*args: str):
    return CliRunner(mix_stderr=False).invoke(main, list(args))


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_engines_profile_of_is_the_created_engines_profile(
    name: str, tiny_voice: Path
) -> None:
    options = {"voice": str(tiny_voice)} if name == "piper" else {}
    engine = get_engine(name, options)
    assert profile_of(name) == engine.profile


def test_engines_piper_speaks_with_the_espeak_profile() -> None:
    assert profile_of("piper") == "espeak" != profile_of("gtts")


def test_engines_sections_spoken_shows_what_a_piper_build_sends(
    tiny_voice: Path,
    tmp_path: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(DOCUMENT, encoding="utf-8")
    preview = cli("sections", str(doc), "--spoken", "--engine", "piper", "--json")
    assert preview.exit_code == 0, preview.stderr
    shown = {row["index"] - 1: row["utterances"] for row in json.loads(preview.stdout)}
    assert shown[0][0] == "Opeune a i et Tchatte gé pé té"

    sent: dict[int, list[str]] = {}
    lock = threading.Lock()
    synthesize = PiperEngine.synthesize

    def recording(
        self: PiperEngine, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        assert section is not None
        with lock:
            sent.setdefault(section.index, []).extend(texts)
        return synthesize(self, texts, section=section)

    monkeypatch.setattr(PiperEngine, "synthesize", recording)
    out = tmp_path / "ep.mp3"
    build = cli(
        "build", str(doc), "-o", str(out), "--engine", "piper",
        "--voice", str(tiny_voice), "--json",
    )  # fmt: skip
    assert build.exit_code == 0, build.stderr
    assert json.loads(build.stdout)["sections_synthesized"] == len(shown)
    assert sent == shown
