"""What `narrator check` costs, and what it adds to `build` and `publish`.

    .venv/bin/python scripts/bench_check.py

One run: the seed is built (phone preset, MP3 and M4B, a fresh cache) in a
subprocess and timed; then the rules `build` runs on what it wrote are timed
in this process (the added cost, best of 5, imports already paid by the build),
and `narrator check FILE` is timed as a user runs it (a subprocess) against
`narrator --version` (the CLI's own start-up). Figures are ratios to the
baselines of the same run; nothing is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def best(fn: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    sys.path.insert(0, str(REPO))
    from narrator.check.inspect import check_path

    narrator = [sys.executable, "-m", "narrator"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, NARRATOR_ENGINE="espeak", XDG_CACHE_HOME=str(work))
        out = work / "seed.mp3"
        build_s = timed(
            [*narrator, "build", str(SEED), "-o", str(out), "--format", "mp3",
             "--format", "m4b", "--title", "Seed", "--quiet"],
            env,
        )  # fmt: skip
        files = [out, out.with_suffix(".m4b")]
        rules_s = best(lambda: [check_path(f) for f in files])
        version_s = min(timed([*narrator, "--version"], env) for _ in range(3))
        check_s = min(timed([*narrator, "check", str(out)], env) for _ in range(3))
    print(f"cold build of the seed (mp3 + m4b): {build_s:.2f} s")
    print(
        f"rules on what it wrote: {rules_s * 1000:.1f} ms "
        f"= {rules_s / build_s:.2%} of the build"
    )
    print(
        f"`narrator check seed.mp3`: {check_s:.2f} s, `narrator --version` "
        f"{version_s:.2f} s (x{check_s / version_s:.2f})"
    )


if __name__ == "__main__":
    main()
