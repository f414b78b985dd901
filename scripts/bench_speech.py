"""Score narrator's French normalization by pronunciation on a held-out list.

tests/data/speech/heldout.tsv holds written sentences and their correct spoken
form, written before the rules and never tuned against them. For each
sentence, espeak-ng (the library bundled by espeakng-loader, through ctypes)
turns into phonemes (a) narrator's normalized text and (b) the correct form;
the same is done for the raw written text, as a baseline. Phoneme strings are
compared after dropping stress marks, pauses and spaces (prosody, not
pronunciation): an exact match per sentence, and a similarity 1 - edit
distance / length.

A file given as argument replaces heldout.tsv (tests/data/speech/blind.tsv is
a blind set written from standard French usage); its "# kind: NAME" comment
lines start groups, each scored on its own line as well as in total.

Usage: .venv/bin/python scripts/bench_speech.py [FILE] [--engine espeak] [--show]
"""

from __future__ import annotations

import argparse
import ctypes
import re
import sys
from pathlib import Path

import espeakng_loader

from narrator.speech.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "tests" / "data" / "speech" / "heldout.tsv"


class Phonemizer:
    """espeak-ng's espeak_TextToPhonemes on the bundled library."""

    def __init__(self, voice: str = "fr") -> None:
        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        # AUDIO_OUTPUT_SYNCHRONOUS; the path is the espeak-ng-data folder
        if self.lib.espeak_Initialize(2, 0, data, 0) < 0:
            raise SystemExit("espeak_Initialize failed")
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SystemExit(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        self.lib.espeak_Info.restype = ctypes.c_char_p
        self.lib.espeak_Info.argtypes = [ctypes.c_void_p]
        self.version = self.lib.espeak_Info(None).decode()

    def phonemes(self, text: str) -> str:
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        out: list[str] = []
        while ptr.value:
            # textmode espeakCHARS_UTF8 = 1, phonememode 0 = ascii names (-x)
            res = self.lib.espeak_TextToPhonemes(ctypes.byref(ptr), 1, 0)
            if res:
                out.append(res.decode("utf-8", "replace"))
        return " ".join(out)


_PROSODY = re.compile(r"[\s',_:!|=-]+")


def canonical(phonemes: str) -> str:
    """Drop stress, pauses, syllable marks and spaces: keep the sounds."""
    return _PROSODY.sub("", phonemes)


def similarity(a: str, b: str) -> float:
    """Return 1 - Levenshtein(a, b) / max(len): 1.0 for identical strings."""
    if a == b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1 - prev[-1] / max(len(a), len(b), 1)


_KIND = re.compile(r"#\s*kind:\s*(\S+)")


def load(path: Path) -> list[tuple[str, str, str]]:
    """Return (kind, written, spoken) rows; kind is "" before any kind line."""
    rows = []
    kind = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if mark := _KIND.match(line):
            kind = mark.group(1)
        elif line.strip() and not line.startswith("#"):
            written, spoken = line.split("\t")
            rows.append((kind, written, spoken))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=HELDOUT)
    parser.add_argument("--engine", default="espeak")
    parser.add_argument("--show", action="store_true", help="print each mismatch")
    args = parser.parse_args()
    rows = load(args.file)
    ph = Phonemizer()
    scores = {"narrator": [0, 0.0], "raw": [0, 0.0]}
    kinds: dict[str, list[int]] = {}
    for kind, written, spoken in rows:
        want = canonical(ph.phonemes(spoken))
        for name, text in (
            ("narrator", normalize(written, engine=args.engine)),
            ("raw", written),
        ):
            got = canonical(ph.phonemes(text))
            scores[name][0] += got == want
            scores[name][1] += similarity(got, want)
            if name == "narrator":
                tally = kinds.setdefault(kind, [0, 0])
                tally[0] += got == want
                tally[1] += 1
            if args.show and name == "narrator" and got != want:
                print(f"- {written}\n  narrator: {text}\n  got  {got}\n  want {want}")
    n = len(rows)
    source = args.file.name
    head = f"espeak-ng {ph.version}, {n} sentences from {source}"
    print(f"{head}, profile {args.engine!r}")
    for name, (exact, sim) in scores.items():
        print(
            f"{name:9} exact phoneme match {exact}/{n} = {100 * exact / n:.1f} %   "
            f"mean phoneme similarity {100 * sim / n:.1f} %"
        )
    if len(kinds) > 1:
        for kind, (exact, total) in kinds.items():
            print(f"  {kind or '-':12} {exact}/{total} = {100 * exact / total:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
