"""Process-wide settings made at the edges: one malloc arena, one BLAS thread.

glibc's malloc gives each thread that allocates while another holds the
lock an arena of its own (up to eight per core), and memory freed in one
arena serves only the threads attached to it. Mastering makes megabyte-sized
arrays for every utterance on every worker thread (and glibc soon serves
those from the arenas rather than from their own mappings, raising its mmap
threshold each time such a block is freed), so each arena kept its own
high-water mark: a long build's resident memory grew by ~20 MB per section
in flight, with nothing alive to show for it. One arena for the process lets
every thread reuse what any other freed.

An earlier version fixed the mmap threshold at 1 MiB instead (every big
array its own mapping, returned at once): the same peak on the long document
(88 MB), but each fresh mapping is paid in page faults, ~0.4 CPU-s of system
time on the seed, 8 % of its build (BENCHMARKS.md, issue 11).

numpy's OpenBLAS starts a thread per core when numpy is imported, and those
threads spin for a while after each call: ~0.07 CPU-s on `import numpy`
alone on two cores (0.13-0.14 s of user time against 0.05-0.07 s with one
thread), taken from the section that runs beside the start-up. narrator
makes no matrix product big enough for BLAS threads to pay (its parallelism
is sections on threads, and onnxruntime's own pool for Piper), so the
command line asks for one (``one_blas_thread``), unless the user set it.

The settings are process-wide, so they are made at the edges, not in a
library function: the malloc arena by the command line and a Dask worker,
the BLAS thread by the command line only (a worker has numpy loaded by the
time narrator runs there; it inherits the setting only from its environment).
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # glibc <malloc.h>
ARENAS = 1

_done = False


def bound_heap() -> bool:
    """Give the process one malloc arena; True when the setting took.

    Elsewhere (macOS, musl) there is nothing to do and this returns False.
    Calling it again is harmless. Call it before starting threads: a thread
    that already has an arena keeps it.
    """
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(M_ARENA_MAX, ARENAS) == 1)
    return _done


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS",)


def one_blas_thread() -> None:
    """Ask numpy's OpenBLAS for one thread, unless the environment says otherwise.

    Only takes effect before numpy is first imported (OpenBLAS reads it when
    it loads); child processes inherit it, which costs them nothing.
    """
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
