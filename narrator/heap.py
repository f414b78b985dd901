"""Keep the process's heap from creeping: a process-wide malloc setting.

glibc's malloc serves blocks of 128 KiB and more with their own ``mmap`` and
gives them back on ``free``, but each time such a block is freed it raises
that threshold to the block's size (up to 32 MiB). From then on, the
megabyte-sized arrays mastering makes for every utterance come from the heap
instead, and a heap shared by threads keeps the holes they leave: a long
build's resident memory grew by ~20 MB per section in flight, with nothing
alive to show for it. Fixing the threshold at 1 MiB gives every array of a
megabyte or more back to the system as soon as it dies, for no measurable
time (BENCHMARKS.md, issue 11).

The setting is process-wide, so it is made at the edges: the command line
and a Dask worker, not a library function.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc <malloc.h>
MMAP_THRESHOLD_BYTES = 1 << 20

_done = False


def bound_heap() -> bool:
    """Fix glibc's mmap threshold at 1 MiB; True when the setting took.

    Elsewhere (macOS, musl) there is nothing to do and this returns False.
    Calling it again is harmless.
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
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1)
    return _done
