"""Presets, and a clip rendered into a segment's mastered PCM, streaming.

A *segment* is one section rendered for the episode: lead silence,
utterances with pauses between them, each utterance resampled to the output
rate, gain-adjusted, true-peak limited and faded at its edges, then trailing
silence. Segments are rendered one utterance at a time and streamed to the
encoder, so memory does not grow with the episode's length. An intro or
outro (a *jingle*) is a segment too: decoded, normalized and framed by the
same rules.

A :class:`Preset` (an MP3 format, a loudness target, a true-peak ceiling) is
what this stage is given, with the pauses: not the build's settings. The
preset table lives here because every user of a preset in the audio package
renders: a module of its own, holding an MP3 format, would sit one level
higher than this one may import.

Loudness: the section is measured laid out with its pauses (:func:`plan_render`)
and one gain brings it to the target (``target_gain``).

Pacing: every silence is what a listener hears. The silence trimming leaves
around an utterance counts toward the pause that follows it, and a segment's
tail allows for the frames LAME adds, so the gap from one sound to the next is
the configured pause (within half a frame between sections).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from narrator.audio.clip import TRIM_KEEP_MS, TRIM_THRESHOLD_DB, Clip
from narrator.audio.loudness import LoudnessMeter
from narrator.audio.peaks import apply_gain_db, limit_true_peak
from narrator.audio.shaping import fade, from_int16, resample, trim_silence
from narrator.config import Pauses
from narrator.container.frames import (
    LAME_ENCODER_DELAY,
    Mp3Format,
    fill_to_frame,
    frame_samples,
)
from narrator.errors import AudioError
from narrator.ffmpeg import SAMPLE_BYTES, PcmFormat, decode_file

FADE_MS = 8.0
# A segment of whole frames spans this many samples more than its PCM in the
# spliced episode: LAME's delay plus its minimum padding (see
# narrator.container.frames).
SEGMENT_OVERHEAD = LAME_ENCODER_DELAY + 576
# Rendered PCM is float32, LAME's own working format: the mastered samples
# reach the encoder without a 16-bit rounding pass (and its copies).
PCM_FORMAT: PcmFormat = "f32le"
PCM_SAMPLE_BYTES = SAMPLE_BYTES[PCM_FORMAT]


# -- the gain: a measured section (or jingle) to its loudness target ----------

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

# ffmpeg's AAC encoder loses less than LAME (~0.45 LU), and at 40 kbps / 22.05
# kHz it gains: the decoded M4B of the seed against its PCM, per preset.
AAC_ENCODING_LOSS_LU = {"phone": 0.1, "small": -0.35, "hq": 0.1}

# AAC overshoots the limited PCM's true peak more than LAME (measured on the
# seed, per preset and coder: +0.1 dB with "fast", to +5 dB with twoloop at
# 40 kbps): the limiter aims that much lower, and
# audio.aacpeak re-encodes a section whose decoded peak is still over.
AAC_CEILING_DBTP = {"phone": -2.0, "small": -6.0, "hq": -1.5}


def codec_preset(name: str, codec: str) -> Preset:
    """The preset ``name`` as the ``codec``'s segments are mastered with."""
    preset = PRESETS[name]
    if codec != "aac":
        return preset
    return replace(preset, ceiling_dbtp=AAC_CEILING_DBTP[name])


def codec_target(preset: Preset, target_lufs: float | None, codec: str) -> float | None:
    """The loudness to aim the PCM at so that the decoded ``codec`` file lands on
    ``target_lufs`` (the preset's when None): the gain allows for the MP3's
    loss, so AAC aims that much lower, less its own."""
    if codec != "aac":
        return target_lufs
    target = preset.target_lufs if target_lufs is None else target_lufs
    return target - ENCODING_LOSS_LU + AAC_ENCODING_LOSS_LU[preset.name]


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


@dataclass(frozen=True)
class Preset:
    """An output format, its loudness target and its true-peak ceiling.

    The ceiling is what the limiter aims for before encoding; MP3 encoding adds
    inter-sample overshoot, measured on espeak-ng French at each preset: worst
    +0.3 dB at 64 kbps mono, +0.6 dB at 40 kbps / 22.05 kHz, none at 128 kbps
    stereo (+0.5 dB at 64 kbps with --loudness -16, heavily limited). Each
    ceiling keeps the decoded file at or below -1 dBTP with margin.
    """

    name: str
    fmt: Mp3Format
    target_lufs: float
    ceiling_dbtp: float


PRESETS: dict[str, Preset] = {
    # Mono is played on two speakers and sounds ~3 LU louder: -19 mono ~ -16 stereo.
    "phone": Preset("phone", Mp3Format(44100, 1, 64), -19.0, -2.0),
    "small": Preset("small", Mp3Format(22050, 1, 40), -19.0, -2.5),
    "hq": Preset("hq", Mp3Format(44100, 2, 128), -16.0, -1.5),
}


@dataclass
class SegmentLayout:
    """Where each utterance of a segment landed, filled while rendering."""

    samples: int = 0
    utterances: list[tuple[int, int]] | None = None  # (start, end) in output samples

    def __post_init__(self) -> None:
        if self.utterances is None:
            self.utterances = []


def _silence(n: int, channels: int) -> bytes:
    return bytes(PCM_SAMPLE_BYTES * n * channels)  # 0.0f is four zero bytes


def _margins(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """Return the silent samples at the start and end of a trimmed utterance.

    Trimming keeps up to ``TRIM_KEEP_MS`` of silence at each edge, less when
    the engine's clip had less. Pauses are shortened by these margins so the
    silence a listener hears between two utterances is the configured pause,
    whatever silence the engine left around each one. Every sample over the
    threshold is sound here (peak gate), and a margin never exceeds what
    trimming keeps.
    """
    n = samples.shape[0]
    keep = int(round(TRIM_KEEP_MS * rate / 1000))
    start, end = trim_silence(from_int16(samples), rate, TRIM_THRESHOLD_DB, gate="peak")
    if start == end:
        return min(n, keep), min(n, keep)
    return min(start, keep), min(n - end, keep)


def _layout(
    clip: Clip, wanted_ms: Sequence[int], rate: int
) -> tuple[list[int], list[int], LoudnessMeter]:
    """The silence before each utterance (last entry: after the last), in
    output and in clip samples, and the section measured laid out with them.

    Each silence is the wanted pause less the margins trimming left around it
    (see ``_margins``). One pass reads each utterance once: a stored clip is
    read from disk, and a section may be hours long. The meter sees the
    section with its pauses: gating counts the 400 ms blocks that straddle
    speech and silence, and a section of short utterances with long pauses
    reads ~1 LU quieter laid out than its utterances joined end to end.
    """
    rate_in = clip.sample_rate
    meter = LoudnessMeter(rate_in)
    silences: list[int] = []
    silences_in: list[int] = []
    after = 0

    def pause(ms: int, margin: int) -> None:
        silences.append(max(0, int(round(ms * rate / 1000 - margin * rate / rate_in))))
        silences_in.append(max(0, int(round(ms * rate_in / 1000)) - margin))
        meter.feed_silence(silences_in[-1])

    for ms, samples in zip(wanted_ms, clip.utterances, strict=False):
        before, next_after = _margins(samples, rate_in) if samples.size else (0, 0)
        pause(ms, after + before)
        meter.feed(from_int16(samples))
        after = next_after
    pause(wanted_ms[-1], after)
    return silences, silences_in, meter


def _target_gain(
    meter: LoudnessMeter, preset: Preset, target_lufs: float | None
) -> float:
    """The gain that brings ``meter``'s reading to ``target_lufs`` (the
    preset's when ``None``) within the preset's ceiling and channels."""
    return target_gain(
        meter,
        preset.target_lufs if target_lufs is None else target_lufs,
        ceiling_dbtp=preset.ceiling_dbtp,
        channels=preset.fmt.channels,
    )


def _master(x: np.ndarray, rate_in: int, preset: Preset, gain_db: float) -> np.ndarray:
    """Resample, gain, limit and fade one utterance.

    The resampled array is new and ours, so every later step works in place:
    each fresh utterance-sized array costs page faults (large arrays come
    from the system, see :mod:`narrator.heap`), about a fifth of a cold
    build's system time when each step made its own.
    """
    fmt = preset.fmt
    y = resample(x, rate_in, fmt.sample_rate)
    apply_gain_db(y, gain_db, inplace=True)
    limit_true_peak(
        y,
        fmt.sample_rate,
        ceiling_dbtp=preset.ceiling_dbtp,
        release_ms=LIMITER_RELEASE_MS,
        inplace=True,
    )
    return fade(y, fmt.sample_rate, in_ms=FADE_MS, out_ms=FADE_MS, inplace=True)


def _emit(y: np.ndarray, channels: int) -> bytes:
    pcm = np.asarray(y, dtype="<f4")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    return pcm.tobytes()


def _tail_samples(pos: int, wanted: int, fmt: Mp3Format) -> int:
    """Return the silence to end a segment of ``pos`` samples with.

    The segment ends on a frame boundary: LAME then pads minimally, and
    readers that ignore the declared padding (ffprobe 5) overstate the
    duration least. Such a segment then spans ``SEGMENT_OVERHEAD`` samples
    more than its PCM in the spliced episode (LAME's delay and padding), so
    that much is taken off ``wanted``, to the nearest frame: the silence heard
    up to the next segment is ``wanted`` within half a frame (13 ms).
    """
    size = frame_samples(fmt)
    end = pos + wanted - SEGMENT_OVERHEAD
    end = max(pos, (end + size // 2) // size * size)
    return end - pos + fill_to_frame(end, fmt)


@dataclass(frozen=True)
class RenderPlan:
    """How a section's clip becomes PCM: its silences, its gain and its parts.

    ``silences[i]`` is the silence before utterance ``i`` (output samples) and
    the last one the tail. A long section is encoded as several parts, each
    its own LAME stream, so two cores can encode one section (an edit of one
    section used to run on a single core). ``cuts`` are the utterances that
    start a part. The parts depend only on the clip, never on how many run at
    once, so a section gives the same bytes whatever the build's load.
    """

    silences: tuple[int, ...]
    gain_db: float
    cuts: tuple[int, ...] = ()

    @property
    def parts(self) -> list[tuple[int, int]]:
        """Each part's utterances, as ``(first, stop)``."""
        bounds = [0, *self.cuts, len(self.silences) - 1]
        return list(zip(bounds, bounds[1:], strict=False))


def plan_render(
    clip: Clip,
    pauses_after: Sequence[str],
    preset: Preset,
    pauses: Pauses,
    *,
    lead_ms: int,
    tail_ms: int,
    target_lufs: float | None,
    part_s: float | None = None,
) -> RenderPlan:
    """Measure the section laid out with its pauses: silences, gain and parts.

    Silences are what a listener hears: ``lead_ms`` from the segment's start
    to the first utterance's sound, each pause from the end of one
    utterance's sound to the start of the next, ``tail_ms`` after the last
    one (the silence trimming left around each utterance counts toward them).
    The gain brings the whole section, laid out with these pauses, to the
    target, whatever its parts. With ``part_s``, the section is cut into
    parts of about that many seconds, at pauses long enough to hold LAME's
    delay and padding.
    """
    rate = preset.fmt.sample_rate
    if len(pauses_after) != len(clip.utterances):
        raise AudioError(
            f"{len(pauses_after)} pauses for {len(clip.utterances)} utterances"
        )
    wanted = [lead_ms] + [pauses.after(p) for p in pauses_after][:-1] + [tail_ms]
    silences, _, meter = _layout(clip, wanted, rate)
    gain = _target_gain(meter, preset, target_lufs)
    cuts: tuple[int, ...] = ()
    if part_s is not None:
        cuts = _cuts(clip, silences, rate, part_s)
    return RenderPlan(tuple(silences), gain, cuts)


def _cuts(
    clip: Clip, silences: Sequence[int], rate: int, part_s: float
) -> tuple[int, ...]:
    """The utterances nearest each multiple of the section's length / parts.

    A cut gives up ``SEGMENT_OVERHEAD`` samples of the pause before it (the
    next part starts where it would have, within half a frame), so a pause
    that can hold them is taken when one lies within half a part of the
    goal. A section without one there (one endless sentence cut at words)
    is cut at an utterance boundary all the same: that pause grows by 26 to
    52 ms, once per part.
    """
    lengths = clip.utterance_lengths()
    ratio = rate / clip.sample_rate
    starts = []
    pos = 0.0
    for i, n in enumerate(lengths):
        starts.append(pos + silences[i])
        pos += silences[i] + n * ratio
    total = pos + silences[-1]
    count = max(1, round(total / (part_s * rate)))
    reach = part_s * rate / 2
    cuts: list[int] = []
    for k in range(1, count):
        goal = total * k / count
        first = cuts[-1] + 1 if cuts else 1
        near = [i for i in range(first, len(lengths)) if abs(starts[i] - goal) <= reach]
        roomy = [i for i in near if silences[i] >= 2 * SEGMENT_OVERHEAD]
        if roomy or near:
            cuts.append(min(roomy or near, key=lambda i: abs(starts[i] - goal)))
    return tuple(cuts)


def render_part(
    clip: Clip,
    plan: RenderPlan,
    part: int,
    preset: Preset,
    layout: SegmentLayout,
) -> Iterator[bytes]:
    """Yield one part's PCM (``PCM_FORMAT``, interleaved), one utterance at a time.

    A part that is not the section's last ends with the pause before the
    next part, less ``SEGMENT_OVERHEAD`` and on a frame boundary (like a
    section's end): spliced, the next part's first sound then comes where it
    would in one stream, within half a frame. ``layout`` gets the part's
    utterances, in samples from the part's start.
    """
    fmt = preset.fmt
    rate_in = clip.sample_rate
    first, stop = plan.parts[part]
    utterances = layout.utterances
    if utterances is None:
        utterances = layout.utterances = []
    pos = 0
    for i in range(first, stop):
        samples = clip.utterances[i]
        silence = plan.silences[i] if i > first or part == 0 else 0
        if silence:
            pos += silence
            yield _silence(silence, fmt.channels)
        if samples.size:
            y = _master(from_int16(samples), rate_in, preset, plan.gain_db)
            utterances.append((pos, pos + y.shape[0]))
            pos += y.shape[0]
            yield _emit(y, fmt.channels)
        else:
            utterances.append((pos, pos))
    tail = _tail_samples(pos, plan.silences[stop], fmt)
    pos += tail
    yield _silence(tail, fmt.channels)
    layout.samples = pos


def render_clip(
    clip: Clip,
    pauses_after: Sequence[str],
    preset: Preset,
    pauses: Pauses,
    *,
    lead_ms: int,
    tail_ms: int,
    target_lufs: float | None,
    layout: SegmentLayout,
) -> Iterator[bytes]:
    """Yield the segment's PCM in one part (see :func:`plan_render`)."""
    plan = plan_render(
        clip,
        pauses_after,
        preset,
        pauses,
        lead_ms=lead_ms,
        tail_ms=tail_ms,
        target_lufs=target_lufs,
    )
    yield from render_part(clip, plan, 0, preset, layout)


def load_jingle(path: Path, preset: Preset, target_lufs: float | None) -> np.ndarray:
    """Decode an intro/outro file at the output rate, mono float, normalized.

    Raises:
        AudioError: ffmpeg cannot read the file.
    """
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file.")
    rate = preset.fmt.sample_rate
    pcm = decode_file(path, rate=rate, channels=1)
    x = from_int16(np.frombuffer(pcm, dtype="<i2"))
    meter = LoudnessMeter(rate)
    meter.feed(x)
    y = apply_gain_db(x, _target_gain(meter, preset, target_lufs))
    y = limit_true_peak(
        y, rate, ceiling_dbtp=preset.ceiling_dbtp, release_ms=LIMITER_RELEASE_MS
    )
    return fade(y, rate, in_ms=20.0, out_ms=min(1000.0, 1000.0 * y.shape[0] / rate / 4))


def render_jingle(
    x: np.ndarray, preset: Preset, *, lead_ms: int, tail_ms: int, layout: SegmentLayout
) -> Iterator[bytes]:
    """Yield an intro/outro segment: lead silence, the audio, tail silence."""
    rate = preset.fmt.sample_rate
    lead = int(round(lead_ms * rate / 1000))
    tail = _tail_samples(
        lead + x.shape[0], int(round(tail_ms * rate / 1000)), preset.fmt
    )
    yield _silence(lead, preset.fmt.channels)
    for start in range(0, x.shape[0], rate * 10):
        yield _emit(x[start : start + rate * 10], preset.fmt.channels)
    yield _silence(tail, preset.fmt.channels)
    layout.samples = lead + x.shape[0] + tail
