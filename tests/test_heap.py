"""The heap setting that keeps a long build's memory flat (narrator/heap.py).

glibc reports its arenas itself (``malloc_info``): without the setting each
new thread that allocates gets one of its own; with it, every thread shares
one, so what one worker frees the next can reuse. (What that does to a long
build's peak memory is measured by ``scripts/bench.py``: BENCHMARKS.md.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import SEED

# Three threads allocate 2 MB each while all are alive, then glibc's own
# report of the process's heaps is counted.
PROBE = """
import ctypes, os, sys, tempfile, threading
import numpy as np
from narrator.heap import bound_heap

if sys.argv[1] == "bounded":
    assert bound_heap()
elif sys.argv[1] == "cli":
    from narrator.cli import main

    main(["sections", sys.argv[2]], standalone_mode=False)
barrier = threading.Barrier(4)

def work():
    block = np.ones(2_000_000 // 8)
    barrier.wait()
    del block

threads = [threading.Thread(target=work) for _ in range(3)]
for thread in threads:
    thread.start()
barrier.wait()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = os.path.join(tempfile.mkdtemp(), "malloc.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
with open(path) as report:
    print(report.read().count("<heap nr="))
"""


def _heaps(mode: str, *args: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_threads_share_one_heap() -> None:
    assert _heaps("none") > 1  # the probe sees glibc's per-thread arenas
    assert _heaps("bounded") == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_the_command_line_sets_it() -> None:
    assert _heaps("cli", str(SEED)) == 1
