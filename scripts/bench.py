"""Build-time benchmarks. Every figure is a ratio to a baseline measured in the same run.

    .venv/bin/python scripts/bench.py seed      # narrator vs a naive pipeline, on the seed
    .venv/bin/python scripts/bench.py long      # cold / one-section edit / no-op on a 60+ min document
    .venv/bin/python scripts/bench.py memory    # peak RSS (seed and long) and the mastering share
    .venv/bin/python scripts/bench.py all

Each build runs in a fresh subprocess (`python -m narrator build ...`) so start-up
and imports count, as they do for a user. Nothing here is asserted: the figures
go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "seed" / "000_4308e03e8e9adbfa.txt"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def run_build(doc: Path, out: Path, cache: Path, *extra: str) -> tuple[float, dict, int]:
    """Run one build in a subprocess; return (wall seconds, --json report, peak RSS KiB)."""
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "narrator", "build", str(doc), "-o", str(out), "--json", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"build failed: {proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: run each
    # measured build in its own helper process to read its own peak.
    return wall, json.loads(proc.stdout), max(peak, before)


def peak_rss_kib(doc: Path, out: Path, cache: Path, *extra: str) -> tuple[float, int]:
    """Wall time and peak RSS of one build, measured in an isolated child."""
    code = (
        "import resource, subprocess, sys, time, json;"
        "t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:], capture_output=True);"
        "w=time.perf_counter()-t;"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'wall': w, 'rss': r, 'rc': p.returncode, 'err': p.stderr.decode()[-500:]}))"
    )
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "narrator", "build", str(doc),
           "-o", str(out), "--json", *extra]
    res = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
    if res["rc"] != 0:
        raise SystemExit(f"build failed: {res['err']}")
    return res["wall"], res["rss"]


def naive_pipeline(doc: Path, out: Path) -> float:
    """Whole-text espeak-ng synthesis in one call + one ffmpeg MP3 encode to a file."""
    from narrator.engines.espeak import EspeakEngine
    from narrator.ffmpeg import ffmpeg_exe

    t0 = time.perf_counter()
    text = doc.read_text(encoding="utf-8")
    audio = EspeakEngine().synthesize([text])[0]
    wav = out.with_suffix(".wav")
    wav.write_bytes(audio.data)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "44100",
                    "-c:a", "libmp3lame", "-b:a", "64k", str(out)], check=True)
    return time.perf_counter() - t0


def naive_in_subprocess(doc: Path, out: Path) -> float:
    """The naive pipeline in a fresh interpreter, so start-up counts as for narrator."""
    code = ("import sys, time; t=time.perf_counter(); sys.path.insert(0, %r);"
            "import bench; from pathlib import Path;"
            "bench.naive_pipeline(Path(sys.argv[1]), Path(sys.argv[2]));"
            "print(time.perf_counter()-t)") % str(Path(__file__).parent)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(doc), str(out)], check=True, capture_output=True)
    return time.perf_counter() - t0


def bench_seed(work: Path, repeat: int = 3) -> dict:
    naive = []
    cold = []
    for i in range(repeat):
        naive.append(naive_in_subprocess(SEED, work / f"naive{i}.mp3"))
        wall, report, _ = run_build(SEED, work / f"seed{i}.mp3", work / f"cache-seed{i}")
        cold.append(wall)
    n, c = min(naive), min(cold)
    audio_s = report["duration_s"]
    print(f"seed: {len(report['chapters'])} sections, {audio_s:.1f} s of audio")
    print(f"  naive (espeak whole text + ffmpeg encode): {n:.2f} s")
    print(f"  narrator build, cold cache:                {c:.2f} s  ratio {c / n:.2f}x naive"
          f"  ({audio_s / c:.0f}x real time)")
    return {"naive_s": n, "narrator_s": c, "ratio": c / n, "audio_s": audio_s}


def make_long_document(path: Path, sections: int = 18, seed: int = 7) -> tuple[int, int]:
    """A long French document (>= 60,000 characters, >= 15 sections) assembled
    from the seed's and the example's sentences, each section made unique."""
    rng = random.Random(seed)
    pool = []
    for src in (SEED, REPO / "examples" / "exemple.md"):
        text = src.read_text(encoding="utf-8")
        text = re.sub(r"^---.*?---\n", "", text, flags=re.S)
        for line in text.splitlines():
            line = line.strip().lstrip("-#* ").strip()
            if len(line) > 60:
                pool.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s) > 30)
    lines = []
    chars = 0
    for n in range(1, sections + 1):
        title = f"Partie {n} : {rng.choice(pool)[:40].rstrip(' ,;:')}"
        lines.append(title.replace(".", ""))
        body_chars = 0
        while body_chars < 3600:
            paragraph = " ".join(rng.sample(pool, 4))
            lines.append(paragraph)
            body_chars += len(paragraph)
        lines.append(f"Ceci conclut la partie numéro {n} de ce long document d'essai.")
        chars += body_chars
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return chars, sections


def bench_long(work: Path) -> dict:
    doc = work / "long.txt"
    chars, sections = make_long_document(doc)
    cache = work / "cache-long"
    out = work / "long.mp3"
    cold, report, _ = run_build(doc, out, cache)
    audio_min = report["duration_s"] / 60
    # One-section edit: change one word in the middle section.
    text = doc.read_text(encoding="utf-8").split("\n")
    mid = [i for i, l in enumerate(text) if l.startswith(f"Partie {sections // 2} ")][0] + 1
    text[mid] = text[mid].replace(" ", " très ", 1)
    doc.write_text("\n".join(text), encoding="utf-8")
    edit, report_edit, _ = run_build(doc, out, cache)
    noop, report_noop, _ = run_build(doc, out, cache)
    print(f"long: {chars} characters, {sections} sections, {audio_min:.1f} min of audio")
    print(f"  cold build:          {cold:6.2f} s  (1.00x)")
    print(f"  one-section edit:    {edit:6.2f} s  ({edit / cold:.3f}x cold; "
          f"{report_edit['sections_synthesized']} synthesized)")
    print(f"  no-op rebuild:       {noop:6.2f} s  ({noop / cold:.3f}x cold; "
          f"up_to_date={report_noop.get('up_to_date')})")
    return {"chars": chars, "sections": sections, "audio_min": audio_min, "cold_s": cold,
            "edit_s": edit, "noop_s": noop, "edit_ratio": edit / cold, "noop_ratio": noop / cold}


def mastering_share(doc: Path, work: Path) -> dict:
    """Profile one cold build in-process: share of time in mastering and encoding."""
    import cProfile
    import pstats

    from narrator.config import Settings
    from narrator.pipeline import build

    settings = Settings(output_path=work / "prof.mp3", cache_dir=work / "cache-prof", jobs=1)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    build(doc, settings)
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    cum = {f"{Path(k[0]).name}:{k[2]}": v[3] for k, v in stats.stats.items()}
    master = cum.get("audio.py:_master", 0.0)
    encode = cum.get("mp3.py:encode_segment", 0.0) - cum.get("audio.py:render_clip", 0.0)
    synth = cum.get("espeak.py:synthesize", 0.0)
    print(f"  profile of a cold build, jobs=1 ({total:.2f} s): mastering (resample, gain, "
          f"true-peak limiter, fades) {master / total:.0%}, synthesis {synth / total:.0%}")
    return {"total_s": total, "mastering_share": master / total, "synthesis_share": synth / total,
            "encode_wait_s": encode}


def bench_memory(work: Path) -> dict:
    seed_wall, seed_rss = peak_rss_kib(SEED, work / "mem-seed.mp3", work / "cache-mem-seed")
    doc = work / "long-mem.txt"
    make_long_document(doc, seed=11)
    long_wall, long_rss = peak_rss_kib(doc, work / "mem-long.mp3", work / "cache-mem-long")
    print(f"memory: peak RSS seed {seed_rss / 1024:.0f} MB ({seed_wall:.1f} s), "
          f"long {long_rss / 1024:.0f} MB ({long_wall:.1f} s)")
    share = mastering_share(SEED, work)
    return {"seed_rss_mb": seed_rss / 1024, "long_rss_mb": long_rss / 1024, **share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["seed", "long", "memory", "all"], nargs="?", default="all")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    print(machine())
    work = Path(tempfile.mkdtemp(prefix="narrator-bench-"))
    try:
        results = {}
        if args.which in ("seed", "all"):
            results["seed"] = bench_seed(work)
        if args.which in ("long", "all"):
            results["long"] = bench_long(work)
        if args.which in ("memory", "all"):
            results["memory"] = bench_memory(work)
        print(json.dumps(results, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
