"""Broadcast-grade audio, measured on the final MP3 with independent tools.

Loudness and true peak come from ffmpeg's ``ebur128`` filter (true peak on) run
on the MP3 file; chapter times come from the ID3 CHAP frames read with
mutagen; positions come from the audio as ffmpeg decodes it. The builds use the
real pipeline: the seed with the real espeak-ng engine, and a small document
spoken by :class:`LevelEngine`, whose sections sit at very different levels.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from narrator.audio.clip import Clip
from narrator.audio.decode import make_clip
from narrator.audio.loudness import LoudnessMeter, integrated_loudness
from narrator.audio.render import (
    PCM_SAMPLE_BYTES,
    PRESETS,
    SegmentLayout,
    render_clip,
)
from narrator.audio.shaping import from_int16
from narrator.build.pipeline import build
from narrator.config import Pauses, Settings
from narrator.container.frames import DECODER_DELAY, LAME_ENCODER_DELAY
from narrator.engines.base import SectionRef
from narrator.ffmpeg import ffmpeg_exe
from narrator.model import Audio

from . import loudness_ref
from .conftest import SEED, ffmpeg_chapters

PRESET_NAMES = ("phone", "small", "hq")

# -- a fake engine whose sections sit at very different levels --------------

ENGINE_RATE = 22050
# Keyword in the section title -> (level, tone frequency in Hz). Each section
# has its own frequency, so a stretch of decoded audio says which section it is.
SECTIONS = {
    "calme": ("quiet", 300.0),
    "forte": ("loud", 450.0),
    "pointue": ("peaky", 600.0),
    "normale": ("normal", 750.0),
}
# Silence the engine leaves before / after utterance j (cycled): trimming and
# pauses must make the heard gaps independent of it. 0 means the tone starts
# (or stops) at full amplitude, which only the fades keep from clicking.
ENGINE_LEAD_MS = (0, 55, 180, 320)
ENGINE_TRAIL_MS = (0, 130, 40, 260)

MIX_DOC = """\
Section calme
Une phrase tranquille pour commencer. Une autre phrase suit ici.
- Un point de liste.
Section forte
Une phrase forte pour commencer. Une autre phrase suit ici.
Le second paragraphe arrive.
Section pointue
Une phrase pointue pour commencer. Une autre phrase suit ici.
Section normale
Une phrase normale pour commencer. Une autre phrase suit ici.
"""
# The pause after each utterance of MIX_DOC, as the parser marks them.
MIX_KINDS = [
    ["title", "sentence", "paragraph", "end"],
    ["title", "sentence", "paragraph", "end"],
    ["title", "sentence", "end"],
    ["title", "sentence", "end"],
]


def tone(kind: str, freq: float, n: int) -> np.ndarray:
    """One utterance-like tone: a carrier with a 4 Hz syllable envelope.

    ``quiet`` peaks at -30 dBFS and ``loud`` at -3 dBFS. ``peaky`` adds a
    component at a quarter of the sample rate in 45 degree phase (samples at
    0.707 of its peak: +3 dB between samples) and pairs of near full-scale
    samples every 200 ms, so its true peak stands far above its loudness.
    """
    t = np.arange(n) / ENGINE_RATE
    env = 0.6 + 0.4 * np.cos(2 * math.pi * 4 * t)
    carrier = env * np.cos(2 * math.pi * freq * t)
    if kind == "quiet":
        return carrier * 10 ** (-30 / 20)
    if kind == "loud":
        return carrier * 10 ** (-3 / 20)
    if kind == "normal":
        return carrier * 10 ** (-12 / 20)
    quarter = env * np.sin(2 * math.pi * ENGINE_RATE / 4 * t + math.pi / 4)
    x = 0.3 * carrier + 0.3 * quarter
    period = ENGINE_RATE // 5
    x[period // 2 :: period] = 0.97
    x[period // 2 + 1 :: period] = 0.97
    return x


class LevelEngine:
    """Tones at the level and frequency of the section named in its title."""

    name = "levels"
    local = True
    profile = "espeak"
    voice = ""

    def probe(self) -> bool:
        return True

    def identity(self) -> Mapping[str, str]:
        return {"engine": "levels", "version": "1"}

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        kind, freq = next(v for k, v in SECTIONS.items() if k in texts[0].lower())
        out = []
        for j, text in enumerate(texts):
            n = int(ENGINE_RATE * (0.5 + 0.015 * len(text)))
            lead = np.zeros(ENGINE_RATE * ENGINE_LEAD_MS[j % 4] // 1000)
            trail = np.zeros(ENGINE_RATE * ENGINE_TRAIL_MS[j % 4] // 1000)
            x = np.concatenate([lead, tone(kind, freq, n), trail])
            pcm = np.round(x * 32767).astype("<i2").tobytes()
            out.append(Audio.from_pcm(pcm, ENGINE_RATE))
        return out


# -- measuring the output -----------------------------------------------------


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) by ffmpeg's ebur128."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path)]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert lufs and peak, summary
    return float(lufs.group(1)), float(peak.group(1))


def decode(path: Path, channels: int = 1) -> tuple[np.ndarray, int]:
    """The file as ffmpeg plays it (gapless: encoder and decoder delay skipped)."""
    info = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    rate = int(re.search(r"(\d+) Hz", info).group(1))
    proc = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path)]
        + ["-f", "f32le", "-ac", str(channels), "-"],
        capture_output=True,
        check=True,
    )
    x = np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, channels)
    return (x[:, 0] if channels == 1 else x), rate


@dataclass(frozen=True)
class Chap:
    title: str
    start_ms: int
    end_ms: int


def chap_frames(path: Path) -> list[Chap]:
    """The CHAP frames as written, read with mutagen, in time order."""
    frames = sorted(ID3(path).getall("CHAP"), key=lambda f: f.start_time)
    return [
        Chap(str(f.sub_frames["TIT2"].text[0]), f.start_time, f.end_time)
        for f in frames
    ]


def stream_delay_ms(rate: int) -> float:
    """How far CHAP times (counted in the MP3 stream) run ahead of the gapless
    decoded timeline: the encoder plus decoder delay (see
    ``narrator.container.frames``)."""
    return (LAME_ENCODER_DELAY + DECODER_DELAY) * 1000 / rate


def sound_runs(
    x: np.ndarray, rate: int, *, threshold: float = 0.01, bridge_ms: float = 60.0
) -> list[tuple[int, int]]:
    """Stretches (start, end) in samples where |x| exceeds ``threshold``,
    joining stretches separated by less than ``bridge_ms`` (a tone's own zero
    crossings)."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if not loud.size:
        return []
    breaks = np.flatnonzero(np.diff(loud) > bridge_ms * rate / 1000)
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks], [loud[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def dominant_hz(
    x: np.ndarray, rate: int, lo: float = 150.0, hi: float = 1500.0
) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    band = (freqs >= lo) & (freqs <= hi)
    return float(freqs[band][np.argmax(spectrum[band])])


def classify(x: np.ndarray, rate: int, runs: list[tuple[int, int]]) -> list[str]:
    """Name each run by its frequency: a section keyword, or '?'."""
    names = []
    for start, end in runs:
        hz = dominant_hz(x[start : min(end, start + rate // 5)], rate)
        name = next(
            (k for k, (_, f) in SECTIONS.items() if abs(hz - f) < 20.0), f"?{hz:.0f}"
        )
        names.append(name)
    return names


# -- builds shared by the loudness tests ---------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def mix_doc(work: Path) -> Path:
    path = work / "mix.txt"
    path.write_text(MIX_DOC, encoding="utf-8")
    return path


def build_seed(work: Path, preset: str, loudness: float | None = None) -> Path:
    """Build the seed with espeak-ng; one clip cache serves every preset."""
    if not SEED.is_file():
        pytest.fail(f"the reference seed is missing: {SEED}")
    out = work / f"seed-{preset}-{loudness}.mp3"
    settings = Settings(
        engine="espeak",
        output_path=out,
        cache_dir=work / "seed-cache",
        preset=preset,
        loudness_lufs=loudness,
        sidecars=False,
    )
    build(SEED, settings)
    return out


def build_mix(
    doc: Path, out: Path, preset: str, **changes: object
) -> tuple[Path, Settings]:
    settings = Settings(
        output_path=out,
        cache_dir=out.parent / "mix-cache",
        preset=preset,
        sidecars=False,
        **changes,  # type: ignore[arg-type]
    )
    build(doc, settings, engine=LevelEngine())
    return out, settings


def chapter_loudness(path: Path, channels: int) -> list[float]:
    """Integrated loudness of each chapter's span of the decoded file."""
    x, rate = decode(path, channels)
    delay = stream_delay_ms(rate)
    out = []
    for chap in chap_frames(path):
        start = max(0, int((chap.start_ms - delay) * rate / 1000))
        end = int((chap.end_ms - delay) * rate / 1000)
        out.append(integrated_loudness(x[start:end], rate))
    return out


def check_loudness(
    path: Path, preset: str, target: float, tolerance: float = 0.3
) -> None:
    lufs, peak = ebur128(path)
    # ±0.3 LU (ffmpeg prints 0.1 LU steps, hence the epsilon): a real gain error
    # shows; ±1 LU let a +0.8 LU mistake through.
    assert abs(lufs - target) <= tolerance + 1e-6, (
        f"{preset}: {lufs} LUFS, target {target}"
    )
    assert peak <= -1.0, f"{preset}: true peak {peak} dBTP"
    levels = chapter_loudness(path, PRESETS[preset].fmt.channels)
    assert max(levels) - min(levels) <= 1.5, f"{preset}: chapters at {levels}"


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_seed_lands_on_target_with_even_chapters(work: Path, preset: str) -> None:
    path = build_seed(work, preset)
    check_loudness(path, preset, PRESETS[preset].target_lufs)


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_loud_quiet_and_peaky_sections_land_on_target(
    work: Path, mix_doc: Path, preset: str
) -> None:
    path, _ = build_mix(mix_doc, work / f"mix-{preset}.mp3", preset)
    check_loudness(path, preset, PRESETS[preset].target_lufs)


def test_loudness_option_overrides_the_target(work: Path, mix_doc: Path) -> None:
    # -16 LUFS in mono under a -2 dBTP ceiling: the limiter takes ~1.2 LU and
    # the meter's model of it (whole windows attenuated by their peak's excess)
    # overstates that loss a little, so the seed lands at -15.6 to -15.7
    # depending on espeak-ng's run-to-run sample differences. ±0.5 LU here (the
    # issue asks ±1); the default targets keep ±0.3.
    path = build_seed(work, "phone", loudness=-16.0)
    check_loudness(path, "phone", -16.0, tolerance=0.5)
    path, _ = build_mix(mix_doc, work / "mix-16.mp3", "phone", loudness_lufs=-16.0)
    check_loudness(path, "phone", -16.0, tolerance=0.5)


# -- chapters against the audio -----------------------------------------------


def make_jingle(path: Path, freqs: tuple[float, float], seconds: float) -> Path:
    """A music-like jingle: two tones with a slow tremolo, any format ffmpeg writes."""
    a, b = freqs
    expr = f"(0.35*sin(2*PI*{a}*t)+0.25*sin(2*PI*{b}*t))*(0.7+0.3*sin(2*PI*3*t))"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi"]
        + ["-i", f"aevalsrc={expr}:s=44100:d={seconds}", str(path)],
        check=True,
    )
    return path


@pytest.mark.parametrize("preset", ["phone", "small"])
def test_chapters_start_at_their_sections_with_intro_and_outro(
    tmp_path: Path, preset: str
) -> None:
    """Chapter k starts where section k's audio starts, within 30 ms.

    Section start: in the decoded (gapless) timeline, the instant the section's
    segment begins, i.e. its lead silence, which is ``Pauses.lead_ms`` before
    the first sound of its title. It is located in the audio alone: the first
    stretch above -40 dBFS at the section's own tone frequency, minus
    ``lead_ms``. The chapter's start in that timeline is its CHAP start time
    less the encoder + decoder delay, which is how ffmpeg reports it too.
    """
    doc = tmp_path / "mix.txt"
    doc.write_text(MIX_DOC, encoding="utf-8")
    intro = make_jingle(tmp_path / "intro.wav", (1046.0, 1318.0), 2.0)
    outro = make_jingle(tmp_path / "outro.ogg", (1568.0, 1975.0), 2.0)
    pauses = Pauses()
    path, _ = build_mix(
        doc, tmp_path / "ep.mp3", preset, intro_path=intro, outro_path=outro
    )
    x, rate = decode(path)
    chaps = chap_frames(path)
    assert [c.title for c in chaps] == [
        "Section calme",
        "Section forte",
        "Section pointue",
        "Section normale",
    ]
    delay = stream_delay_ms(rate)
    by_ffmpeg = ffmpeg_chapters(path)
    starts = [0.0] + [c.start_ms - delay for c in chaps[1:]]
    for mine, theirs in zip(starts, by_ffmpeg, strict=True):
        assert abs(mine - theirs["start_ms"]) <= 1.0
    runs = sound_runs(x, rate)
    names = classify(x, rate, runs)
    ms = [(s * 1000 / rate, e * 1000 / rate) for s, e in runs]
    # The intro is the first sound, the outro the last; both are music, no section.
    assert names[0].startswith("?") and names[-1].startswith("?")
    keys = list(SECTIONS)
    onsets = [ms[names.index(k)][0] for k in keys]
    assert onsets == sorted(onsets)
    errors = []
    for k in range(1, len(keys)):
        section_start = onsets[k] - pauses.lead_ms
        errors.append(starts[k] - section_start)
        # The chapter begins in the silence after the previous section's last
        # sound and before this title, as ffmpeg plays it and as a player that
        # ignores the encoder delay plays it.
        previous_end = max(
            e for (s, e), n in zip(ms, names, strict=True) if s < onsets[k]
        )
        for start in (starts[k], starts[k] + delay):
            assert previous_end < start < onsets[k] - 200
    assert max(abs(e) for e in errors) <= 30.0, errors
    # The intro plays inside chapter 1, before its title; the outro inside the
    # last chapter, after the last section's speech; the last chapter ends
    # with the file.
    intro_end = ms[0][1]
    assert intro_end < onsets[0] < starts[1]
    last_speech = max(e for (s, e), n in zip(ms, names, strict=True) if n in keys)
    assert starts[-1] < last_speech < ms[-1][0]
    assert abs(ms[-1][0] - last_speech - pauses.section_ms) <= 40.0
    duration_ms = x.shape[0] * 1000 / rate
    assert ms[-1][1] <= duration_ms
    assert abs(chaps[-1].end_ms - duration_ms) <= 50.0


# -- pacing --------------------------------------------------------------------


def expected_gaps(pauses: Pauses) -> list[float]:
    """Silence heard between consecutive utterances of MIX_DOC, in order."""
    gaps: list[float] = []
    for s, kinds in enumerate(MIX_KINDS):
        gaps += [pauses.after(k) for k in kinds[:-1]]
        if s < len(MIX_KINDS) - 1:
            gaps.append(pauses.section_ms)
    return gaps


@pytest.mark.parametrize(
    "pauses",
    [
        Pauses(),
        Pauses(title_ms=1200, sentence_ms=150, paragraph_ms=1000, section_ms=2500),
    ],
    ids=["default", "custom"],
)
def test_heard_gaps_are_the_configured_pauses(tmp_path: Path, pauses: Pauses) -> None:
    """The engine leaves 0 to 320 ms of silence around its utterances; after
    trimming, every silence heard is the configured pause, within 40 ms."""
    doc = tmp_path / "mix.txt"
    doc.write_text(MIX_DOC, encoding="utf-8")
    path, _ = build_mix(doc, tmp_path / "ep.mp3", "phone", pauses=pauses)
    x, rate = decode(path)
    runs = sound_runs(x, rate)
    gaps = [(b[0] - a[1]) * 1000 / rate for a, b in zip(runs, runs[1:], strict=False)]
    wanted = expected_gaps(pauses)
    assert len(gaps) == len(wanted)
    off = [round(g - w, 1) for g, w in zip(gaps, wanted, strict=True)]
    assert max(abs(d) for d in off) <= 40.0, off
    # The first title is lead_ms into the file.
    assert abs(runs[0][0] * 1000 / rate - pauses.lead_ms) <= 40.0


def render(
    clip: Clip, kinds: list[str], preset: str = "phone"
) -> tuple[np.ndarray, SegmentLayout]:
    layout = SegmentLayout()
    pcm = b"".join(
        render_clip(
            clip,
            kinds,
            PRESETS[preset],
            Pauses(),
            lead_ms=300,
            tail_ms=800,
            target_lufs=None,
            layout=layout,
        )
    )
    y = np.frombuffer(pcm, dtype="<f4")
    return np.round(y.astype(np.float64) * 32768).astype(np.int32), layout


def test_utterance_edges_do_not_click() -> None:
    """Tones that start and stop at full amplitude are faded at each join:
    no sample step at an edge is larger than the tone's own steepest step."""
    engine = LevelEngine()
    kinds = MIX_KINDS[3]
    texts = ["Section normale", "Une phrase.", "Une autre phrase suit ici."]
    clip = make_clip(engine.synthesize(texts))
    y, layout = render(clip, kinds)
    assert layout.utterances and len(layout.utterances) == 3
    steps = np.abs(np.diff(y))
    start, end = layout.utterances[0]
    interior = steps[start + 2000 : end - 2000].max()
    edge = int(0.02 * 44100)
    for start, end in layout.utterances:
        assert start > 0 and end < y.size
        assert steps[start - 1 : start + edge].max() <= 1.05 * interior
        assert steps[end - edge : end + 1].max() <= 1.05 * interior
        # The join itself is silence meeting a faded-out edge.
        assert abs(y[start]) < 0.05 * np.abs(y[start:end]).max()
        assert abs(y[end - 1]) < 0.05 * np.abs(y[start:end]).max()


# -- streaming -----------------------------------------------------------------


def long_clip(count: int, seconds: float = 0.3) -> Clip:
    x = tone("normal", 440.0, int(ENGINE_RATE * seconds))
    utterance = np.round(x * 32767).astype(np.int16)
    return Clip(ENGINE_RATE, tuple(utterance.copy() for _ in range(count)), -20.0)


def test_render_clip_masters_one_utterance_at_a_time() -> None:
    clip = long_clip(500)
    layout = SegmentLayout()
    chunks = render_clip(
        clip,
        ["sentence"] * 499 + ["end"],
        PRESETS["phone"],
        Pauses(),
        lead_ms=300,
        tail_ms=800,
        target_lufs=None,
        layout=layout,
    )
    lead = next(chunks)
    assert not any(lead)
    first = next(chunks)
    width = PCM_SAMPLE_BYTES
    assert len(first) > 0.25 * 44100 * width
    assert layout.utterances == [
        (len(lead) // width, (len(lead) + len(first)) // width)
    ]
    next(chunks)  # the pause after it
    next(chunks)
    assert len(layout.utterances) == 2
    chunks.close()


def peak_while_rendering(clip: Clip) -> int:
    kinds = ["sentence"] * (len(clip.utterances) - 1) + ["end"]
    layout = SegmentLayout()
    tracemalloc.start()
    try:
        size = 0
        for chunk in render_clip(
            clip,
            kinds,
            PRESETS["phone"],
            Pauses(),
            lead_ms=300,
            tail_ms=800,
            target_lufs=None,
            layout=layout,
        ):
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == layout.samples * PCM_SAMPLE_BYTES
    return peak


def test_rendering_memory_does_not_grow_with_length() -> None:
    """Ten times the audio (125 s vs 12.5 s of speech) adds bookkeeping only:
    the loudness meter's 50 numbers per second, not the rendered samples.

    The clips are built before measuring: what is traced is what rendering
    holds. Holding the long segment's output would take 22 MB more.
    """
    short = peak_while_rendering(long_clip(25, 0.5))
    long = peak_while_rendering(long_clip(250, 0.5))
    extra_output = 225 * (0.5 + Pauses().sentence_ms / 1000) * 44100 * PCM_SAMPLE_BYTES
    assert long - short < 0.025 * extra_output
    # A fixed working set: one utterance mastered in float, and the loudness
    # meter's FFT block.
    assert short < 16_000_000


def test_section_meter_fed_in_pieces_measures_the_whole() -> None:
    """The loudness that sets a section's gain is that of the section laid out
    with its pauses, measured piece by piece as well as in one go."""
    clip = make_clip(
        LevelEngine().synthesize(["Section calme", "Une phrase.", "Une autre ici."])
    )
    silences = [6615, 17640, 2000, 30000]
    meter = LoudnessMeter(clip.sample_rate)
    whole = []
    for samples, silence in zip(clip.utterances, silences, strict=False):
        meter.feed_silence(silence)
        meter.feed(from_int16(samples))
        whole += [np.zeros(silence), from_int16(samples).astype(np.float64)]
    meter.feed_silence(silences[-1])
    whole.append(np.zeros(silences[-1]))
    x = np.concatenate(whole)
    expected = loudness_ref.integrated_loudness(x, clip.sample_rate)
    assert meter.integrated_lufs() == pytest.approx(expected, abs=0.03)
    assert meter.integrated_lufs(6.0) == pytest.approx(expected + 6.0, abs=0.03)
    # Joined end to end (without its pauses), the same speech reads louder:
    # the pauses' partial blocks pull the gated mean down, which is why the
    # gain is set from the section laid out, not from the clip alone.
    joined = np.concatenate([from_int16(u) for u in clip.utterances])
    assert loudness_ref.integrated_loudness(joined, clip.sample_rate) > expected + 0.5


def test_edge_word_timings_survive_trimming_and_the_clip_cache() -> None:
    """Word timings (as the edge engine reports them) move with the trim and are
    stored with the clip."""
    from narrator.model import WordTiming

    rate = 24_000
    lead = np.zeros(rate // 2)  # 500 ms of silence the trim removes (but 30 ms)
    voice = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    pcm = np.round(np.concatenate([lead, voice]) * 32767).astype("<i2").tobytes()
    words = (WordTiming(500, 900, "Bonjour"), WordTiming(950, 1490, "tous"))
    clip = make_clip([Audio.from_pcm(pcm, rate, words=words)])
    trimmed_ms = 500 - 30  # TRIM_KEEP_MS of silence stays before the sound
    assert [(w.start_ms, w.end_ms, w.text) for w in clip.words[0]] == [
        (500 - trimmed_ms, 900 - trimmed_ms, "Bonjour"),
        (950 - trimmed_ms, 1490 - trimmed_ms, "tous"),
    ]
    parts, meta = clip.payload_parts()
    again = Clip.from_payload(
        b"".join(bytes(p) for p in parts), json.loads(json.dumps(meta))
    )
    assert again.words == clip.words
    plain = make_clip([Audio.from_pcm(pcm, rate)])
    assert plain.words == () and "words" not in plain.payload_parts()[1]


def test_a_clip_written_batch_by_batch_renders_as_the_clip_in_memory(
    tmp_path: Path,
) -> None:
    """The build writes a section's clip to a file a batch at a time and
    renders it reading one utterance at a time: the same PCM, the same layout
    as the whole clip in memory."""
    from narrator.audio.decode import ClipWriter

    texts = ["Section normale", "Une phrase.", "Une autre phrase suit ici."]
    audios = LevelEngine().synthesize(texts)
    path = tmp_path / "clip.bin"
    with path.open("wb") as out:
        out.write(b"header")
        writer = ClipWriter(out)
        writer.add(audios[:1])
        writer.add(audios[1:])
    meta = json.loads(json.dumps(writer.meta()))
    kinds = MIX_KINDS[3]
    expected, layout = render(make_clip(audios), kinds)
    with path.open("rb") as f:
        size = path.stat().st_size - 6
        stored = Clip.from_file(f.fileno(), 6, size, meta)
        assert len(stored.utterances) == 3
        got, stored_layout = render(stored, kinds)
    assert np.array_equal(got, expected)
    assert stored_layout == layout
