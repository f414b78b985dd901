"""Write a tiny Piper-format voice (``.onnx`` + ``.onnx.json``) for the tests.

Usage: python scripts/make_test_voice.py OUT_DIR [--name NAME] [--speakers N]
       [--ms-per-id MS] [--sample-rate HZ] [--size tiny|medium]

``--size medium`` writes instead a voice that costs what a real one does: a
VITS graph with the layer sizes of a published medium voice and random
weights (scripts/vits_graph.py), 22,050 Hz, single speaker, about 63 MB; it
prints its parameter count on stderr. ``cached_medium_voice()`` keeps one
under the user cache for the benchmark and the tests that need it.

The tiny voice (the default):

The model is a small ONNX graph, built here with the ``onnx`` helper API, with
the inputs and output of a real Piper voice: ``input`` (int64 [1, n] phoneme
ids), ``input_lengths`` (int64 [1]), ``scales`` (float32 [3]: noise_scale,
length_scale, noise_w), ``sid`` (int64 [1], multi-speaker only) and ``output``
(float32 [1, 1, samples]). Each phoneme id becomes MS milliseconds of a sine
tone whose frequency comes from the id (and the speaker), times length_scale,
so the audio is deterministic and its length is known from the ids: a test can
check that the engine sent what it should. The config beside it carries the
phoneme map of a real French voice (fr_FR-siwis-medium's: the espeak IPA
symbols, pad ``_``, BOS ``^``, EOS ``$``). Prints the ``.onnx`` path.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

# The phoneme_id_map of the published fr_FR-siwis-medium voice: symbol i has id i.
SYMBOLS = (
    "_^$ !'(),-.:;?abcdefhijklmnopqrstuvwxyzæçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪ"
    "ɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ0123456789"
    "\u0327\u0303\u032a\u032f\u0329ʰˤε↓#\u0022↑\u033a\u033b"
)
NUM_SYMBOLS = 256


def build_model(
    *, sample_rate: int, ms_per_id: float, speakers: int
) -> bytes:  # pragma: no cover - exercised through the tests' fixture
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    samples_per_id = sample_rate * ms_per_id / 1000.0

    def const(name: str, value: object, dtype: object) -> object:
        return helper.make_node(
            "Constant",
            [],
            [name],
            value=numpy_helper.from_array(np.array(value, dtype=dtype), name),
        )

    nodes = [
        const("axis0", [0], np.int64),
        const("idx_length", 1, np.int64),
        const("idx_noise", 0, np.int64),
        const("base", samples_per_id, np.float32),
        const("zero", 0.0, np.float32),
        const("one", 1.0, np.float32),
        const("hz_per_id", 7.0, np.float32),
        const("hz_floor", 180.0, np.float32),
        const("two_pi_over_rate", 2 * math.pi / sample_rate, np.float32),
        const("amplitude", 0.3, np.float32),
        const("out_shape", [1, 1, -1], np.int64),
        # ids [1, n] -> frequencies [n, 1]
        helper.make_node("Squeeze", ["input", "axis0"], ["ids"]),
        helper.make_node("Cast", ["ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["ids_f", "hz_per_id"], ["hz_raw"]),
        helper.make_node("Add", ["hz_raw", "hz_floor"], ["hz_id"]),
    ]
    freq = "hz_id"
    if speakers > 1:
        nodes += [
            const("hz_per_speaker", 40.0, np.float32),
            helper.make_node("Cast", ["sid"], ["sid_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["sid_f", "hz_per_speaker"], ["hz_sid"]),
            helper.make_node("Add", ["hz_id", "hz_sid"], ["hz_all"]),
        ]
        freq = "hz_all"
    nodes += [
        helper.make_node("Unsqueeze", [freq, "idx_length"], ["freq"]),
        # samples per id: floor(base * length_scale); noise scales enter at 0 x.
        helper.make_node("Gather", ["scales", "idx_length"], ["length_scale"]),
        helper.make_node("Gather", ["scales", "idx_noise"], ["noise"]),
        helper.make_node("Mul", ["noise", "zero"], ["no_noise"]),
        helper.make_node("Mul", ["base", "length_scale"], ["span_raw"]),
        helper.make_node("Floor", ["span_raw"], ["span"]),
        helper.make_node("Max", ["span", "one"], ["span_min1"]),
        helper.make_node("Range", ["zero", "span_min1", "one"], ["t"]),
        helper.make_node("Unsqueeze", ["t", "axis0"], ["t_row"]),
        helper.make_node("Mul", ["freq", "t_row"], ["cycles"]),
        helper.make_node("Mul", ["cycles", "two_pi_over_rate"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["wave"]),
        helper.make_node("Mul", ["wave", "amplitude"], ["loud"]),
        helper.make_node("Add", ["loud", "no_noise"], ["audio"]),
        helper.make_node("Reshape", ["audio", "out_shape"], ["output"]),
    ]
    inputs = [
        helper.make_tensor_value_info(
            "input", TensorProto.INT64, ["batch_size", "phonemes"]
        ),
        helper.make_tensor_value_info(
            "input_lengths", TensorProto.INT64, ["batch_size"]
        ),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    if speakers > 1:
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, [1]))
    output = helper.make_tensor_value_info(
        "output", TensorProto.FLOAT, ["batch_size", 1, "time"]
    )
    graph = helper.make_graph(nodes, "narrator_test_voice", inputs, [output])
    model = helper.make_model(
        graph,
        producer_name="narrator scripts/make_test_voice.py",
        opset_imports=[helper.make_opsetid("", 13)],
    )
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    import onnx

    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def build_config(
    *, sample_rate: int, speakers: int, quality: str = "x_low"
) -> dict[str, object]:
    config: dict[str, object] = {
        "audio": {"sample_rate": sample_rate, "quality": quality},
        "espeak": {"voice": "fr"},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": {symbol: [i] for i, symbol in enumerate(SYMBOLS)},
        "num_symbols": NUM_SYMBOLS,
        "num_speakers": speakers,
        "speaker_id_map": (
            {f"speaker{i}": i for i in range(speakers)} if speakers > 1 else {}
        ),
        "piper_version": "1.0.0",
        "language": {"code": "fr_FR", "family": "fr", "region": "FR"},
        "dataset": f"narrator-test-{'tiny' if quality == 'x_low' else quality}",
    }
    return config


# Bump when scripts/vits_graph.py changes: the cached medium voice is rebuilt.
MEDIUM_VERSION = "2"
MEDIUM_NAME = "fr_FR-test-medium"
MEDIUM_RATE = 22050


def write_medium(out_dir: Path, name: str = MEDIUM_NAME) -> tuple[Path, int]:
    """Write the medium voice into ``out_dir``: (.onnx path, parameter count).

    Both files are written beside under temporary names and renamed, so a
    reader never sees half a voice.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from vits_graph import build_medium

    model, params = build_medium()
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{name}.onnx"
    config = build_config(sample_rate=MEDIUM_RATE, speakers=1, quality="medium")
    for path, data in (
        (Path(f"{model_path}.json"), _config_bytes(config)),
        (model_path, model.SerializeToString()),
    ):
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return model_path, params


def cached_medium_voice() -> Path:
    """The medium voice under the user cache, made on first use (~10 s)."""
    import platformdirs

    root = Path(platformdirs.user_cache_dir("narrator", appauthor=False))
    model = root / "test-voices" / f"medium-{MEDIUM_VERSION}" / f"{MEDIUM_NAME}.onnx"
    if not (model.exists() and Path(f"{model}.json").exists()):
        write_medium(model.parent)
    return model


def _config_bytes(config: dict[str, object]) -> bytes:
    return (json.dumps(config, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--name", default="fr_FR-test-tiny")
    parser.add_argument("--speakers", type=int, default=1)
    parser.add_argument("--ms-per-id", type=float, default=5.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--size", choices=("tiny", "medium"), default="tiny")
    args = parser.parse_args(argv)
    if args.speakers < 1:
        parser.error("--speakers must be at least 1")
    if args.size == "medium":
        if args.speakers != 1:
            parser.error("--size medium makes a single-speaker voice")
        name = MEDIUM_NAME if args.name == "fr_FR-test-tiny" else args.name
        model_path, params = write_medium(args.out_dir, name)
        print(
            f"{params:,} parameters ({params * 4 / 1e6:.1f} MB of float32 weights)",
            file=sys.stderr,
        )
        print(model_path)
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.out_dir / f"{args.name}.onnx"
    model_path.write_bytes(
        build_model(
            sample_rate=args.sample_rate,
            ms_per_id=args.ms_per_id,
            speakers=args.speakers,
        )
    )
    config = build_config(sample_rate=args.sample_rate, speakers=args.speakers)
    Path(f"{model_path}.json").write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(model_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
