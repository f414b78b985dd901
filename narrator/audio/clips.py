"""Decode, trim, master and render clips into encodable PCM, streaming.

A *clip* is one section as the engine spoke it: trimmed utterances at the
engine's sample rate (plus their loudness joined end to end, measured when
synthesized and cached). A *segment* is one section rendered for the episode:
lead silence, utterances with pauses between them, each utterance resampled
to the output rate, gain-adjusted, true-peak limited and faded at its edges,
then trailing silence. Segments are rendered one utterance at a time and
streamed to the encoder, so memory does not grow with the episode's length.

Loudness is linear and measured, not looped through ffmpeg's ``loudnorm``:
each section's gain is set from its loudness *laid out with its pauses*
(the 400 ms blocks that straddle speech and pauses count in the gating of the
final file), raised by what a model of the limiter says it will take away,
and by ``ENCODING_LOSS_LU``. Every segment is normalized to the same target on
its own. That keeps the level even from chapter to chapter and, unlike one
gain for the whole episode, lets an edit re-master only the section it touched.

Pacing: every silence is what a listener hears. The silence trimming leaves
around an utterance counts toward the pause that follows it, and a segment's
tail allows for the frames LAME adds, so the gap from one sound to the next is
the configured pause (within half a frame between sections).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import wave
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast, overload

import numpy as np

from narrator.audio import dsp
from narrator.config import Pauses
from narrator.container.frames import (
    LAME_ENCODER_DELAY,
    Mp3Format,
    fill_to_frame,
    frame_samples,
)
from narrator.errors import AudioError
from narrator.ffmpeg import SAMPLE_BYTES, PcmFormat, decode_file
from narrator.model import Audio, WordTiming

# Silence kept around each utterance after trimming, so consonants are not cut.
TRIM_KEEP_MS = 30.0
TRIM_THRESHOLD_DB = -50.0
FADE_MS = 8.0
# A segment of whole frames spans this many samples more than its PCM in the
# spliced episode: LAME's delay plus its minimum padding (see narrator.container.mp3).
SEGMENT_OVERHEAD = LAME_ENCODER_DELAY + 576
# Rendered PCM is float32, LAME's own working format: the mastered samples
# reach the encoder without a 16-bit rounding pass (and its copies).
PCM_FORMAT: PcmFormat = "f32le"
PCM_SAMPLE_BYTES = SAMPLE_BYTES[PCM_FORMAT]
LIMITER_RELEASE_MS = 60.0
# Most gain added to make up for what the limiter takes (dB).
MAX_MAKEUP_DB = 6.0
# What a silent clip's loudness reads (BS.1770's absolute gate).
_SILENT_LUFS = -70.0

logger = logging.getLogger(__name__)


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

# The decoded MP3 measures ~0.45 LU quieter than the PCM fed to LAME, at every
# bitrate we use, on espeak-ng speech and on a 400 Hz tone alike (its peak
# drops ~0.35 dB too: a level change, not the lowpass): aim that much higher
# so the file, not the PCM, lands on target.
ENCODING_LOSS_LU = 0.45


class StoredUtterances(Sequence[np.ndarray]):
    """A clip's utterances in a cache file, read one at a time when used.

    A section has no length limit (a 5-hour line of text is one section), so
    its clip is never held whole: rendering reads each utterance, masters it
    and lets it go. Reads are positional on a descriptor the caller keeps open
    for the render, so another build replacing the entry meanwhile (an atomic
    rename) cannot change what is read.
    """

    def __init__(self, fd: int, offset: int, lengths: Sequence[int]) -> None:
        self._fd = fd
        self._lengths = tuple(lengths)
        starts = [offset]
        for n in self._lengths:
            starts.append(starts[-1] + 2 * n)
        self._starts = tuple(starts)

    def __len__(self) -> int:
        return len(self._lengths)

    @property
    def lengths(self) -> tuple[int, ...]:
        """Each utterance's sample count, without reading any."""
        return self._lengths

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        size = 2 * self._lengths[index]
        data = os.pread(self._fd, size, self._starts[index])
        if len(data) != size:
            raise AudioError("cached clip is shorter than its lengths")
        return np.frombuffer(data, dtype="<i2")


def _clip_meta(
    sample_rate: int,
    lengths: Sequence[int],
    words: Sequence[Sequence[WordTiming]],
) -> dict[str, object]:
    meta: dict[str, object] = {"sample_rate": sample_rate, "lengths": list(lengths)}
    if any(words):
        meta["words"] = [
            [[w.start_ms, w.end_ms, w.text] for w in utterance] for utterance in words
        ]
    return meta


def _stored_words(meta: Mapping[str, object]) -> tuple[tuple[WordTiming, ...], ...]:
    stored = cast("list[list[list[object]]]", meta.get("words", []))
    return tuple(
        tuple(
            WordTiming(int(cast(int, a)), int(cast(int, b)), str(t))
            for a, b, t in utterance
        )
        for utterance in stored
    )


@dataclass(frozen=True)
class Clip:
    """One section as synthesized: trimmed mono int16 utterances.

    ``utterances`` are in memory (a tuple) or in the clip cache
    (:class:`StoredUtterances`, read one at a time). ``words`` holds, per
    utterance, the engine's word timings in ms from the start of the
    *trimmed* utterance (empty when the engine gives none); they are stored
    with the clip for features that follow the voice word by word.
    """

    sample_rate: int
    utterances: Sequence[np.ndarray]
    words: tuple[tuple[WordTiming, ...], ...] = ()

    def utterance_lengths(self) -> list[int]:
        """Each utterance's sample count (a stored clip reads none for it)."""
        if isinstance(self.utterances, StoredUtterances):
            return list(self.utterances.lengths)
        return [int(u.shape[0]) for u in self.utterances]

    def payload_parts(self) -> tuple[list[memoryview], dict[str, object]]:
        """The payload as views on the utterances (no joined copy), and its meta."""
        lengths = [int(u.shape[0]) for u in self.utterances]
        parts = [
            np.ascontiguousarray(u, dtype="<i2").data.cast("B") for u in self.utterances
        ]
        return parts, _clip_meta(self.sample_rate, lengths, self.words)

    @classmethod
    def from_payload(cls, payload: bytes, meta: Mapping[str, object]) -> Clip:
        data = np.frombuffer(payload, dtype="<i2")
        # JSON from the cache: int()/float() still check what the casts assume.
        lengths = [int(n) for n in cast("list[int]", meta["lengths"])]
        if sum(lengths) != data.shape[0]:
            raise AudioError("cached clip does not match its lengths")
        parts = []
        pos = 0
        for n in lengths:
            parts.append(data[pos : pos + n])
            pos += n
        sample_rate = int(cast(int, meta["sample_rate"]))
        return cls(sample_rate, tuple(parts), _stored_words(meta))

    @classmethod
    def from_file(
        cls, fd: int, offset: int, size: int, meta: Mapping[str, object]
    ) -> Clip:
        """The clip whose payload is ``size`` bytes at ``offset`` of open file
        ``fd``, read utterance by utterance while rendering.

        Raises:
            AudioError: the lengths do not match the payload.
        """
        lengths = [int(n) for n in cast("list[int]", meta["lengths"])]
        if 2 * sum(lengths) != size or min(lengths, default=0) < 0:
            raise AudioError("cached clip does not match its lengths")
        sample_rate = int(cast(int, meta["sample_rate"]))
        return cls(
            sample_rate, StoredUtterances(fd, offset, lengths), _stored_words(meta)
        )


class ClipWriter:
    """A section's clip written to ``out`` as it is synthesized, batch by batch.

    Each batch of engine output is decoded, trimmed, written and let go, so
    synthesis holds one batch, not the section. ``meta()`` is what
    :meth:`Clip.from_file` reads back.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.sample_rate = 0
        self._lengths: list[int] = []
        self._words: list[tuple[WordTiming, ...]] = []

    def add(self, audios: Sequence[Audio]) -> None:
        """Decode, trim and write one batch of utterances.

        Raises:
            AudioError: an utterance cannot be decoded.
        """
        for audio in audios:
            samples, words, self.sample_rate = _trimmed(audio, self.sample_rate)
            self._out.write(np.ascontiguousarray(samples, dtype="<i2").tobytes())
            self._lengths.append(int(samples.shape[0]))
            self._words.append(words)

    def meta(self) -> dict[str, object]:
        """The clip's cache metadata.

        Raises:
            AudioError: nothing was synthesized.
        """
        if not self.sample_rate:
            raise AudioError("the engine returned no audio")
        return _clip_meta(self.sample_rate, self._lengths, self._words)


def decode_audio(audio: Audio) -> tuple[np.ndarray, int]:
    """Decode engine output (16-bit WAV) to mono int16 samples and their rate.

    Raises:
        AudioError: the bytes are not 16-bit PCM WAV.
    """
    if audio.format != "wav":
        raise AudioError(f"unsupported engine audio format {audio.format!r}")
    try:
        with wave.open(io.BytesIO(audio.data), "rb") as w:
            if w.getsampwidth() != 2:
                raise AudioError("engine returned WAV that is not 16-bit PCM")
            rate = w.getframerate()
            channels = w.getnchannels()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, struct.error) as exc:
        raise AudioError(f"engine returned undecodable WAV: {exc}") from exc
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def _trimmed(audio: Audio, rate: int) -> tuple[np.ndarray, tuple[WordTiming, ...], int]:
    """One utterance decoded (at ``rate`` if set) and trimmed, its word
    timings moved onto the trimmed audio, and its rate."""
    samples, r = decode_audio(audio)
    if rate and r != rate:
        samples = dsp.to_int16(dsp.resample(dsp.from_int16(samples), r, rate))
    rate = rate or r
    start, end = dsp.trim_silence(
        dsp.from_int16(samples),
        rate,
        threshold_db=TRIM_THRESHOLD_DB,
        keep_ms=TRIM_KEEP_MS,
    )
    words = _shift_words(audio.words, start * 1000 / rate, (end - start) * 1000 / rate)
    return np.ascontiguousarray(samples[start:end]), words, rate


def make_clip(audios: Sequence[Audio]) -> Clip:
    """Decode and trim one section's engine output, in memory; keep its word
    timings. (The build writes clips with :class:`ClipWriter` instead.)

    Raises:
        AudioError: an utterance cannot be decoded or rates differ.
    """
    parts: list[np.ndarray] = []
    words: list[tuple[WordTiming, ...]] = []
    rate = 0
    for audio in audios:
        samples, timings, rate = _trimmed(audio, rate)
        parts.append(samples)
        words.append(timings)
    if not rate:
        raise AudioError("the engine returned no audio")
    return Clip(rate, tuple(parts), tuple(words) if any(words) else ())


def _shift_words(
    words: Sequence[WordTiming], offset_ms: float, length_ms: float
) -> tuple[WordTiming, ...]:
    """Word timings moved onto the trimmed utterance, kept inside it."""

    def clamp(ms: float) -> int:
        return int(round(min(max(ms - offset_ms, 0.0), length_ms)))

    return tuple(WordTiming(clamp(w.start_ms), clamp(w.end_ms), w.text) for w in words)


@dataclass
class SegmentLayout:
    """Where each utterance of a segment landed, filled while rendering."""

    samples: int = 0
    utterances: list[tuple[int, int]] | None = None  # (start, end) in output samples

    def __post_init__(self) -> None:
        if self.utterances is None:
            self.utterances = []


def _gain_db(lufs: float, preset: Preset, target_lufs: float | None) -> float:
    target = (
        preset.target_lufs if target_lufs is None else target_lufs
    ) + ENCODING_LOSS_LU
    if lufs <= -69.0:
        return 0.0  # silence: nothing to normalize
    if preset.fmt.channels == 2:
        # The clip was measured in mono; the same samples on two channels read +3 LU.
        lufs += 3.0103
    return target - lufs


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
    start, end = dsp.trim_silence(
        dsp.from_int16(samples), rate, TRIM_THRESHOLD_DB, gate="peak"
    )
    if start == end:
        return min(n, keep), min(n, keep)
    return min(start, keep), min(n - end, keep)


def _lufs(meter: dsp.LoudnessMeter) -> float:
    """Read ``meter`` with silence as ``-70.0`` LUFS, the floor the cache stores
    (JSON has no infinity) and ``_gain_db`` treats as nothing to normalize."""
    return max(meter.integrated_lufs(), _SILENT_LUFS)


def _layout(
    clip: Clip, wanted_ms: Sequence[int], rate: int
) -> tuple[list[int], list[int], dsp.LoudnessMeter]:
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
    meter = dsp.LoudnessMeter(rate_in)
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
        meter.feed(dsp.from_int16(samples))
        after = next_after
    pause(wanted_ms[-1], after)
    return silences, silences_in, meter


def _target_gain(
    meter: dsp.LoudnessMeter, preset: Preset, target_lufs: float | None
) -> float:
    """Return the gain (dB) that brings what ``meter`` measured to the target.

    The linear gain comes from the measured loudness. Where that gain pushes
    peaks over the ceiling the limiter takes loudness away (1.2 LU for
    espeak-ng at -16 LUFS mono, 0.1-0.3 LU at -19), so the gain is raised
    until the modelled limited loudness reaches the target, by at most
    ``MAX_MAKEUP_DB``.
    """
    lufs = _lufs(meter)
    gain = _gain_db(lufs, preset, target_lufs)
    if lufs <= -69.0:
        return gain

    def limited(gain_db: float) -> float:
        return meter.integrated_lufs(
            gain_db, ceiling_dbtp=preset.ceiling_dbtp, release_ms=LIMITER_RELEASE_MS
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


def _master(x: np.ndarray, rate_in: int, preset: Preset, gain_db: float) -> np.ndarray:
    """Resample, gain, limit and fade one utterance.

    The resampled array is new and ours, so every later step works in place:
    each fresh utterance-sized array costs page faults (large arrays come
    from the system, see :mod:`narrator.heap`), about a fifth of a cold
    build's system time when each step made its own.
    """
    fmt = preset.fmt
    y = dsp.resample(x, rate_in, fmt.sample_rate)
    dsp.apply_gain_db(y, gain_db, inplace=True)
    dsp.limit_true_peak(
        y,
        fmt.sample_rate,
        ceiling_dbtp=preset.ceiling_dbtp,
        release_ms=LIMITER_RELEASE_MS,
        inplace=True,
    )
    return dsp.fade(y, fmt.sample_rate, in_ms=FADE_MS, out_ms=FADE_MS, inplace=True)


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
            y = _master(dsp.from_int16(samples), rate_in, preset, plan.gain_db)
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
    x = dsp.from_int16(np.frombuffer(pcm, dtype="<i2"))
    meter = dsp.LoudnessMeter(rate)
    meter.feed(x)
    y = dsp.apply_gain_db(x, _target_gain(meter, preset, target_lufs))
    y = dsp.limit_true_peak(
        y, rate, ceiling_dbtp=preset.ceiling_dbtp, release_ms=LIMITER_RELEASE_MS
    )
    return dsp.fade(
        y, rate, in_ms=20.0, out_ms=min(1000.0, 1000.0 * y.shape[0] / rate / 4)
    )


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
