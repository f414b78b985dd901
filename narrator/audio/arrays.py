"""Array helpers the DSP modules share: one shape and one dtype rule for all.

A leaf (it imports no narrator module), so that loudness, peaks and shaping sit one
step above it and the modules that master audio stay within the depth the
architecture test allows.
"""

from __future__ import annotations

import numpy as np


def as_2d(x: np.ndarray) -> np.ndarray:
    """Return a ``(n, channels)`` view of a mono or multichannel array."""
    arr = np.asarray(x)
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim == 2:
        return arr
    raise ValueError(f"audio must be shaped (n,) or (n, channels), got {arr.shape}")


def float_dtype(x: np.ndarray) -> np.dtype[np.floating]:
    """Pick the output dtype: keep float32/float64, promote anything else."""
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)


def owned(x: np.ndarray, dtype: np.dtype, inplace: bool) -> np.ndarray:
    """``x`` itself when it may be changed in place (a float array of
    ``dtype``), else a copy of it in ``dtype``."""
    if inplace and isinstance(x, np.ndarray) and x.dtype == dtype:
        return x
    return np.array(x, dtype=dtype, copy=True)
