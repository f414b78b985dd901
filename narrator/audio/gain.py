"""The gain that brings a measured section (or jingle) to its loudness target.

Loudness is linear and measured, not looped through ffmpeg's ``loudnorm``:
each section's gain is set from its loudness *laid out with its pauses*
(the 400 ms blocks that straddle speech and pauses count in the gating of the
final file, see :mod:`narrator.audio.render`), raised by what a model of the
limiter says it will take away, and by ``ENCODING_LOSS_LU``. Every segment is
normalized to the same target on its own. That keeps the level even from
chapter to chapter and, unlike one gain for the whole episode, lets an edit
re-master only the section it touched.

This module takes the target as numbers (loudness, ceiling, channels), not a
preset: the preset names an MP3 format, and what holds one sits higher up.
"""

from __future__ import annotations

from narrator.audio.loudness import LoudnessMeter

LIMITER_RELEASE_MS = 60.0
# Most gain added to make up for what the limiter takes (dB).
MAX_MAKEUP_DB = 6.0
# What a silent clip's loudness reads (BS.1770's absolute gate).
_SILENT_LUFS = -70.0

# The decoded MP3 measures ~0.45 LU quieter than the PCM fed to LAME, at every
# bitrate we use, on espeak-ng speech and on a 400 Hz tone alike (its peak
# drops ~0.35 dB too: a level change, not the lowpass): aim that much higher
# so the file, not the PCM, lands on target.
ENCODING_LOSS_LU = 0.45


def _gain_db(lufs: float, target_lufs: float, channels: int) -> float:
    target = target_lufs + ENCODING_LOSS_LU
    if lufs <= -69.0:
        return 0.0  # silence: nothing to normalize
    if channels == 2:
        # The clip was measured in mono; the same samples on two channels read +3 LU.
        lufs += 3.0103
    return target - lufs


def _lufs(meter: LoudnessMeter) -> float:
    """Read ``meter`` with silence as ``-70.0`` LUFS, the floor the cache stores
    (JSON has no infinity) and ``_gain_db`` treats as nothing to normalize."""
    return max(meter.integrated_lufs(), _SILENT_LUFS)


def target_gain(
    meter: LoudnessMeter, target_lufs: float, *, ceiling_dbtp: float, channels: int
) -> float:
    """Return the gain (dB) that brings what ``meter`` measured (mono) to
    ``target_lufs`` on ``channels`` channels, limited to ``ceiling_dbtp``.

    The linear gain comes from the measured loudness. Where that gain pushes
    peaks over the ceiling the limiter takes loudness away (1.2 LU for
    espeak-ng at -16 LUFS mono, 0.1-0.3 LU at -19), so the gain is raised
    until the modelled limited loudness reaches the target, by at most
    ``MAX_MAKEUP_DB``.
    """
    lufs = _lufs(meter)
    gain = _gain_db(lufs, target_lufs, channels)
    if lufs <= -69.0:
        return gain

    def limited(gain_db: float) -> float:
        return meter.integrated_lufs(
            gain_db, ceiling_dbtp=ceiling_dbtp, release_ms=LIMITER_RELEASE_MS
        )

    want = lufs + gain
    if want - limited(gain) <= 0.01:
        return gain
    low, high = gain, gain + MAX_MAKEUP_DB
    if limited(high) < want:
        return high
    while high - low > 0.01:  # bisection: the limited loudness rises with gain
        mid = 0.5 * (low + high)
        if limited(mid) < want:
            low = mid
        else:
            high = mid
    return high
