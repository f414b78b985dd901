"""Run narrator's CLI in a process that starts on a signal and can stop midway.

    python tests/publish_driver.py GO READY PAUSE narrator-arguments...

It imports narrator, touches READY, waits until the file GO exists (so that
several of them start within milliseconds), then runs the CLI with the given
arguments. PAUSE is empty, or ``write:K:MARKER`` / ``rename:K:MARKER``: at the
K-th file a publish stages (``atomic.write_temp`` into the staging folder),
or at its K-th rename out of it (``atomic.replace``; the journal's is the
first), the process touches MARKER and sleeps, for the test to kill it there.
It patches narrator's one write and rename seam (``narrator.atomic``), which
exists so that a test can stop a writer at any of them; narrator itself has
no test hook.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from narrator import atomic
from narrator.cli import main
from narrator.publish.transaction import STAGING


def _pause_at(kind: str, k: int, marker: Path) -> None:
    counts = {"write": 0, "rename": 0}
    write_temp, replace = atomic.write_temp, atomic.replace

    def stop_if(step: str) -> None:
        if step == kind and counts[step] == k:
            marker.touch()
            time.sleep(3600)
        counts[step] += 1

    def staged_write(folder: Path, prefix: str, data: bytes) -> Path:
        if folder.name == STAGING:
            stop_if("write")
        return write_temp(folder, prefix, data)

    def staged_replace(source: Path, target: Path) -> None:
        if source.parent.name == STAGING:
            stop_if("rename")
        replace(source, target)

    atomic.write_temp = staged_write
    atomic.replace = staged_replace


def run() -> None:
    go, ready, pause, *args = sys.argv[1:]
    if pause:
        kind, k, marker = pause.split(":", 2)
        _pause_at(kind, int(k), Path(marker))
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.001)
    main(args=args, prog_name="narrator")


if __name__ == "__main__":
    run()
