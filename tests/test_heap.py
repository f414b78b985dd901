"""The heap setting that keeps a long build's memory flat (narrator/heap.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import SEED

# Free a big block (glibc then raises its mmap threshold), make 30 blocks of
# 2 MB, free every other one: from the heap, the holes stay resident; from
# their own mappings, they go back to the system at once. (Without the
# setting, run by hand, the probe prints 0.0: glibc keeps every hole.)
PROBE = """
import sys
import numpy as np
from narrator.heap import bound_heap

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "bounded":
    assert bound_heap()
elif sys.argv[1] == "cli":
    from narrator.cli import main

    main(["sections", sys.argv[2]], standalone_mode=False)
big = np.ones(8_000_000 // 8)
del big
blocks = [np.ones(2_000_000 // 8) for _ in range(30)]
full = rss_mb()
del blocks[::2]
print(full - rss_mb())
"""


def _released_mb(mode: str, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_arrays_go_back_to_the_system() -> None:
    # 15 blocks of 2 MB were freed: at least 25 MB must have left.
    assert _released_mb("bounded") > 25


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_the_command_line_sets_it() -> None:
    assert _released_mb("cli", str(SEED)) > 25
