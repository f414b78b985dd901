"""M4B build times on the 60-minute document, as ratios to the cold M4B build.

    .venv/bin/python scripts/bench_m4b.py

One run measures, each build a fresh process (as scripts/bench.py does):

* the cold MP3 build (for reference) and an M4B after it from the same cache
  (synthesizes nothing: one clip cache for every format);
* the cold M4B build (empty cache), the M4B after a one-word edit of the
  middle section, and the no-op rebuild;
* the durations ffprobe and mutagen read from the cold M4B against the
  build's own (when Debian's ffprobe is installed).

Nothing is asserted: the figures go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import machine, make_long_document, run_build  # noqa: E402


def edit_one_word(doc: Path, sections: int) -> None:
    text = doc.read_text(encoding="utf-8").split("\n")
    heading = f"Partie {sections // 2} "
    mid = next(i for i, line in enumerate(text) if line.startswith(heading)) + 1
    text[mid] = text[mid].replace(" ", " très ", 1)
    doc.write_text("\n".join(text), encoding="utf-8")


def durations(path: Path, built_s: float) -> str:
    from mutagen.mp4 import MP4

    said = [f"build {built_s:.4f} s", f"mutagen {MP4(path).info.length:.4f} s"]
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        out = subprocess.run(
            [ffprobe, "-v", "error", "-show_format", "-of", "json", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        said.append(f"ffprobe {float(json.loads(out)['format']['duration']):.4f} s")
    return ", ".join(said)


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory(prefix="narrator-bench-m4b-") as tmp:
        work = Path(tmp)
        doc = work / "long.txt"
        chars, sections = make_long_document(doc)
        shared = work / "cache-shared"
        mp3_s, mp3, _ = run_build(doc, work / "a" / "long.mp3", shared)
        after_s, after, _ = run_build(doc, work / "a" / "long.m4b", shared)
        cache = work / "cache-m4b"
        out = work / "b" / "long.m4b"
        cold_s, cold, rss = run_build(doc, out, cache)
        probe = durations(out, cold["duration_s"])
        edit_one_word(doc, sections)
        edit_s, edit, _ = run_build(doc, out, cache)
        noop_s, noop, _ = run_build(doc, out, cache)
    minutes = cold["duration_s"] / 60
    print(f"long: {chars} characters, {sections} sections, {minutes:.1f} min")
    print(f"  MP3 cold (reference):  {mp3_s:6.2f} s  ({mp3_s / cold_s:.3f}x cold M4B)")
    print(
        f"  M4B after the MP3:     {after_s:6.2f} s  ({after_s / cold_s:.3f}x; "
        f"{after['sections_synthesized']} synthesized)"
    )
    print(f"  M4B cold:              {cold_s:6.2f} s  (1.00x; peak RSS {rss:.0f} MB)")
    print(
        f"  one-word edit:         {edit_s:6.2f} s  ({edit_s / cold_s:.3f}x; "
        f"{edit['sections_synthesized']} synthesized)"
    )
    print(
        f"  no-op:                 {noop_s:6.2f} s  ({noop_s / cold_s:.3f}x; "
        f"up_to_date={noop['up_to_date']})"
    )
    print(f"  durations of the cold M4B: {probe}")
    print(f"  MP3 duration (same document): {mp3['duration_s']:.4f} s")


if __name__ == "__main__":
    main()
