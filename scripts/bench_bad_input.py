"""Time and memory of normalizing bad input: `narrator sections DOC --spoken`.

Issue 22's bad input: a 10,000-digit number, a 5,000-character chain of
units, 2,000 fractions in a row and a line of superscript letters, each in a
section of its own, plus one document holding all of them. Each is written
to a temporary folder and run through `narrator sections --spoken` in a
subprocess; its wall time and peak RSS (getrusage of the children, measured
per run in a fresh process) are printed beside a baseline measured in the
same run: the reference seed summary (tests/data/seed/*.txt).

Usage: .venv/bin/python scripts/bench_bad_input.py [--repeat 3] [--code CHECKOUT]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = sorted((ROOT / "tests" / "data" / "seed").glob("*.txt"))[0]

_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(done.returncode, wall, peak)
sys.stderr.write(done.stderr.decode("utf-8", "replace")[-2000:])
"""


def bad_inputs() -> dict[str, str]:
    """The documents, by name: one section per kind of bad input, and all."""
    digits = "Un nombre : " + "7" * 10_000 + "."
    units = ("3 km²/h/m³/µg/kWh/Mbit/s/€/mois/" * 200)[:5000] + "."
    fractions = " ".join(f"{i % 9 + 1}/{i % 97 + 2}" for i in range(2000)) + "."
    superscripts = ("ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ 1ᵉʳ 2ᵈᵉ Mˡˡᵉ " * 100).strip() + "."
    kinds = {
        "digits": digits,
        "units": units,
        "fractions": fractions,
        "superscripts": superscripts,
    }
    docs = {name: f"# {name}\n\n{body}\n" for name, body in kinds.items()}
    docs["all"] = "".join(f"# {name}\n\n{body}\n\n" for name, body in kinds.items())
    return docs


def measure(path: Path, code_dir: Path = ROOT) -> tuple[int, float, float]:
    """Return (exit code, seconds, peak MB) of `sections PATH --spoken`."""
    cmd = [sys.executable, "-m", "narrator", "sections", str(path), "--spoken"]
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd],
        capture_output=True,
        text=True,
        check=True,
        cwd=code_dir,
    )
    code, wall, peak_kb = out.stdout.split()
    if int(code) != 0:
        sys.stderr.write(out.stderr)
    return int(code), float(wall), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per document")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="checkout whose narrator runs (another branch, for a before/after)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = {"seed (baseline)": SEED}
        for name, text in bad_inputs().items():
            path = Path(tmp) / f"{name}.md"
            path.write_text(text, "utf-8")
            docs[name] = path
        base_wall = base_mb = 0.0
        header = ("document", "bytes", "exit", "s (best)", "MB", "x seed")
        print("{:18} {:>8} {:>4} {:>9} {:>7} {:>7}".format(*header))
        for name, path in docs.items():
            runs = [measure(path, args.code) for _ in range(args.repeat)]
            code = max(r[0] for r in runs)
            wall = min(r[1] for r in runs)
            peak = max(r[2] for r in runs)
            if name.startswith("seed"):
                base_wall, base_mb = wall, peak
            ratio = wall / base_wall if base_wall else float("nan")
            size = path.stat().st_size
            print(f"{name:18} {size:8d} {code:4d} {wall:9.2f} {peak:7.1f} {ratio:7.2f}")
        print(
            f"(seed: {base_wall:.2f} s, {base_mb:.1f} MB; {time.strftime('%Y-%m-%d')})"
        )


if __name__ == "__main__":
    main()
