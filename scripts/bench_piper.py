"""Piper at a real voice's cost: narrator's build against piper-tts's own CLI.

    .venv/bin/python scripts/bench_piper.py seed   # the seed, cold, medians of 3
    .venv/bin/python scripts/bench_piper.py long   # the 60-minute document
    .venv/bin/python scripts/bench_piper.py tune   # where inference time goes
    .venv/bin/python scripts/bench_piper.py memory # peak RSS per inference size
    .venv/bin/python scripts/bench_piper.py all

The voice is scripts/make_test_voice.py's medium voice (a VITS graph of a
published medium voice's sizes, random weights), made once under the user
cache. The reference reads the same spoken text (``narrator sections DOC
--spoken --json``, one utterance a line) with the piper-tts package's own
command line into one WAV, then one ffmpeg MP3 encode, as a user without
narrator would. piper-tts is GPL: never a dependency. It runs from the venv
that NARRATOR_PIPER_REF_VENV names when that has ``bin/piper``, else from a
venv this script makes under the user cache (``pip install piper-tts``).

Runs are interleaved (reference, narrator, reference, ...) and each build runs
in a fresh process, so start-up counts. Nothing is asserted: the figures go
to BENCHMARKS.md by hand, with the machine's load average printed here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
from make_test_voice import cached_medium_voice  # noqa: E402

REF_SPEC = "piper-tts>=1.8,<2"


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def reference_piper() -> Path:
    """The piper CLI of a venv of its own (made on first use)."""
    named = os.environ.get("NARRATOR_PIPER_REF_VENV")
    if named and (Path(named) / "bin" / "piper").exists():
        return Path(named) / "bin" / "piper"
    import platformdirs

    venv = Path(platformdirs.user_cache_dir("narrator", appauthor=False)) / "piper-ref"
    piper = venv / "bin" / "piper"
    if not piper.exists():
        print(f"installing {REF_SPEC} into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, REF_SPEC], check=True)
    return piper


def spoken_text(doc: Path) -> str:
    """What narrator sends to the voice: every utterance, one a line."""
    done = subprocess.run(
        [sys.executable, "-m", "narrator", "sections", str(doc), "--spoken",
         "--json", "--engine", "piper"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [u for s in json.loads(done.stdout) for u in s["utterances"]]
    return "\n".join(lines) + "\n"


def reference_run(piper: Path, voice: Path, text: Path, out: Path) -> float:
    """piper-tts's CLI into one WAV, then one MP3 encode: wall seconds."""
    from narrator.ffmpeg import ffmpeg_exe

    wav = out.with_suffix(".wav")
    t0 = time.perf_counter()
    subprocess.run(
        [str(piper), "-m", str(voice), "-i", str(text), "-f", str(wav)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar",
         "44100", "-c:a", "libmp3lame", "-b:a", "64k", str(out)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def narrator_run(
    doc: Path, voice: Path, out: Path, cache: Path
) -> tuple[float, dict, float]:
    return bench.run_build(doc, out, cache, "--engine", "piper", "--voice", str(voice))


def one_word_edit(doc: Path) -> None:
    """Insert one word in the middle line of the document."""
    lines = doc.read_text(encoding="utf-8").split("\n")
    body = [i for i, line in enumerate(lines) if len(line.split()) > 8]
    mid = body[len(body) // 2]
    lines[mid] = lines[mid].replace(" ", " très ", 1)
    doc.write_text("\n".join(lines), encoding="utf-8")


def compare(name: str, doc: Path, work: Path, repeat: int) -> dict:
    voice = cached_medium_voice()
    piper = reference_piper()
    text = work / f"{name}.spoken.txt"
    text.write_text(spoken_text(doc), encoding="utf-8")
    print(f"{name}: {load()} before", flush=True)
    refs, cold, rss = [], [], []
    report: dict = {}
    for i in range(repeat):
        refs.append(reference_run(piper, voice, text, work / f"{name}-ref{i}.mp3"))
        wall, report, peak = narrator_run(
            doc, voice, work / f"{name}{i}.mp3", work / f"cache-{name}{i}"
        )
        cold.append(wall)
        rss.append(peak)
        print(f"  run {i + 1}: reference {refs[-1]:.1f} s, narrator {wall:.1f} s, "
              f"{peak:.0f} MB", flush=True)  # fmt: skip
    edited = work / f"{name}-edited{doc.suffix}"
    edited.write_text(doc.read_text(encoding="utf-8"), encoding="utf-8")
    cache = work / f"{name}-edit-cache"
    edit_cold, _, _ = narrator_run(edited, voice, work / f"{name}-e.mp3", cache)
    one_word_edit(edited)
    edit, edit_report, _ = narrator_run(edited, voice, work / f"{name}-e.mp3", cache)
    ref, nar = statistics.median(refs), statistics.median(cold)
    audio_min = report["duration_s"] / 60
    per_hour = nar / 60 / audio_min * 60
    print(f"{name}: {audio_min:.1f} min of audio, {len(report['chapters'])} chapters "
          f"(median of {repeat}); {load()} after")  # fmt: skip
    print(f"  piper-tts CLI + one ffmpeg encode: {ref:7.1f} s")
    print(f"  narrator build, cold:              {nar:7.1f} s = {nar / ref:.2f}x ref")
    print(f"  peak RSS of narrator's build:      {max(rss):7.0f} MB")
    done = edit_report["sections_synthesized"]
    spoken = edit_report.get("utterances_synthesized", "?")
    print(f"  one-word edit:                     {edit:7.1f} s = "
          f"{edit / edit_cold:.3f}x its cold build ({done} section, "
          f"{spoken} utterances synthesized)")  # fmt: skip
    print(f"  build min per audio hour:  {per_hour:7.1f} on {os.cpu_count()} CPUs")
    return {"reference_s": ref, "narrator_s": nar, "ratio": nar / ref,
            "peak_rss_mb": max(rss), "edit_ratio": edit / edit_cold,
            "audio_min": audio_min, "build_min_per_audio_hour": per_hour}  # fmt: skip


def bench_seed(work: Path, repeat: int) -> dict:
    return compare("seed", bench.SEED, work, repeat)


def bench_long(work: Path, repeat: int) -> dict:
    doc = work / "long.txt"
    bench.make_long_document(doc)
    return compare("long", doc, work, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("seed", "long", "tune", "memory", "all"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--long-repeat", type=int, default=1)
    args = parser.parse_args()
    print(bench.machine())
    with tempfile.TemporaryDirectory(prefix="narrator-bench-piper-") as tmp:
        work = Path(tmp)
        if args.what in ("seed", "all"):
            bench_seed(work, args.repeat)
        if args.what in ("tune", "all"):
            import bench_piper_tune

            bench_piper_tune.run(cached_medium_voice(), bench.SEED)
        if args.what in ("memory", "all"):
            import bench_piper_tune

            bench_piper_tune.memory(cached_medium_voice(), bench.SEED)
        if args.what in ("long", "all"):
            bench_long(work, args.long_repeat)


if __name__ == "__main__":
    main()
