"""CRC-16 as LAME computes it (ARC: reflected polynomial 0xA001, initial value 0).

The LAME tag of the Info frame carries two: the CRC of the tag itself and the
"music CRC" of every audio frame after it. An episode is spliced from cached
segments, so the music CRC is combined from each segment's own CRC
(:func:`crc16_combine`) instead of re-reading hours of audio. A leaf: the
Info frame, encoding and splicing all use it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

_CRC_BLOCK_BYTES = 256
_READ_CHUNK_BYTES = 1 << 20


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _shift_matrix(zero_bytes: int) -> tuple[int, ...]:
    """Return the map 'CRC state after ``zero_bytes`` zero bytes' as 16 columns.

    Feeding zeros is linear in the state, so this is a 16x16 bit matrix;
    column ``i`` is the image of state ``1 << i``.
    """
    table = _crc_table()

    def one_byte(state: int) -> int:
        return table[state & 0xFF] ^ (state >> 8)

    result = tuple(1 << i for i in range(16))  # identity
    power = tuple(one_byte(1 << i) for i in range(16))  # one zero byte
    n = zero_bytes
    while n:
        if n & 1:
            result = tuple(_apply(power, col) for col in result)
        power = tuple(_apply(power, col) for col in power)
        n >>= 1
    return result


def _apply(matrix: tuple[int, ...], state: int) -> int:
    out = 0
    for i in range(16):
        if state >> i & 1:
            out ^= matrix[i]
    return out


@functools.cache
def _shift_tables(zero_bytes: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    matrix = _shift_matrix(zero_bytes)
    low = tuple(_apply(matrix, v) for v in range(256))
    high = tuple(_apply(matrix, v << 8) for v in range(256))
    return low, high


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """Return the CRC-16 of ``a + b`` from the CRCs of ``a`` and ``b``."""
    return _apply(_shift_matrix(length_b), crc_a) ^ crc_b


def crc16(data: bytes | memoryview, crc: int = 0) -> int:
    """Return the CRC-16 LAME uses (ARC: poly 0xA001 reflected) of ``data``.

    Vectorized with numpy: the data is cut into blocks whose CRCs are computed
    side by side, then folded together (the CRC is linear), so a whole
    episode's music CRC costs well under a second.
    """
    table = _crc_table()
    arr = np.frombuffer(data, dtype=np.uint8)
    head = len(arr) % _CRC_BLOCK_BYTES
    for byte in arr[:head].tolist():
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    if len(arr) == head:
        return crc
    blocks = arr[head:].reshape(-1, _CRC_BLOCK_BYTES).T.astype(np.uint16)
    lookup = np.array(table, dtype=np.uint16)
    states = np.zeros(blocks.shape[1], dtype=np.uint16)
    for column in blocks:
        states = lookup[(states ^ column) & 0xFF] ^ (states >> 8)
    low, high = _shift_tables(_CRC_BLOCK_BYTES)
    for state in states.tolist():
        crc = low[crc & 0xFF] ^ high[crc >> 8] ^ state
    return crc


def file_crc16(path: Path, offset: int = 0, size: int | None = None) -> int:
    """Return the CRC-16 of ``size`` bytes of ``path`` from ``offset`` (all: None).

    Read in chunks: a segment may be hours long.
    """
    crc = 0
    with path.open("rb") as source:
        source.seek(offset)
        remaining = size if size is not None else -1
        while remaining:
            want = _READ_CHUNK_BYTES
            if remaining > 0:
                want = min(remaining, want)
            chunk = source.read(want)
            if not chunk:
                break
            crc = crc16(chunk, crc)
            if remaining > 0:
                remaining -= len(chunk)
    return crc
