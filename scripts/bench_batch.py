"""Catalogue builds (issue 14): N documents as one batch vs N sequential builds.

    .venv/bin/python scripts/bench_batch.py            # N = 6
    .venv/bin/python scripts/bench_batch.py -n 10 --repeat 2
    .venv/bin/python scripts/bench_batch.py --model   # docs/SCALING.md's table

Three ways to build the same N distinct documents (the reference summary with
every paragraph prefixed by its document number, so no section is shared),
each from a cold cache, each command a fresh process as a user runs it:

- sequential: ``narrator build`` once per document (what issue 14 replaces);
- batch: one ``narrator batch`` over the folder (one pool for all sections);
- dask: ``narrator batch --scheduler`` on a 2-worker LocalCluster (worker
  processes on this machine, started before the clock runs, fresh worker
  caches per run).

Engine: espeak (offline). Figures are ratios to the sequential run of the same
invocation; nothing is asserted. Copy them into BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"
NARRATOR = [sys.executable, "-m", "narrator"]


def make_documents(folder: Path, n: int) -> list[Path]:
    """N documents with the seed's sections, each sentence set unique."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    docs = []
    for i in range(1, n + 1):
        text = []
        for line in lines:
            is_title = len(line) < 80 and not line.endswith(".")
            text.append(line if is_title else f"Document {i}. {line}")
        path = folder / f"doc{i:02d}.txt"
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        docs.append(path)
    return docs


def timed(cmd: list[str | Path], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(c) for c in cmd], env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{proc.stderr}")
    return took


def sequential(docs: list[Path], work: Path, env: dict[str, str]) -> float:
    out = work / "seq"
    cache = work / "seq-cache"
    total = 0.0
    for doc in docs:
        total += timed(
            [
                *NARRATOR,
                "build",
                doc,
                "-o",
                out / f"{doc.stem}.mp3",
                "--engine",
                "espeak",
                "--cache-dir",
                cache,
                "-q",
            ],
            env,
        )
    return total


def batch(
    folder: Path, work: Path, env: dict[str, str], name: str, *extra: str
) -> float:
    return timed(
        [
            *NARRATOR,
            "batch",
            folder,
            "-o",
            work / name,
            "--engine",
            "espeak",
            "--cache-dir",
            work / f"{name}-cache",
            "-q",
            *extra,
        ],
        env,
    )


def on_dask(folder: Path, work: Path, env: dict[str, str], run: int) -> float:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        local_directory=str(work / f"dask-scratch-{run}"),
    ) as cluster:
        return batch(
            folder, work, env, f"dask{run}", "--scheduler", cluster.scheduler_address
        )


# -- the throughput model of docs/SCALING.md -------------------------------------

EPISODES = 10_000
SECTIONS_PER_EPISODE = 11  # the reference summary
AUDIO_MIN_PER_EPISODE = 5.0
# Core-seconds per minute of audio, mastering + encoding (any engine): the
# seed's cold build is 2.77 s on 2 cores for 5.07 min, 86 % of it mastering
# and encoding (BENCHMARKS.md, issue 2).
MASTER_CORE_S_PER_MIN = 2.77 * 2 / 5.07 * 0.86
# Per engine: core-seconds of synthesis per minute of audio, and the limit of
# one network address in minutes of audio per hour (None: no such limit).
ENGINES = {
    # espeak: 11 % of the seed's cold build.
    "espeak": (2.77 * 2 / 5.07 * 0.11, None),
    # piper: ASSUMED 10x real time per core for a medium VITS voice (not
    # measured here: no real voice can be downloaded on this machine).
    "piper": (60 / 10, None),
    # gtts: 84 requests for the seed's 5.07 min, 4 in flight, ASSUMED 0.4 s
    # per request from a real client (the bench's fake adds 0.15 s).
    "gtts": (0.2, 60 * 4 / 0.4 / (84 / 5.07)),
    # edge: the service streams at 10x real time, 8 requests in flight.
    "edge": (0.2, 60 * 10 * 8 / 60),
}


def hours(
    minutes: float, core_h: float, per_address: float | None, cores: int, addresses: int
) -> float:
    """Wall hours: the CPU bound, or the network addresses' bound if slower."""
    cpu = core_h / cores
    if per_address is None:
        return cpu
    return max(cpu, minutes / (per_address * addresses) / 60)


def model() -> None:
    """Hours to voice the whole catalogue, by engine, cores and addresses."""
    minutes = EPISODES * AUDIO_MIN_PER_EPISODE
    print(
        f"{EPISODES} episodes, {EPISODES * SECTIONS_PER_EPISODE} sections, "
        f"{minutes / 60:.0f} h of audio"
    )
    print(
        "| engine | core-hours | 2 cores, 1 address | 64 cores, 1 address "
        "| 64 cores, 16 addresses |"
    )
    print("|---|---|---|---|---|")
    for name, (synth, per_address) in ENGINES.items():
        core_h = minutes * (synth + MASTER_CORE_S_PER_MIN) / 3600

        cells = " | ".join(
            f"{hours(minutes, core_h, per_address, c, a):.1f} h"
            for c, a in ((2, 1), (64, 1), (64, 16))
        )
        print(f"| {name} | {core_h:.0f} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=6, help="documents [6]")
    parser.add_argument("--repeat", type=int, default=1, help="runs; best kept [1]")
    parser.add_argument("--no-dask", action="store_true", help="skip the cluster")
    parser.add_argument("--model", action="store_true", help="print the model")
    args = parser.parse_args()
    if args.model:
        model()
        return
    env = {**os.environ, "NARRATOR_ENGINE": "espeak"}
    env.pop("NARRATOR_JOBS", None)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="narrator-bench-batch-") as tmp:
        root = Path(tmp)
        folder = root / "show"
        folder.mkdir()
        docs = make_documents(folder, args.n)
        for run in range(args.repeat):
            work = root / f"run{run}"
            figures = {
                "sequential": sequential(docs, work, env),
                "batch": batch(folder, work, env, "batch"),
            }
            if not args.no_dask:
                figures["dask"] = on_dask(folder, work, env, run)
            for key, value in figures.items():
                best[key] = min(best.get(key, value), value)
            shutil.rmtree(work, ignore_errors=True)
    base = best["sequential"]
    print(
        f"{args.n} documents x 11 sections, {os.cpu_count()} CPUs, best of "
        f"{args.repeat}"
    )
    print("| run | wall time | ratio to sequential |")
    print("|---|---|---|")
    for key, value in best.items():
        print(f"| {key} | {value:.2f} s | {value / base:.2f}x |")


if __name__ == "__main__":
    main()
