"""A voice of a real medium voice's size (scripts/make_test_voice.py --size
medium, cached under the user cache) in narrator's Piper engine: the VITS
graph loads, speaks a sentence at a plausible pace, in bounded memory whatever
the sentence's length; cut at its decoder, it gives the uncut voice's audio."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow

SENTENCE = "Bonjour et bienvenue. Voici un court essai de la voix, pour l'entendre."
LONG_SENTENCE = (
    "Dans cette longue phrase, qui sert à mesurer la mémoire d'une seule "
    "inférence, nous parlons de la production des podcasts, des voix de "
    "synthèse, des chapitres, des couvertures, des flux de publication, des "
    "transcriptions et des outils qui les lisent, sans jamais nous arrêter "
    "avant la fin de la phrase, qui arrive enfin maintenant."
)


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


@pytest.mark.parametrize("text", [SENTENCE, LONG_SENTENCE], ids=["short", "long"])
def test_medium_voice_say_peak_rss_is_bounded(
    medium_voice: Path, tmp_path: Path, text: str
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
        text,
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


def _feeds(count: int, seed: int = 3) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(seed).integers(1, 100, size=(1, count))
    return {
        "input": ids.astype(np.int64),
        "input_lengths": np.array([count], dtype=np.int64),
        # No noise: the same ids give the same audio, cut or whole.
        "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32),
    }


def _pcm(audio: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(audio.reshape(-1), -1.0, 1.0) * 32767).astype(np.int16)


def test_decoder_windows_give_the_uncut_voices_audio_sample_for_sample(
    medium_voice: Path, tmp_path: Path
) -> None:
    import onnxruntime as ort

    from narrator.engines.piper_session import DECODER_FRAMES, VoiceSession

    session = VoiceSession(medium_voice, 1, sha256="a" * 64, store=tmp_path)
    assert session.windowed
    feeds = _feeds(700)  # ~2,400 latent frames: many windows
    cut = session.infer(feeds)
    whole = ort.InferenceSession(
        str(medium_voice), providers=["CPUExecutionProvider"]
    ).run(None, feeds)[0]
    assert cut.shape == whole.shape
    assert cut.size > 4 * DECODER_FRAMES * 256
    assert np.array_equal(_pcm(cut), _pcm(whole))
    # The decoder ran as two stages, each windowed with the reach measured
    # on the voice: the first stage ~a dozen latent frames, 8 samples each
    # (its output, 128 channels); the rest, 32 samples per input step, reaches
    # about one latent frame's worth of those steps, not a dozen frames.
    (head_hop, head_context), (tail_hop, tail_context) = session._measured_reaches({})
    assert head_hop == 8 and 4 <= head_context <= 40
    assert tail_hop == 32 and 2 <= tail_context <= 24


def test_a_decoder_that_cannot_be_cut_again_runs_as_one_windowed_stage(
    medium_voice: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A voice whose decoder has a single upsampling (or whose later stages
    read more than the first's output) is not cut in two stages: its decoder
    runs whole-stage windows of DECODER_FRAMES, still the uncut voice's audio."""
    import onnxruntime as ort

    from narrator.engines import piper_graph
    from narrator.engines.piper_session import VoiceSession

    monkeypatch.setattr(piper_graph, "_split_decoder", lambda decoder, latent: None)
    session = VoiceSession(medium_voice, 1, sha256="d" * 64, store=tmp_path)
    assert session.windowed
    feeds = _feeds(400, seed=5)
    cut = session.infer(feeds)
    whole = ort.InferenceSession(
        str(medium_voice), providers=["CPUExecutionProvider"]
    ).run(None, feeds)[0]
    assert np.array_equal(_pcm(cut), _pcm(whole))
    [(hop, context)] = session._measured_reaches({})
    assert hop == 256 and 4 <= context <= 40
    folder = next(tmp_path.iterdir())
    assert not (folder / "tail.onnx").exists()
    assert json.loads((folder / "parts.json").read_text("utf-8"))["tail_input"] == ""
    # Kept as one stage, it loads as one stage in the next process.
    again = VoiceSession(medium_voice, 1, sha256="d" * 64, store=tmp_path)
    assert np.array_equal(_pcm(again.infer(feeds)), _pcm(cut))


def test_the_cut_voice_is_kept_and_a_damaged_one_cut_again(
    medium_voice: Path, tmp_path: Path
) -> None:
    from narrator.engines.piper_session import PARTS_VERSION, VoiceSession

    first = VoiceSession(medium_voice, 1, sha256="b" * 64, store=tmp_path)
    folder = tmp_path / f"{'b' * 40}.v{PARTS_VERSION}"
    meta = json.loads((folder / "parts.json").read_text(encoding="utf-8"))
    assert meta["cut"] and meta["channels"] == 192
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    # The three parts hold the whole voice's weights between them, once.
    kept = sizes["text.onnx"] + sizes["decoder.onnx"] + sizes["tail.onnx"]
    assert 0.95 < kept / medium_voice.stat().st_size < 1.05
    assert meta["tail_input"] and sizes["tail.onnx"] < sizes["decoder.onnx"]
    feeds = _feeds(120)
    long_ago = time.time() - 90 * 86400
    os.utime(folder / "parts.json", (long_ago, long_ago))
    again = VoiceSession(medium_voice, 1, sha256="b" * 64, store=tmp_path)
    assert np.array_equal(_pcm(first.infer(feeds)), _pcm(again.infer(feeds)))
    # Loading it marks its use: `narrator cache prune --older-than` goes by that.
    assert (folder / "parts.json").stat().st_mtime > long_ago + 80 * 86400
    (folder / "parts.json").write_text("{", encoding="utf-8")
    damaged = VoiceSession(medium_voice, 1, sha256="b" * 64, store=tmp_path)
    assert damaged.windowed
    assert json.loads((folder / "parts.json").read_text(encoding="utf-8"))["cut"]
    assert np.array_equal(_pcm(first.infer(feeds)), _pcm(damaged.infer(feeds)))
    # Halves that exist but do not load (truncated, or pruned while read): cut
    # again, not run whole (which would bring back memory that grows).
    (folder / "text.onnx").write_bytes(b"not a model")
    broken = VoiceSession(medium_voice, 1, sha256="b" * 64, store=tmp_path)
    assert broken.windowed
    assert (folder / "text.onnx").stat().st_size == sizes["text.onnx"]  # kept again
    assert np.array_equal(_pcm(first.infer(feeds)), _pcm(broken.infer(feeds)))
