"""The Piper engine with a tiny voice that scripts/make_test_voice.py builds: the
real config reading, espeak-ng phonemization, onnxruntime inference and audio
assembly, and whole builds of the reference summary. Nothing leaves this
machine."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from narrator.build import voices
from narrator.cli import main
from narrator.container.tags import TXXX_ENGINE, read_extra
from narrator.engines import get_engine, voicestore
from narrator.engines.base import SectionRef
from narrator.engines.phonemes import (
    Clause,
    chunk_sentences,
    phoneme_ids,
    sentence_phonemes,
)
from narrator.engines.piper import (
    PiperEngine,
    inference_phonemes,
    phonemize,
    rate_to_length_scale,
)
from narrator.engines.voicestore import read_config
from narrator.errors import EngineUnavailable, InputError
from narrator.ffmpeg import ffmpeg_exe

from .conftest import REPO, SEED_TITLES, decode_stats, ffmpeg_chapters

SCRIPT = REPO / "scripts" / "make_test_voice.py"
SAMPLES_PER_ID = 80  # the script's defaults: 5 ms per id at 16 kHz
SECTION = SectionRef(0, "test")


def make_voice(out_dir: Path, *args: str) -> Path:
    """Run the script as a user would; it prints the model path."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(out_dir), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    model = Path(done.stdout.strip())
    assert model.is_file() and Path(f"{model}.json").is_file()
    return model


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("voice")
    make_voice(out)
    make_voice(out, "--name", "duo", "--speakers", "2")
    return out


@pytest.fixture
def tiny_voice(voice_dir: Path, tmp_path: Path) -> Path:
    """A private copy, so a test may change it."""
    dest = tmp_path / "voice"
    shutil.copytree(voice_dir, dest)
    return dest / "fr_FR-test-tiny.onnx"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("NARRATOR_DATA_DIR", str(path))
    return path


def samples(audio_bytes: bytes) -> tuple[int, int]:
    with wave.open(io.BytesIO(audio_bytes)) as w:
        return w.getnframes(), w.getframerate()


def expected_ids(text: str, model: Path) -> list[int]:
    config = read_config(Path(f"{model}.json"))
    chunks = chunk_sentences(phonemize(text, "fr"))
    return [len(phoneme_ids(c.phonemes, config.phoneme_id_map)[0]) for c in chunks]


# -- phonemes and ids ---------------------------------------------------------


def test_piper_phonemize_keeps_clause_punctuation_and_sentences() -> None:
    sentences = phonemize("Bonjour, le monde. Ça va ?", "fr")
    assert [[c.terminator for c in s] for s in sentences] == [[",", "."], ["?"]]
    assert all(c.phonemes and "(" not in c.phonemes for s in sentences for c in s)
    # No punctuation at the end of the text: no terminator is invented.
    assert phonemize("Résumé bref", "fr")[0][-1].terminator == ""


def test_piper_language_switch_marks_are_dropped() -> None:
    clauses = phonemize("un week-end à New York", "fr")[0]
    assert "(" not in clauses[0].phonemes and ")" not in clauses[0].phonemes


def test_piper_phoneme_ids_intersperse_pad_between_bos_and_eos() -> None:
    id_map = {"_": [0], "^": [1], "$": [2], "a": [14], "b": [15], " ": [3]}
    ids, missing = phoneme_ids(["a", " ", "b", "ʒ"], id_map)
    assert ids == [1, 0, 14, 0, 3, 0, 15, 0, 2]
    assert missing == {"ʒ"}


def test_piper_sentence_phonemes_are_decomposed_code_points() -> None:
    phonemes = sentence_phonemes([Clause("bɔ̃", ","), Clause("ʒuʁ", ".")])
    assert phonemes == ["b", "ɔ", "\u0303", ",", " ", "ʒ", "u", "ʁ", "."]


def test_piper_long_sentence_split_at_clauses_then_words() -> None:
    text = "Le développement des conversations, " * 12 + "enfin."
    sentences = phonemize(text, "fr")
    chunks = chunk_sentences(sentences, max_phonemes=60)
    assert len(chunks) > 3
    assert all(len(c.phonemes) <= 60 for c in chunks)
    assert chunks[-1].brk == "end"
    joined = "".join("".join(c.phonemes) for c in chunks).replace(" ", "")
    whole = "".join("".join(sentence_phonemes(s)) for s in sentences)
    assert joined == whole.replace(" ", "")
    # One clause longer than the limit is cut between words.
    words = chunk_sentences([[Clause("abc " * 40, ".")]], max_phonemes=30)
    assert all(len(c.phonemes) <= 30 for c in words)
    assert {c.brk for c in words[:-1]} == {"word"}


# -- the engine with the tiny voice --------------------------------------------


def test_piper_audio_length_follows_the_phoneme_ids(tiny_voice: Path) -> None:
    engine = get_engine("piper", {"voice": str(tiny_voice)})
    text = "Le modèle non lucratif et la vision d'Open AI."
    [audio] = engine.synthesize([text], section=SECTION)
    frames, rate = samples(audio.data)
    assert rate == 16000 and audio.format == "wav" and audio.words == ()
    [n_ids] = expected_ids(text, tiny_voice)
    # The tone starts at a zero crossing: trimming may take a sample or two.
    assert n_ids * SAMPLES_PER_ID - 4 <= frames <= n_ids * SAMPLES_PER_ID


def test_piper_rate_maps_to_length_scale(tiny_voice: Path) -> None:
    text = "La question des ressources et du calcul."
    base = PiperEngine(tiny_voice)
    faster = PiperEngine(tiny_voice, rate="+100%")
    slower = PiperEngine(tiny_voice, rate="82")  # 165 / 82.5 wpm = twice as long
    frames = {
        name: samples(e.synthesize([text], section=SECTION)[0].data)[0]
        for name, e in (("base", base), ("faster", faster), ("slower", slower))
    }
    assert abs(frames["faster"] * 2 - frames["base"]) <= 8
    assert frames["slower"] > 1.9 * frames["base"]
    assert rate_to_length_scale("330", 1.0) == pytest.approx(0.5)
    assert rate_to_length_scale("-50%", 1.0) == pytest.approx(2.0)
    assert base.identity()["length_scale"] != faster.identity()["length_scale"]
    for bad in ("20", "+300%", "fast"):
        with pytest.raises(InputError):
            PiperEngine(tiny_voice, rate=bad)


def test_piper_several_utterances_and_silent_ones(tiny_voice: Path) -> None:
    engine = PiperEngine(tiny_voice)
    audios = engine.synthesize(["Résumé bref", "Oui.", "…"], section=SECTION)
    assert len(audios) == 3
    first, second = samples(audios[0].data)[0], samples(audios[1].data)[0]
    assert first > second > 0


def test_piper_long_utterance_is_split_into_several_inferences(
    tiny_voice: Path,
) -> None:
    text = "Le développement des conversations, " * 10 + "enfin."
    whole = PiperEngine(tiny_voice)
    split = PiperEngine(tiny_voice, max_phonemes=60)
    one = samples(whole.synthesize([text], section=SECTION)[0].data)[0]
    many = samples(split.synthesize([text], section=SECTION)[0].data)[0]
    # Each extra inference brings its own BOS/EOS/PAD ids and an 80 ms gap.
    assert many > one


def test_piper_multi_speaker_voice_takes_a_speaker(voice_dir: Path) -> None:
    model = voice_dir / "duo.onnx"
    first = PiperEngine(model, speaker="speaker0")
    second = get_engine("piper", {"voice": f"{model}:speaker1"})
    text = "Bonjour."
    a = first.synthesize([text], section=SECTION)[0].data
    b = second.synthesize([text], section=SECTION)[0].data
    assert samples(a)[0] == samples(b)[0] and a != b
    assert second.identity()["speaker"] == "1"
    with pytest.raises(InputError, match="speaker0, speaker1"):
        PiperEngine(model, speaker="nobody")


def test_piper_multi_speaker_voice_speaks_with_its_default_speaker(
    voice_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(voice_dir, tmp_path / "v")
    model = tmp_path / "v" / "duo.onnx"
    config_path = Path(f"{model}.json")
    config = json.loads(config_path.read_text("utf-8"))
    config["default_speaker_id"] = 1  # top level, as piper-tts reads it
    config_path.write_text(json.dumps(config), "utf-8")
    text = "Bonjour."
    chosen = PiperEngine(model)
    assert chosen.identity()["speaker"] == "1"
    second = PiperEngine(model, speaker="speaker1").synthesize([text], section=SECTION)
    first = PiperEngine(model, speaker="0").synthesize([text], section=SECTION)
    said = chosen.synthesize([text], section=SECTION)
    assert said[0].data == second[0].data != first[0].data
    config["default_speaker_id"] = 2  # the voice has speakers 0 and 1
    config_path.write_text(json.dumps(config), "utf-8")
    with pytest.raises(InputError, match="default_speaker_id 2"):
        PiperEngine(model)


def test_piper_phonemes_the_voice_lacks_are_warned_about_once(
    tiny_voice: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_path = Path(f"{tiny_voice}.json")
    config = json.loads(config_path.read_text("utf-8"))
    del config["phoneme_id_map"]["ʁ"]
    config_path.write_text(json.dumps(config), "utf-8")
    engine = PiperEngine(tiny_voice)
    with caplog.at_level("WARNING", logger="narrator.engines.piper"):
        engine.synthesize(["Bonjour.", "Le ministre."], section=SECTION)
        PiperEngine(tiny_voice).synthesize(["Bonjour."], section=SECTION)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "'ʁ'" in warned[0], warned


def test_piper_an_unpunctuated_clause_stays_in_its_sentence(tiny_voice: Path) -> None:
    # Dashes and an ellipsis end clauses, not sentences: one inference each
    # (no 250 ms gap), as piper-tts has them.
    for text in (
        "Attention — danger immédiat — restez chez vous.",
        "Il hésita... puis il partit sans un mot.",
    ):
        assert len(expected_ids(text, tiny_voice)) == 1, text
    assert len(expected_ids("Vraiment ?! Je ne le crois pas.", tiny_voice)) == 2


def test_piper_identity_has_both_sha256_and_hashes_once(
    tiny_voice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    calls: list[Path] = []
    real = voicestore._sha256_of

    def counting(path: Path) -> str:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(voicestore, "_sha256_of", counting)
    identity = PiperEngine(tiny_voice).identity()
    assert (
        identity["model_sha256"] == hashlib.sha256(tiny_voice.read_bytes()).hexdigest()
    )
    config = Path(f"{tiny_voice}.json")
    assert identity["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert identity["engine"] == "piper"
    assert len(calls) == 2
    voicestore._hashes.clear()  # a new process: the on-disk index answers
    PiperEngine(tiny_voice)
    assert len(calls) == 2
    make_voice(tiny_voice.parent, "--ms-per-id", "6")  # the model changes
    assert (
        PiperEngine(tiny_voice).identity()["model_sha256"] != identity["model_sha256"]
    )
    assert len(calls) == 4  # both files were rewritten


# -- errors ---------------------------------------------------------------------


def test_piper_bad_model_file_is_a_clear_input_error(tiny_voice: Path) -> None:
    tiny_voice.write_bytes(b"this is not an onnx model")
    with pytest.raises(InputError, match="not a model onnxruntime can run"):
        get_engine("piper", {"voice": str(tiny_voice)})


def test_piper_missing_or_broken_config_is_an_input_error(tiny_voice: Path) -> None:
    config = Path(f"{tiny_voice}.json")
    raw = json.loads(config.read_text("utf-8"))
    del raw["phoneme_id_map"]
    config.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(InputError, match="phoneme_id_map"):
        get_engine("piper", {"voice": str(tiny_voice)})
    config.write_text("{", "utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        get_engine("piper", {"voice": str(tiny_voice)})
    config.unlink()
    with pytest.raises(InputError, match="config is missing"):
        get_engine("piper", {"voice": str(tiny_voice)})
    with pytest.raises(InputError, match="no such model"):
        get_engine("piper", {"voice": str(tiny_voice.parent / "nope.onnx")})


def test_piper_voice_names_resolve_or_say_what_to_do(tiny_voice: Path) -> None:
    with pytest.raises(EngineUnavailable, match="no Piper voice is installed"):
        get_engine("piper", {})
    with pytest.raises(EngineUnavailable, match="voices install fr_FR-siwis-medium"):
        get_engine("piper", {"voice": "fr_FR-siwis-medium"})
    with pytest.raises(InputError, match="unknown voice"):
        get_engine("piper", {"voice": "fr_FR-nobody"})
    voices.install("fr_FR-test-tiny", source=tiny_voice)
    engine = get_engine("piper", {})  # the best installed French voice
    assert engine.identity()["model_sha256"] == voicestore.file_sha256(tiny_voice)
    assert engine.probe() is True


# -- whole builds -----------------------------------------------------------------


def cli(*args: str):
    return CliRunner(mix_stderr=False).invoke(main, list(args))


@pytest.mark.slow
def test_piper_builds_the_seed_by_path_then_by_installed_name(
    tiny_voice: Path, seed_path: Path, tmp_path: Path, cache_dir: Path
) -> None:
    by_path = tmp_path / "by_path.mp3"
    result = cli(
        "build", str(seed_path), "-o", str(by_path), "--engine", "piper",
        "--voice", str(tiny_voice), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["engine"] == "piper"
    assert [c["title"] for c in report["chapters"]] == SEED_TITLES
    assert [c["title"] for c in ffmpeg_chapters(by_path)] == SEED_TITLES
    assert decode_stats(by_path)["returncode"] == 0
    assert read_extra(by_path)[TXXX_ENGINE] == "piper"

    installed = cli("voices", "install", "fr_FR-test-tiny", "--from", str(tiny_voice))
    assert installed.exit_code == 0, installed.stderr
    by_name = tmp_path / "by_name.mp3"
    result = cli(
        "build", str(seed_path), "-o", str(by_name), "--engine", "piper",
        "--voice", "fr_FR-test-tiny", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    again = json.loads(result.stdout)
    assert [c["title"] for c in ffmpeg_chapters(by_name)] == SEED_TITLES
    # Same model bytes, same identity: every clip comes from the cache.
    assert again["sections_synthesized"] == 0
    assert again["duration_s"] == pytest.approx(report["duration_s"], abs=0.05)


@pytest.mark.slow
def test_piper_clip_cache_key_follows_the_model_sha256(
    tiny_voice: Path, tmp_path: Path, cache_dir: Path
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Essai\n\n## Premier\n\nUne phrase courte.\n\n## Second\n\nEncore une.\n",
        "utf-8",
    )
    out = tmp_path / "ep.mp3"
    args = ["build", str(doc), "-o", str(out), "--engine", "piper"]
    args += ["--voice", str(tiny_voice), "--json", "--force"]
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["sections_synthesized"] == 2
    same = cli(*args)
    assert json.loads(same.stdout)["sections_synthesized"] == 0
    make_voice(tiny_voice.parent, "--ms-per-id", "7")  # same path, new model
    changed = cli(*args)
    assert changed.exit_code == 0, changed.stderr
    report = json.loads(changed.stdout)
    assert report["sections_synthesized"] == 2
    assert report["duration_s"] > json.loads(first.stdout)["duration_s"]


def decoded_pcm(path: Path) -> bytes:
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "pipe:1"],
        capture_output=True,
        check=True,
    )
    return proc.stdout


def test_piper_a_one_word_edit_speaks_one_sentence_and_sounds_as_a_cold_build(
    tiny_voice: Path, tmp_path: Path, cache_dir: Path
) -> None:
    sentences = [f"Voici la phrase numéro {n} de la partie." for n in range(1, 6)]
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Essai\n\n## Premier\n\n" + " ".join(sentences)
        + "\n\n## Second\n\nEncore une phrase. Et une autre.\n",
        "utf-8",
    )  # fmt: skip
    out = tmp_path / "ep.mp3"
    args = ["build", str(doc), "-o", str(out), "--engine", "piper"]
    args += ["--voice", str(tiny_voice), "--json"]
    first = json.loads(cli(*args).stdout)
    assert first["utterances_synthesized"] == 9  # 2 titles, 7 sentences
    doc.write_text(doc.read_text("utf-8").replace("numéro 3", "numéro très 3"), "utf-8")
    edit = cli(*args)
    assert edit.exit_code == 0, edit.stderr
    report = json.loads(edit.stdout)
    assert (report["sections_synthesized"], report["utterances_synthesized"]) == (1, 1)
    cold = tmp_path / "cold.mp3"
    fresh = ["--cache-dir", str(tmp_path / "fresh"), "-o", str(cold)]
    assert cli(*args[:-1], *fresh, "--json").exit_code == 0
    assert decoded_pcm(out) == decoded_pcm(cold)


@pytest.mark.slow
def test_piper_auto_prefers_an_installed_voice_and_pins_it(
    tiny_voice: Path, voice_dir: Path, tmp_path: Path, cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from narrator.container.tags import TXXX_VOICE

    doc = tmp_path / "court.md"
    doc.write_text("## Un titre\n\nUne phrase courte. Une autre.\n", encoding="utf-8")
    out = tmp_path / "auto.mp3"
    monkeypatch.setenv("NARRATOR_ENGINE", "auto")
    # No Piper voice installed: auto does not pick piper (gTTS is offline here).
    first = cli("build", str(doc), "-o", str(out))
    assert first.exit_code == 0, first.stderr
    assert "engine auto: espeak" in first.stderr
    out.unlink()
    tiny = cli("voices", "install", "fr_FR-test-tiny", "--from", str(tiny_voice))
    assert tiny.exit_code == 0, tiny.stderr
    second = cli("build", str(doc), "-o", str(out), "--voice", "fr")
    assert second.exit_code == 0, second.stderr
    assert "engine auto: piper (the installed voice fr_FR-test-tiny)" in second.stderr
    assert read_extra(out)[TXXX_ENGINE] == "piper"
    assert read_extra(out)[TXXX_VOICE] == "fr_FR-test-tiny"
    # Another, "better" voice installed later: the episode keeps its own voice.
    other = make_voice(tmp_path / "other", "--ms-per-id", "7")
    installed = cli("voices", "install", "fr_FR-aaa-autre", "--from", str(other))
    assert installed.exit_code == 0, installed.stderr
    from narrator.build.voices import installed_voices

    assert installed_voices("piper", "fr")[0].name == "fr_FR-aaa-autre"
    third = cli("build", str(doc), "-o", str(out), "--json")
    assert third.exit_code == 0, third.stderr
    assert "engine auto: piper (the engine auto.mp3 was built with)" in third.stderr
    assert json.loads(third.stdout)["up_to_date"] is True


# -- sections --phonemes ------------------------------------------------------------


def test_piper_sections_phonemes_show_what_the_voice_receives(
    tiny_voice: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Titre\n\nBonjour, le monde. Vraiment ?! Il hésita... puis partit\n",
        "utf-8",
    )
    result = cli(
        "sections", str(doc), "--phonemes", "--voice", str(tiny_voice), "--json"
    )
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    config = read_config(Path(f"{tiny_voice}.json"))
    assert len(row["phonemes"]) == len(row["utterances"]) > 1
    for text, said in zip(row["utterances"], row["phonemes"], strict=True):
        assert said == inference_phonemes(text, config)
        assert all(isinstance(s, str) and s for s in said)
    assert "?" in "".join(sum(row["phonemes"], []))
    readable = cli("sections", str(doc), "--phonemes", "--voice", str(tiny_voice))
    assert readable.exit_code == 0, readable.stderr
    assert f"/{row['phonemes'][0][0]}/" in readable.stdout


def test_piper_sections_phonemes_without_a_voice_say_how_to_get_one(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Titre\n\nBonjour.\n", "utf-8")
    result = cli("sections", str(doc), "--phonemes", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "narrator voices install" in result.stderr
    assert "Traceback" not in result.stderr
    lone = cli("sections", str(doc), "--voice", "x.onnx")
    assert lone.exit_code == 2 and "--phonemes" in lone.stderr
    missing = cli("sections", str(doc), "--phonemes", "--voice", "nowhere.onnx")
    assert missing.exit_code == 2 and "no such model file" in missing.stderr
    other = cli("sections", str(doc), "--phonemes", "--engine", "edge")
    assert other.exit_code == 2 and "Piper" in other.stderr


def test_a_voice_with_no_decoder_to_cut_runs_whole_and_says_so_in_the_store(
    tiny_voice: Path, tmp_path: Path
) -> None:
    """The tiny voice has no HiFi-GAN (no ConvTranspose): it is not cut, the
    store remembers that, and it still speaks."""
    from narrator.engines.piper_session import PARTS_VERSION, VoiceSession

    store = tmp_path / "store"
    session = VoiceSession(tiny_voice, 1, sha256="c" * 64, store=store)
    assert not session.windowed
    meta = json.loads(
        (store / f"{'c' * 40}.v{PARTS_VERSION}" / "parts.json").read_text("utf-8")
    )
    assert meta == {"cut": False}
    again = VoiceSession(tiny_voice, 1, sha256="c" * 64, store=store)
    assert not again.windowed
    audio = again.infer(
        {
            "input": np.array([[1, 20, 30, 2]], dtype=np.int64),
            "input_lengths": np.array([4], dtype=np.int64),
            "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32),
        }
    )
    assert audio.size > 0 and np.abs(audio).max() > 0.01


def test_a_file_that_is_not_onnx_is_a_clear_error_even_when_cut(
    tiny_voice: Path, tmp_path: Path
) -> None:
    from narrator.engines.piper_session import VoiceSession
    from narrator.errors import InputError

    tiny_voice.write_bytes(b"not a model at all")
    with pytest.raises(InputError, match="not a model onnxruntime can run"):
        VoiceSession(tiny_voice, 1, sha256="d" * 64, store=tmp_path / "store")


def _staged_voice(folder: Path, *, tail_reads_latent: bool) -> Path:
    """A decoder-shaped graph: conv_pre, two upsamplings; its last node reads
    the second's output and, when asked, the latent itself."""
    from onnx import TensorProto, helper, numpy_helper, save

    rng = np.random.default_rng(0)
    shapes = [("w0", (4, 1, 3)), ("wt1", (4, 4, 2)), ("wt2", (4, 1, 2)), ("two", ())]
    weights = [
        numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n)
        for n, s in shapes
    ]
    last = (
        helper.make_node("Concat", ["u2", "z"], ["output"], axis=2)
        if tail_reads_latent
        else helper.make_node("Tanh", ["u2"], ["output"])
    )
    nodes = [
        helper.make_node("Mul", ["input", "two"], ["z"]),
        helper.make_node("Conv", ["z", "w0"], ["c0"], pads=[1, 1]),
        helper.make_node("ConvTranspose", ["c0", "wt1"], ["u1"], strides=[2]),
        helper.make_node("ConvTranspose", ["u1", "wt2"], ["u2"], strides=[2]),
        last,
    ]
    graph = helper.make_graph(
        nodes,
        "decoder",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        weights,
    )
    path = folder / f"staged-{tail_reads_latent}.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("tail_reads_latent", [False, True])
def test_the_decoder_is_cut_in_two_stages_only_where_windows_stay_exact(
    tmp_path: Path, tail_reads_latent: bool
) -> None:
    """Cut again before the second upsampling, unless what follows reads the
    latent too: that runs along the frames, so windows of the rest would not
    line up with it (engines/piper_graph.py); the voice then keeps one stage."""
    from narrator.engines.piper_graph import split_voice

    parts = split_voice(_staged_voice(tmp_path, tail_reads_latent=tail_reads_latent))
    assert parts is not None and parts.latent == "z"
    if tail_reads_latent:
        assert parts.tail is None and parts.tail_input == ""
    else:
        assert parts.tail is not None and parts.tail_input == "u1"
        assert parts.tail_passed == ()
