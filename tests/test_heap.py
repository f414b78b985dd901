"""The heap setting that keeps a long build's memory flat (narrator/heap.py).

glibc reports its arenas itself (``malloc_info``): without the setting each
new thread that allocates gets one of its own; with it, every thread shares
one, so what one worker frees the next can reuse. (What that does to a long
build's peak memory is measured by ``scripts/bench.py``: BENCHMARKS.md.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from narrator.heap import BLAS_THREAD_VARIABLES
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


THREADS = """
import os
import narrator.cli
import numpy
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_command_line_asks_numpy_for_one_blas_thread() -> None:
    """OpenBLAS would start a spinning thread per core at ``import numpy``;
    the command line asks for none beyond the main one, and a user's own
    setting stands (narrator/heap.py)."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}

    def threads(**extra: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", THREADS],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return int(run.stdout)

    assert threads() == 1
    if (os.cpu_count() or 1) > 1:
        assert threads(OPENBLAS_NUM_THREADS="2") == 2


def test_a_build_does_not_import_the_other_commands() -> None:
    """Commands are imported when they run: a build's start-up does not pay
    for publishing, feed checks and HTTP (narrator/cli/__init__.py)."""
    probe = (
        "import sys\n"
        "from narrator.cli import main\n"
        "main(['sections', sys.argv[1]], standalone_mode=False)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('narrator.'))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(SEED)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(run.stdout.split())
    assert "narrator.cli.build" in loaded
    for other in ("narrator.cli.publish", "narrator.cli.batch", "narrator.check.feed"):
        assert other not in loaded
