"""Where Piper inference time goes: onnxruntime settings on the medium voice.

Called by ``scripts/bench_piper.py tune``. The workload is the seed's first
inferences (narrator's own phonemization and chunking), run under each
setting in turn, interleaved over rounds, median wall per setting and its
ratio to narrator's setting (one shared session, one intra-op thread per
section, two sections at once, no spinning). Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

CHUNKS = 4


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


ROUNDS = 3


def workload(seed: Path, voice: Path) -> list[list[int]]:
    from narrator.build.plan import read_document
    from narrator.engines.phonemes import chunk_sentences, phoneme_ids
    from narrator.engines.piper import phonemize
    from narrator.engines.voicestore import read_config

    config = read_config(Path(f"{voice}.json"))
    out: list[list[int]] = []
    for section in read_document(seed).sections:
        for paragraph in section.paragraphs:
            for chunk in chunk_sentences(phonemize(paragraph.text, "fr")):
                out.append(phoneme_ids(chunk.phonemes, config.phoneme_id_map)[0])
                if len(out) == CHUNKS:
                    return out
    return out


def session(voice: Path, threads: int, **opts: Any) -> Any:
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = opts.get("inter", 1)
    o.execution_mode = opts.get("mode", ort.ExecutionMode.ORT_SEQUENTIAL)
    o.graph_optimization_level = opts.get(
        "level", ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    )
    o.enable_cpu_mem_arena = opts.get("arena", True)
    o.log_severity_level = 3
    if not opts.get("spin", False):
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(voice), sess_options=o, providers=["CPUExecutionProvider"]
    )


def feeds(ids: list[int]) -> dict[str, np.ndarray[Any, Any]]:
    return {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32),
    }


def run_all(sessions: list[Any], chunks: list[list[int]], workers: int) -> float:
    """Seconds of audio made (22,050 Hz); sessions[i % len] takes chunk i."""

    def one(i: int) -> int:
        out = sessions[i % len(sessions)].run(None, feeds(chunks[i]))[0]
        return int(out.size)

    if workers == 1:
        return sum(one(i) for i in range(len(chunks))) / 22050
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(one, range(len(chunks)))) / 22050


def iobinding(sess: Any, chunks: list[list[int]]) -> float:
    total = 0
    for ids in chunks:
        binding = sess.io_binding()
        for name, value in feeds(ids).items():
            binding.bind_cpu_input(name, value)
        binding.bind_output("output")
        sess.run_with_iobinding(binding)
        total += binding.copy_outputs_to_cpu()[0].size
    return total / 22050


def settings(voice: Path, chunks: list[list[int]]) -> dict[str, Callable[[], float]]:
    import onnxruntime as ort

    cores = os.cpu_count() or 1
    shared = session(voice, 1)
    pair = [session(voice, 1), session(voice, 1)]
    wide = session(voice, cores)
    wide_spin = session(voice, cores, spin=True)
    basic = session(voice, 1, level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
    no_opt = session(voice, 1, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    no_arena = session(voice, 1, arena=False)
    parallel = session(voice, 1, inter=cores, mode=ort.ExecutionMode.ORT_PARALLEL)
    batched = [a + b for a, b in zip(chunks[::2], chunks[1::2], strict=False)]
    return {
        "narrator: 1 session, 1 thread x 2 sections": lambda: run_all(
            [shared], chunks, 2
        ),
        "1 session per section": lambda: run_all(pair, chunks, 2),
        f"1 section, {cores} intra-op threads": lambda: run_all([wide], chunks, 1),
        f"1 section, {cores} threads, spinning (ort default)": lambda: run_all(
            [wide_spin], chunks, 1
        ),
        "graph optimization basic": lambda: run_all([basic], chunks, 2),
        "graph optimization off": lambda: run_all([no_opt], chunks, 2),
        "memory arena off": lambda: run_all([no_arena], chunks, 2),
        f"inter-op {cores} threads, parallel mode": lambda: run_all(
            [parallel], chunks, 2
        ),
        "2 sentences batched per inference": lambda: run_all([shared], batched, 2),
        "I/O binding (1 section)": lambda: iobinding(shared, chunks),
        "1 section, 1 thread (no binding)": lambda: run_all([shared], chunks, 1),
    }


def run(voice: Path, seed: Path) -> dict[str, float]:
    chunks = workload(seed, voice)
    cases = settings(voice, chunks)
    walls: dict[str, list[float]] = {name: [] for name in cases}
    audio: dict[str, float] = {}
    print(f"tune: {len(chunks)} inferences of the seed, {ROUNDS} rounds, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    for _ in range(ROUNDS):
        for name, case in cases.items():
            t0 = time.perf_counter()
            audio[name] = case()
            walls[name].append(time.perf_counter() - t0)
            print(f"    {name}: {walls[name][-1]:.2f} s", flush=True)
    base = statistics.median(walls[next(iter(cases))])
    result = {}
    for name in cases:
        wall = statistics.median(walls[name])
        result[name] = wall / base
        print(f"  {name:52s} {wall:6.2f} s  {wall / base:5.2f}x  "
              f"({audio[name] / wall:.2f}x real time)")  # fmt: skip
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    return result


def _probe(voice: Path, seed: Path, max_phonemes: int, arena: bool) -> None:
    """In a process of its own: the seed's 8 longest inferences, 2 at a time."""
    import resource

    from narrator.build.plan import read_document
    from narrator.engines.phonemes import chunk_sentences, phoneme_ids
    from narrator.engines.piper import phonemize
    from narrator.engines.voicestore import read_config

    config = read_config(Path(f"{voice}.json"))
    chunks = [
        phoneme_ids(c.phonemes, config.phoneme_id_map)[0]
        for s in read_document(seed).sections
        for p in s.paragraphs
        for c in chunk_sentences(phonemize(p.text, "fr"), max_phonemes)
    ]
    chunks = sorted(chunks, key=len, reverse=True)[:8]  # the peak is the longest's
    t0 = time.perf_counter()
    audio = run_all([session(voice, 1, arena=arena)], chunks, 2)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    longest = max(len(c) for c in chunks)
    print(f"{peak:.0f} {wall:.1f} {audio:.1f} {len(chunks)} {longest}")


def memory(voice: Path, seed: Path) -> None:
    """Peak RSS against the longest inference and the memory arena."""
    import subprocess
    import sys

    print(f"memory: the seed's 8 longest inferences, 2 at once; {load()}")
    for max_phonemes in (300, 200, 120):
        for arena in (True, False):
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]);"
                "import bench_piper_tune as t;"
                "from pathlib import Path;"
                "t._probe(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]),"
                " sys.argv[5] == '1')"
            )
            args = [
                str(Path(__file__).parent),
                str(voice),
                str(seed),
                str(max_phonemes),
            ]
            done = subprocess.run(
                [sys.executable, "-c", code, *args, "1" if arena else "0"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            peak, wall, audio, n, longest = done.stdout.split()
            print(f"  max {max_phonemes} phonemes, arena {'on ' if arena else 'off'}: "
                  f"peak RSS {peak} MB, {wall} s for {audio} s of audio, {n} "
                  f"inferences, longest {longest} ids", flush=True)  # fmt: skip
