"""A network voice's pieces joined back into one utterance.

A network voice (gTTS, Edge) refuses long texts and pads each answer with
uneven silence. ``speech.pieces.split_pieces`` cuts an utterance where a French
reader takes a breath (sentence, clause, then word boundaries); ``join_pieces``
trims each piece's padding to a consistent margin and puts a pause chosen by the
kind of cut between them. Also here: decoding the MP3 pieces both engines
receive. Changing the trimming or gaps changes the sound: engines that use them
carry an assembly version in their identity.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np

from narrator.audio.shaping import from_int16, trim_silence
from narrator.errors import AudioError
from narrator.ffmpeg import decode_bytes, decode_many

# Silence kept at the start and end of an utterance, and at the inner edges of
# pieces (before the gap that replaces the service's own uneven padding).
OUTER_KEEP_MS = 40
INNER_KEEP_MS = 10
# Pause inserted where two pieces of one utterance meet, by kind of break.
GAP_MS = {"sentence": 250, "clause": 120, "word": 30, "hard": 0}
SILENCE_DBFS = -50.0
WINDOW_MS = 5


def sound_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int] | None:
    """Return (first, end) sample indexes of the audible part, or None if silent.

    Any sample over ``SILENCE_DBFS`` is audible (peak gate), and the edges stay
    on the ``WINDOW_MS`` grid: changing either would change the joined sound,
    and with it the cache identity (``ASSEMBLY_VERSION``).
    """
    first, end = trim_silence(
        from_int16(samples),
        sample_rate,
        SILENCE_DBFS,
        gate="peak",
        window_ms=WINDOW_MS,
        exact=False,
    )
    return None if first == end else (first, end)


def join_pieces(
    pcms: Sequence[bytes], breaks: Sequence[str], sample_rate: int
) -> bytes:
    """Join the PCM of one utterance's pieces into one flowing PCM run.

    Each piece loses the service's padding: OUTER_KEEP_MS of silence stays at
    the utterance's edges, INNER_KEEP_MS at the inner edges, and a pause chosen
    by the kind of break (GAP_MS) goes between pieces.
    """
    return join_pieces_placed(pcms, breaks, sample_rate)[0]


def join_pieces_placed(
    pcms: Sequence[bytes], breaks: Sequence[str], sample_rate: int
) -> tuple[bytes, list[tuple[int, int, int]]]:
    """``join_pieces``, and where each piece went: (kept start, kept end, offset
    in the joined audio), in samples, so timings given per piece can follow."""
    out = array("h")
    placed: list[tuple[int, int, int]] = []
    per_ms = sample_rate // 1000
    last = len(pcms) - 1
    for index, pcm in enumerate(pcms):
        samples = array("h")
        samples.frombytes(pcm)
        bounds = sound_bounds(np.frombuffer(pcm, dtype=np.int16), sample_rate)
        if bounds is None:
            # Nothing audible: keep the gap only.
            start = end = 0
        else:
            keep_before = (OUTER_KEEP_MS if index == 0 else INNER_KEEP_MS) * per_ms
            keep_after = (OUTER_KEEP_MS if index == last else INNER_KEEP_MS) * per_ms
            start = max(0, bounds[0] - keep_before)
            end = min(len(samples), bounds[1] + keep_after)
        placed.append((start, end, len(out)))
        out.extend(samples[start:end])
        if index < last:
            gap_ms = GAP_MS.get(breaks[index], GAP_MS["word"])
            out.extend(array("h", bytes(2 * gap_ms * per_ms)))
    return out.tobytes(), placed


# -- decoding ----------------------------------------------------------------


def looks_like_mp3(data: bytes) -> bool:
    """Say whether ``data`` starts like an MP3 (an ID3 tag or a frame sync)."""
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0)


def decode_mp3s(mp3s: Sequence[bytes], sample_rate: int) -> list[bytes]:
    """Decode MP3 pieces to mono s16le PCM: in one ffmpeg run, else one by one.

    Raises:
        AudioError: a piece cannot be decoded (the first one that fails).
    """
    if not mp3s:
        return []
    try:
        return decode_many(mp3s, input_format="mp3", rate=sample_rate)
    except AudioError:
        pass  # one bad piece spoils the batch: find it
    return [decode_bytes(m, input_format="mp3", rate=sample_rate) for m in mp3s]
