"""Regenerate tests/data/blank.mp3: one second of silence, CBR 64 kbps mono.

Tag tests copy it and write frames in front of its audio. Run:
    .venv/bin/python scripts/make_blank_mp3.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from narrator.ffmpeg import ffmpeg_exe

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "blank.mp3"


def main() -> None:
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=mono",
            "-t",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-id3v2_version",
            "0",
            "-map_metadata",
            "-1",
            str(OUT),
        ],
        check=True,
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
