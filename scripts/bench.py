"""Build-time benchmarks: every figure is a ratio to a baseline of the same run.

    .venv/bin/python scripts/bench.py seed    # narrator vs a naive pipeline (seed)
    .venv/bin/python scripts/bench.py long    # cold / one-section edit / no-op, 60+ min
    .venv/bin/python scripts/bench.py memory  # peak RSS, and where build time goes
    .venv/bin/python scripts/bench.py floor   # the seed vs the bare floor, and the
                                              # floor's own work on both cores
    .venv/bin/python scripts/bench.py issue11 # every figure of issue 11, one run
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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}"
    )


def run_build(
    doc: Path, out: Path, cache: Path, *extra: str
) -> tuple[float, dict, float]:
    """Run one build in a fresh interpreter: (wall s, --json report, peak RSS MB).

    A small wrapper process runs the build and reads its own children's peak
    RSS, so each figure belongs to that build alone.
    """
    code = (
        "import json, resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "w = time.perf_counter() - t;"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'wall': w, 'rss_kib': r, 'rc': p.returncode,"
        " 'out': p.stdout, 'err': p.stderr[-800:]}))"
    )
    env = {**os.environ, "NARRATOR_CACHE_DIR": str(cache), "NARRATOR_ENGINE": "espeak"}
    # Bytecode is cached as on any ordinary install (some sandboxes turn it
    # off for every process, which recompiles narrator on each run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [
        sys.executable,
        "-c",
        code,
        sys.executable,
        "-m",
        "narrator",
        "build",
        str(doc),
        "-o",
        str(out),
        "--json",
        *extra,
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    res = json.loads(done.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"build failed: {res['err']}")
    return res["wall"], json.loads(res["out"]), res["rss_kib"] / 1024


def naive_pipeline(doc: Path, out: Path) -> float:
    """Whole-text espeak-ng synthesis in one call + one ffmpeg MP3 encode to a file."""
    from narrator.engines.espeak import EspeakEngine
    from narrator.ffmpeg import ffmpeg_exe

    t0 = time.perf_counter()
    text = doc.read_text(encoding="utf-8")
    audio = EspeakEngine().synthesize([text])[0]
    wav = out.with_suffix(".wav")
    wav.write_bytes(audio.data)
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-i",
            str(wav),
            "-ac",
            "1",
            "-ar",
            "44100",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            str(out),
        ],
        check=True,
    )
    return time.perf_counter() - t0


def naive_in_subprocess(doc: Path, out: Path) -> float:
    """The naive pipeline in a fresh interpreter, so start-up counts as for narrator."""
    code = (
        "import sys, time; t=time.perf_counter(); sys.path.insert(0, sys.argv[3]);"
        "import bench; from pathlib import Path;"
        "bench.naive_pipeline(Path(sys.argv[1]), Path(sys.argv[2]));"
        "print(time.perf_counter()-t)"
    )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, str(doc), str(out), str(Path(__file__).parent)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def bench_seed(work: Path, repeat: int = 3) -> dict:
    naive = []
    cold = []
    report: dict = {}
    for i in range(repeat):
        naive.append(naive_in_subprocess(SEED, work / f"naive{i}.mp3"))
        wall, report, _ = run_build(
            SEED, work / f"seed{i}.mp3", work / f"cache-seed{i}"
        )
        cold.append(wall)
    n, c = min(naive), min(cold)
    audio_s = report["duration_s"]
    print(
        f"seed: {len(report['chapters'])} sections, {audio_s:.1f} s of audio "
        f"(best of {repeat})"
    )
    print(f"  naive (espeak whole text + one ffmpeg encode): {n:.2f} s")
    print(
        f"  narrator build, cold cache:                    {c:.2f} s"
        f"  = {c / n:.2f}x naive  ({audio_s / c:.0f}x real time)"
    )
    return {"naive_s": n, "narrator_s": c, "ratio": c / n, "audio_s": audio_s}


def make_long_document(
    path: Path, sections: int = 18, seed: int = 7
) -> tuple[int, int]:
    """A long French document (>= 60,000 characters, >= 15 sections) assembled
    from the seed's and the example's sentences, each section made unique."""
    from narrator.build.plan import read_document
    from narrator.speech.sentences import split_sentences

    rng = random.Random(seed)
    pool = []
    for src in (SEED, REPO / "examples" / "exemple.md"):
        for section in read_document(src).sections:
            for paragraph in section.paragraphs:
                pool.extend(s for s in split_sentences(paragraph.text) if len(s) > 30)
    topics = [
        "le calcul",
        "les données",
        "la sécurité",
        "les créateurs",
        "le travail",
        "les modèles",
        "la recherche",
        "les usages",
        "la régulation",
        "l'énergie",
        "les écoles",
        "la santé",
        "les langues",
        "la presse",
        "les villes",
        "la culture",
        "le climat",
        "la confiance",
        "les outils",
        "l'avenir",
    ]
    lines = []
    chars = 0
    for n in range(1, sections + 1):
        lines.append(f"Partie {n} : {topics[(n - 1) % len(topics)]}")
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
    heading = f"Partie {sections // 2} "
    mid = next(i for i, line in enumerate(text) if line.startswith(heading)) + 1
    text[mid] = text[mid].replace(" ", " très ", 1)
    doc.write_text("\n".join(text), encoding="utf-8")
    edit, report_edit, _ = run_build(doc, out, cache)
    noop, report_noop, _ = run_build(doc, out, cache)
    print(
        f"long: {chars} characters, {sections} sections, {audio_min:.1f} min of audio"
    )
    print(f"  cold build:          {cold:6.2f} s  (1.00x)")
    print(
        f"  one-section edit:    {edit:6.2f} s  ({edit / cold:.3f}x cold; "
        f"{report_edit['sections_synthesized']} synthesized)"
    )
    print(
        f"  no-op rebuild:       {noop:6.2f} s  ({noop / cold:.3f}x cold; "
        f"up_to_date={report_noop.get('up_to_date')})"
    )
    return {
        "chars": chars,
        "sections": sections,
        "audio_min": audio_min,
        "cold_s": cold,
        "edit_s": edit,
        "noop_s": noop,
        "edit_ratio": edit / cold,
        "noop_ratio": noop / cold,
    }


def cost_shares(doc: Path, work: Path) -> dict:
    """Time each step of a cold build, sequentially in this process (one thread),
    to show where build time goes: synthesis, clip decode/trim/loudness,
    mastering (resample, gain, true-peak limiter, fades), MP3 encoding."""
    from narrator.audio.decode import make_clip
    from narrator.audio.render import (
        PCM_FORMAT,
        PRESETS,
        SegmentLayout,
        render_clip,
    )
    from narrator.build.plan import prepare, read_document
    from narrator.config import Pauses
    from narrator.container.encode import encode_segment
    from narrator.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    preset = PRESETS["phone"]
    sections, _ = prepare(read_document(doc), "espeak", {})
    t = {"synthesis": 0.0, "clip": 0.0, "mastering": 0.0, "encoding": 0.0}
    for _title, utts in sections:
        t0 = time.perf_counter()
        audios = engine.synthesize([u.text for u in utts])
        t1 = time.perf_counter()
        clip = make_clip(audios)
        t2 = time.perf_counter()
        chunks = list(
            render_clip(
                clip,
                [u.pause for u in utts],
                preset,
                Pauses(),
                lead_ms=300,
                tail_ms=1300,
                target_lufs=None,
                layout=SegmentLayout(),
            )
        )
        t3 = time.perf_counter()
        encode_segment(
            iter(chunks), preset.fmt, work / "share.mp3", sample_format=PCM_FORMAT
        )
        t4 = time.perf_counter()
        t["synthesis"] += t1 - t0
        t["clip"] += t2 - t1
        t["mastering"] += t3 - t2
        t["encoding"] += t4 - t3
    total = sum(t.values())
    print(
        f"  where a cold build's time goes ({doc.name}, one thread, {total:.2f} s): "
        + ", ".join(f"{k} {v / total:.0%}" for k, v in t.items())
    )
    return {k + "_share": v / total for k, v in t.items()}


def bench_memory(work: Path) -> dict:
    _, seed_report, seed_rss = run_build(
        SEED, work / "mem-seed.mp3", work / "cache-mem-seed"
    )
    doc = work / "long-mem.txt"
    make_long_document(doc, seed=11)
    _, long_report, long_rss = run_build(
        doc, work / "mem-long.mp3", work / "cache-mem-long"
    )
    print(
        "memory: peak RSS of a cold build: "
        f"seed ({seed_report['duration_s'] / 60:.0f} min) {seed_rss:.0f} MB, "
        f"long ({long_report['duration_s'] / 60:.0f} min) {long_rss:.0f} MB"
    )
    shares = cost_shares(SEED, work)
    return {
        "seed_rss_mb": seed_rss,
        "long_rss_mb": long_rss,
        "long_audio_min": long_report["duration_s"] / 60,
        **shares,
    }


def make_line_document(path: Path, chars: int = 300_000, seed: int = 5) -> int:
    """One line of ``chars`` characters of French words and no punctuation at
    all (about 5 hours of speech): one section, one sentence."""
    from narrator.build.plan import read_document

    rng = random.Random(seed)
    words: list[str] = []
    for section in read_document(REPO / "examples" / "exemple.md").sections:
        for paragraph in section.paragraphs:
            words.extend(w for w in paragraph.text.split() if w.isalpha())
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(words).lower()
        out.append(word)
        size += len(word) + 1
    line = " ".join(out)[:chars].rsplit(" ", 1)[0]
    path.write_text(line + "\n", encoding="utf-8")
    return len(line)


def floor_in_subprocess(doc: Path, out: Path) -> tuple[float, str]:
    """The bare floor: espeak-ng's CLI speaks the text to a WAV, then one CBR
    encode with ffmpeg, one after the other. Without the CLI, the bundled
    library through ctypes (``naive_pipeline``) stands in for it."""
    from narrator.ffmpeg import ffmpeg_exe

    cli = shutil.which("espeak-ng")
    if cli is None:
        return naive_in_subprocess(doc, out), "bundled libespeak-ng (ctypes)"
    wav = out.with_suffix(".wav")
    t0 = time.perf_counter()
    subprocess.run(
        [cli, "-v", "fr", "-s", "165", "-w", str(wav), "-f", str(doc)], check=True
    )
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar"]
        + ["44100", "-c:a", "libmp3lame", "-b:a", "64k", str(out)],
        check=True,
    )
    return time.perf_counter() - t0, f"espeak-ng CLI ({cli})"


def split_halves(doc: Path, work: Path) -> list[Path]:
    """Cut a document at the line boundary nearest half its characters."""
    lines = doc.read_text(encoding="utf-8").splitlines(keepends=True)
    total, acc, cut = sum(map(len, lines)), 0, len(lines)
    for i, line in enumerate(lines):
        acc += len(line)
        if acc >= total / 2:
            cut = i + 1
            break
    halves = [work / "half-a.txt", work / "half-b.txt"]
    halves[0].write_text("".join(lines[:cut]), encoding="utf-8")
    halves[1].write_text("".join(lines[cut:]), encoding="utf-8")
    return halves


def parallel_floor(doc: Path, work: Path) -> float | None:
    """The floor's own work on both cores: each half of the text through the
    espeak-ng CLI and one CBR encode, the two halves at once. No build that
    encodes as much audio with the same LAME settings can beat it on this
    machine (narrator's seed has more audio: the pauses); None without the CLI.
    """
    from concurrent.futures import ThreadPoolExecutor

    from narrator.ffmpeg import ffmpeg_exe

    cli = shutil.which("espeak-ng")
    if cli is None:
        return None
    ffmpeg = ffmpeg_exe()

    def chain(text: Path) -> None:
        wav = text.with_suffix(".wav")
        subprocess.run(
            [cli, "-v", "fr", "-s", "165", "-w", str(wav), "-f", str(text)], check=True
        )
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-i", str(wav), "-ac", "1", "-ar"]
            + ["44100", "-c:a", "libmp3lame", "-b:a", "64k"]
            + [str(text.with_suffix(".mp3"))],
            check=True,
        )

    halves = split_halves(doc, work)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(chain, halves))
    return time.perf_counter() - t0


def bench_floor(work: Path, repeat: int = 5) -> dict:
    """The seed against the floor, and the floor's work split over both cores."""
    floors, halves, colds = [], [], []
    what = ""
    for i in range(repeat):
        wall, what = floor_in_subprocess(SEED, work / f"floor{i}.mp3")
        floors.append(wall)
        split = parallel_floor(SEED, work)
        if split is not None:
            halves.append(split)
        colds.append(run_build(SEED, work / f"s{i}.mp3", work / f"cache-s{i}")[0])
    floor, seed = min(floors), min(colds)
    print(f"floor ({what} + one ffmpeg CBR encode), best of {repeat}: {floor:.2f} s")
    bound = min(halves) if halves else None
    if bound is not None:
        print(
            f"  the floor's work in two halves at once (both cores): {bound:.2f} s"
            f" = {bound / floor:.2f}x floor"
        )
    print(
        f"  seed cold build, best of {repeat}: {seed:.2f} s = {seed / floor:.2f}x floor"
    )
    return {
        "floor": what,
        "floor_s": floor,
        "parallel_floor_s": bound,
        "parallel_floor_ratio": bound / floor if bound is not None else None,
        "seed_s": seed,
        "seed_ratio": seed / floor,
    }


def bench_issue11(work: Path, repeat: int = 3) -> dict:
    """Every figure of issue 11's "Must show", as ratios measured in this run."""
    seed_figures = bench_floor(work, repeat)
    doc = work / "long.txt"
    chars, sections = make_long_document(doc)
    cache, out = work / "cache-long", work / "long.mp3"
    cold, report, cold_rss = run_build(doc, out, cache)
    text = doc.read_text(encoding="utf-8").split("\n")
    mid = next(
        i for i, t in enumerate(text) if t.startswith(f"Partie {sections // 2} ")
    )
    text[mid + 1] = text[mid + 1].replace(" ", " très ", 1)
    doc.write_text("\n".join(text), encoding="utf-8")
    edit, _, edit_rss = run_build(doc, out, cache)
    noop, noop_report, _ = run_build(doc, out, cache)
    long_min = report["duration_s"] / 60
    print(f"long: {chars} characters, {sections} sections, {long_min:.1f} min")
    print(f"  cold {cold:.2f} s, peak RSS {cold_rss:.0f} MB")
    print(f"  one-word edit {edit:.2f} s = {edit / cold:.3f}x cold ({edit_rss:.0f} MB)")
    print(
        f"  no-op {noop:.2f} s = {noop / cold:.3f}x cold"
        f" (up_to_date={noop_report['up_to_date']})"
    )
    line = work / "line.txt"
    line_chars = make_line_document(line)
    wall, line_report, line_rss = run_build(line, work / "line.mp3", work / "cache-l")
    line_min = line_report["duration_s"] / 60
    per_min = (wall / line_min) / (cold / long_min)
    print(f"line: {line_chars} characters unpunctuated, {line_min:.1f} min")
    print(
        f"  build {wall:.1f} s, peak RSS {line_rss:.0f} MB, time per audio minute"
        f" {per_min:.2f}x the long document's"
    )
    return {
        **seed_figures,
        "long_min": long_min,
        "long_sections": sections,
        "long_cold_s": cold,
        "long_rss_mb": cold_rss,
        "edit_s": edit,
        "edit_ratio": edit / cold,
        "edit_rss_mb": edit_rss,
        "noop_s": noop,
        "noop_ratio": noop / cold,
        "line_chars": line_chars,
        "line_min": line_min,
        "line_s": wall,
        "line_rss_mb": line_rss,
        "line_per_minute_ratio": per_min,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which",
        choices=["seed", "floor", "long", "memory", "issue11", "all"],
        nargs="?",
        default="all",
    )
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
        if args.which == "floor":
            results["floor"] = bench_floor(work)
        if args.which in ("issue11", "all"):
            results["issue11"] = bench_issue11(work)
        print(json.dumps(results, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
