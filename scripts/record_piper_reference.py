"""Record piper-tts's phonemization of French lines as a test fixture.

Usage (in a virtualenv of its own, outside the repository: piper-tts is
GPL-3.0 and never a dependency of narrator):

    python -m venv /tmp/piper-ref && /tmp/piper-ref/bin/pip install piper-tts==1.8.0
    /tmp/piper-ref/bin/python scripts/record_piper_reference.py \
        tests/data/piper_reference_fr.txt > tests/data/piper_reference_fr.json

Each line of the input is one text (a literal ``\\n`` stands for a line
break). For each, the output keeps piper-tts's sentences (the phonemes of one
inference, as a string of code points) and their ids with the phoneme_id_map
of fr_FR-siwis-medium, the map scripts/make_test_voice.py gives the tests'
voice. tests/test_phonemes.py checks narrator against this file.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main(argv: list[str]) -> int:
    from make_test_voice import SYMBOLS
    from piper.phoneme_ids import phonemes_to_ids
    from piper.phonemize_espeak import EspeakPhonemizer

    id_map = {symbol: [i] for i, symbol in enumerate(SYMBOLS)}
    phonemizer = EspeakPhonemizer()
    cases = []
    for line in Path(argv[0]).read_text("utf-8").splitlines():
        if not line:
            continue
        text = line.replace("\\n", "\n")
        sentences = [s for s in phonemizer.phonemize("fr", text) if s]
        cases.append(
            {
                "text": text,
                "sentences": ["".join(s) for s in sentences],
                "ids": [phonemes_to_ids(s, id_map) for s in sentences],
            }
        )
    head = {
        "recorded_with": f"piper-tts {version('piper-tts')}",
        "voice_map": "fr_FR-siwis-medium (scripts/make_test_voice.py)",
    }
    # One case a line: a diff of a new recording shows which texts changed.
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    sys.stdout.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n')
    sys.stdout.write(",\n".join(lines) + "\n]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
