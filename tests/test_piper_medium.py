"""A voice of a real medium voice's size (scripts/make_test_voice.py --size
medium, cached under the user cache) in narrator's Piper engine: the VITS
graph loads, speaks a sentence at a plausible pace, in bounded memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

SENTENCE = "Bonjour et bienvenue. Voici un court essai de la voix, pour l'entendre."


@pytest.fixture(scope="module")
def medium_voice() -> Path:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from make_test_voice import cached_medium_voice
    finally:
        sys.path.pop(0)
    return cached_medium_voice()


def test_medium_voice_has_a_medium_voice_size_and_interface(medium_voice: Path) -> None:
    import onnxruntime as ort

    # ~63 MB of float32 weights in a published medium voice: within 25 %.
    assert 47e6 <= medium_voice.stat().st_size <= 79e6
    session = ort.InferenceSession(
        str(medium_voice), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == [
        "input",
        "input_lengths",
        "scales",
    ]
    assert [o.name for o in session.get_outputs()] == ["output"]
    config = json.loads(Path(f"{medium_voice}.json").read_text(encoding="utf-8"))
    assert config["audio"]["sample_rate"] == 22050
    assert config["phoneme_id_map"]["ɛ"] and config["espeak"]["voice"] == "fr"


def test_medium_voice_speaks_a_sentence_in_narrators_engine(medium_voice: Path) -> None:
    from narrator.engines.piper import PiperEngine

    engine = PiperEngine(medium_voice, threads=2)
    (audio,) = engine.synthesize([SENTENCE])
    with wave.open(io.BytesIO(audio.data)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pcm = np.frombuffer(frames, dtype="<i2")
    seconds = len(pcm) / rate
    assert rate == 22050
    # 70 characters: a human says them in 3 to 8 s.
    assert 2.5 <= seconds <= 9.0, seconds
    assert np.abs(pcm).max() > 1000  # sound, not silence


def test_medium_voice_say_peak_rss_is_bounded(
    medium_voice: Path, tmp_path: Path
) -> None:
    code = (
        "import resource, subprocess, sys;"
        "p = subprocess.run(sys.argv[1:], capture_output=True);"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = tmp_path / "say.mp3"
    cmd = [
        sys.executable,
        "-c",
        code,
        sys.executable,
        "-m",
        "narrator",
        "say",
        SENTENCE,
        "--engine",
        "piper",
        "--voice",
        str(medium_voice),
        "-o",
        str(out),
    ]
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    rc, rss_kib = (int(v) for v in done.stdout.split())
    assert rc == 0 and out.stat().st_size > 10_000
    assert rss_kib / 1024 < 400, rss_kib
