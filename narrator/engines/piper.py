"""Piper voices (VITS models in ONNX) run in-process with onnxruntime.

A Piper voice is ``MODEL.onnx`` plus ``MODEL.onnx.json``. The model takes
phoneme ids and returns audio; the ids come from espeak-ng's IPA phonemes
through the config's ``phoneme_id_map``. narrator does that phonemization
itself with the libespeak-ng it already loads for the espeak engine (one copy
per process, serialized by that engine's lock), so the GPL-3.0 piper-tts
package is not needed: onnxruntime (MIT) runs the model.

How text becomes ids is ``phonemes`` (Piper's voice format); where voices
are installed, and what their config says, is ``voicestore``; this module
runs the model and joins its audio.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from narrator.cache import default_cache_dir
from narrator.engines import voicestore
from narrator.engines.base import SectionRef
from narrator.engines.espeak import text_to_phonemes, voice_version
from narrator.engines.phonemes import (
    Clause,
    chunk_sentences,
    phoneme_ids,
    sentences_of,
)
from narrator.engines.piper_session import (
    INFERENCE_PHONEMES,
    default_threads,
    load_session,
)
from narrator.engines.voicestore import PiperConfig, read_config
from narrator.errors import EngineError, EngineUnavailable, InputError
from narrator.model import Audio

__all__ = [
    "PROFILE",
    "PiperEngine",
    "create",
    "inference_phonemes",
    "phonemize",
    "rate_to_length_scale",
    "resolve_voice",
]

log = logging.getLogger(__name__)

ENGINE_NAME = "piper"
PROFILE = "espeak"  # espeak-ng is Piper's front end: same normalization
# Bump when phonemization, chunking, trimming or gaps change: part of
# identity(), so of the clip cache key. 2: clause types and sentence ends as
# piper-tts 1.8 has them; the voice's default speaker. 3: at most 120
# phonemes per inference, was 300. 4: at most INFERENCE_PHONEMES (400), the
# decoder run in windows (piper_session).
ASSEMBLY_VERSION = "4"
# Silence kept at the edges of an utterance / of the inner edges of chunks,
# and the pause where two chunks of one utterance meet.
OUTER_KEEP_MS = 40
INNER_KEEP_MS = 10
GAP_MS = {"sentence": 250, "clause": 80, "word": 0}
SILENCE_DBFS = -50.0
# --rate in words per minute: this many is the voice's own pace.
REFERENCE_WPM = 165


# -- phonemization -------------------------------------------------------------


def phonemize(text: str, espeak_voice: str) -> list[list[Clause]]:
    """Phonemize ``text`` with espeak-ng: a list of sentences of clauses.

    Uses the espeak engine's library object and lock (libespeak-ng has global
    state); the lock is held for this one text only.

    Raises:
        EngineUnavailable: libespeak-ng cannot be loaded.
        InputError: espeak-ng has no such voice.
    """
    return sentences_of(text_to_phonemes(text, espeak_voice))


def inference_phonemes(
    text: str, config: PiperConfig, max_phonemes: int = INFERENCE_PHONEMES
) -> list[str]:
    """The phonemes of ``text`` exactly as ``config``'s voice receives them: one
    string (code points, decomposed) per inference, sentence by sentence after
    cutting, so a user can see why a word sounds wrong without running the
    model.

    Raises:
        EngineUnavailable: libespeak-ng cannot be loaded.
        InputError: espeak-ng has no such voice.
    """
    chunks = chunk_sentences(phonemize(text, config.espeak_voice), max_phonemes)
    return ["".join(chunk.phonemes) for chunk in chunks]


# -- audio ---------------------------------------------------------------------


def _to_pcm(audio: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Float audio in [-1, 1] to int16; clipped, not peak-normalized (the
    mastering stage sets the loudness of the whole episode)."""
    clipped = np.clip(audio.astype(np.float32), -1.0, 1.0)
    scaled: np.ndarray[Any, np.dtype[np.float32]] = np.rint(clipped * 32767.0)
    return scaled.astype(np.int16)


def _trim(
    samples: np.ndarray[Any, np.dtype[np.int16]],
    rate: int,
    keep_before_ms: int,
    keep_after_ms: int,
) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Cut silence at both ends down to the given margins."""
    threshold = int(32768 * 10 ** (SILENCE_DBFS / 20))
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return samples[:0]
    start = max(0, int(loud[0]) - rate * keep_before_ms // 1000)
    end = min(samples.size, int(loud[-1]) + 1 + rate * keep_after_ms // 1000)
    return samples[start:end]


def _join(
    pieces: Sequence[np.ndarray[Any, np.dtype[np.int16]]],
    breaks: Sequence[str],
    rate: int,
) -> bytes:
    out: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        before = OUTER_KEEP_MS if index == 0 else INNER_KEEP_MS
        after = OUTER_KEEP_MS if index == last else INNER_KEEP_MS
        out.append(_trim(piece, rate, before, after))
        if index < last:
            gap = GAP_MS.get(breaks[index], 0)
            out.append(np.zeros(rate * gap // 1000, dtype=np.int16))
    if not out:
        return b""
    return np.concatenate(out).astype("<i2").tobytes()


# -- the model -------------------------------------------------------------------


# Phonemes a voice lacks, already warned about: once per voice and run.
_missing_lock = threading.Lock()
_missing_warned: dict[str, set[str]] = {}


def _onnxruntime_version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)


# -- voice resolution ---------------------------------------------------------------


def resolve_voice(value: str | None) -> tuple[Path, str | None]:
    """Find the model for ``--voice``: (model path, speaker or None).

    ``value`` is an installed voice name, a path to a ``.onnx`` model, or
    either followed by ``:SPEAKER`` (a name or number of a multi-speaker
    voice). None picks the best installed French voice.

    Raises:
        InputError: no such file or voice name.
        EngineUnavailable: the voice is known but not installed, or none is.
    """
    if not value:
        found = voicestore.installed("fr")
        if not found or found[0].path is None:
            raise EngineUnavailable(
                "piper: no Piper voice is installed; run `narrator voices install "
                "fr_FR-siwis-medium` (or `--from MODEL.onnx` offline), or pass "
                "--voice MODEL.onnx."
            )
        return found[0].path, None
    speaker: str | None = None
    base = value
    head, sep, tail = value.rpartition(":")
    if sep and len(head) > 1 and re.fullmatch(r"[\w-]+", tail):
        base, speaker = head, tail
    looks_like_path = base.endswith(".onnx") or "/" in base or os.sep in base
    if looks_like_path:
        model = Path(base).expanduser()
        if not model.is_file():
            raise InputError(f"piper: {model}: no such model file.")
        return model, speaker
    installed = voicestore.find_installed(base)
    if installed is not None:
        return installed, speaker
    if base in voicestore.catalogue().voices:
        raise EngineUnavailable(
            f"piper: voice {base!r} is not installed; run `narrator voices install "
            f"{base}` first."
        )
    raise InputError(
        f"piper: unknown voice {base!r}; `narrator voices --engine piper` lists "
        "them, or pass a path to a .onnx model."
    )


def rate_to_length_scale(rate: str | None, base: float) -> float:
    """Map ``--rate`` to Piper's length_scale (duration multiplier).

    A number is words per minute, REFERENCE_WPM (165, espeak's default) being
    the voice's own pace: ``length_scale = base * 165 / wpm``. A signed
    percentage ("+20%", "-10%") changes the speed as Edge voices do:
    ``length_scale = base / (1 + pct / 100)``.

    Raises:
        InputError: a value out of range or not understood.
    """
    if rate is None or str(rate).strip() == "":
        return base
    text = str(rate).strip()
    pct = re.fullmatch(r"([+-]\d+(?:\.\d+)?)%", text)
    if pct:
        change = float(pct.group(1))
        if not -50 <= change <= 100:
            raise InputError(f"piper: rate {text} is out of range; use -50% to +100%.")
        return base / (1 + change / 100)
    try:
        wpm = float(text)
    except ValueError as exc:
        raise InputError(
            f"piper: rate {text!r} is neither words per minute nor +N%/-N%."
        ) from exc
    if not 80 <= wpm <= 450:
        raise InputError(f"piper: rate {text} is out of range; use 80-450 words/min.")
    return base * REFERENCE_WPM / wpm


# -- the engine -------------------------------------------------------------------


class PiperEngine:
    """Neural French speech from a Piper voice, offline, on the CPU.

    Thread-safe: the pipeline synthesizes several sections at once; they share
    one onnxruntime session (its ``run`` is thread-safe) and take turns only
    for phonemization (espeak-ng's lock).
    """

    name = ENGINE_NAME
    local = True
    profile = PROFILE

    def __init__(
        self,
        model: Path,
        *,
        speaker: str | None = None,
        rate: str | None = None,
        threads: int = 1,
        max_phonemes: int = INFERENCE_PHONEMES,
        store: Path | None = None,
    ):
        self.model_path = model
        self.voice = model.stem
        self.config_path = Path(f"{model}.json")
        if not self.config_path.is_file():
            raise InputError(
                f"piper: {self.config_path}: the voice's config is missing; a Piper "
                "voice is MODEL.onnx with MODEL.onnx.json beside it."
            )
        self.config = read_config(self.config_path)
        self.speaker_id = self._speaker_id(speaker)
        self.length_scale = rate_to_length_scale(rate, self.config.length_scale)
        self.max_phonemes = max_phonemes
        self.threads = max(1, threads)
        self.model_sha256 = voicestore.file_sha256(model)
        self.config_sha256 = voicestore.file_sha256(self.config_path)
        self._session = load_session(
            model, self.threads, sha256=self.model_sha256, store=store
        )
        self._input_names = self._session.input_names
        missing = {"input", "input_lengths", "scales"} - self._input_names
        if missing:
            raise InputError(
                f"piper: {model} is not a Piper voice model (no input "
                f"{', '.join(sorted(missing))})."
            )
        if self.config.num_speakers > 1 and "sid" not in self._input_names:
            raise InputError(
                f"piper: {model}: the config lists {self.config.num_speakers} "
                "speakers but the model takes no speaker id."
            )
        # Fail now, not in the middle of a build, if espeak-ng lacks the voice.
        self._espeak_version = voice_version(self.config.espeak_voice)

    def _speaker_id(self, speaker: str | None) -> int:
        if speaker is None:
            return self.config.default_speaker_id if self.config.num_speakers > 1 else 0
        if speaker in self.config.speaker_id_map:
            return self.config.speaker_id_map[speaker]
        if speaker.isdigit() and int(speaker) < self.config.num_speakers:
            return int(speaker)
        known = ", ".join(sorted(self.config.speaker_id_map)) or "0"
        raise InputError(
            f"piper: {self.model_path.name} has no speaker {speaker!r}; "
            f"choose one of: {known}."
        )

    def identity(self) -> Mapping[str, str]:
        """What changes the sound: the model and config bytes, speaker, scales,
        the phonemizer and the runtime."""
        return {
            "engine": ENGINE_NAME,
            "runtime": f"onnxruntime {_onnxruntime_version()}",
            "phonemizer": f"espeak-ng {self._espeak_version}",
            "model_sha256": self.model_sha256,
            "config_sha256": self.config_sha256,
            "speaker": str(self.speaker_id),
            "length_scale": f"{self.length_scale:.4f}",
            "noise_scale": f"{self.config.noise_scale:.4f}",
            "noise_w": f"{self.config.noise_w:.4f}",
            "assembly": ASSEMBLY_VERSION,
        }

    def probe(self) -> bool:
        """The model loaded in ``__init__``; it runs if its file is still there."""
        return self.model_path.is_file()

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        """One WAV per text.

        Raises:
            EngineError: onnxruntime failed on an input.
        """
        rate = self.config.sample_rate
        audios = []
        for text in texts:
            sentences = phonemize(text, self.config.espeak_voice)
            chunks = chunk_sentences(sentences, self.max_phonemes)
            pieces = []
            for chunk in chunks:
                ids, missing = phoneme_ids(chunk.phonemes, self.config.phoneme_id_map)
                if missing:
                    self._warn_missing(missing)
                pieces.append(self._infer(ids))
            if not pieces:
                # Nothing speakable (punctuation only): a short pause.
                silence = np.zeros(rate * OUTER_KEEP_MS * 2 // 1000, dtype="<i2")
                audios.append(Audio.from_pcm(silence.tobytes(), rate))
                continue
            pcm = _join(pieces, [c.brk for c in chunks], rate)
            audios.append(Audio.from_pcm(pcm, rate))
        return audios

    def _warn_missing(self, missing: set[str]) -> None:
        """Say once per voice and run which phonemes the voice cannot say (the
        reference drops them too, but a word then sounds wrong for a reason)."""
        key = str(self.config_path.resolve())
        with _missing_lock:
            warned = _missing_warned.setdefault(key, set())
            new = sorted(missing - warned)
            warned.update(new)
        if new:
            log.warning(
                "piper: voice %s has no id for the phoneme(s) %s; they are left "
                "out of the speech (a lexicon entry can respell the word).",
                self.model_path.name,
                " ".join(repr(p) for p in new),
            )

    def _infer(self, ids: list[int]) -> np.ndarray[Any, np.dtype[np.int16]]:
        feeds: dict[str, np.ndarray[Any, Any]] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(
                [self.config.noise_scale, self.length_scale, self.config.noise_w],
                dtype=np.float32,
            ),
        }
        if "sid" in self._input_names:
            feeds["sid"] = np.array([self.speaker_id], dtype=np.int64)
        try:
            audio = self._session.infer(feeds)
        except Exception as exc:  # onnxruntime's own error types, one boundary
            raise EngineError(
                f"the model failed on {len(ids)} phoneme ids "
                f"({type(exc).__name__}: {str(exc).strip()[:200]})",
                engine=ENGINE_NAME,
            ) from exc
        flat = audio.reshape(-1) if audio.size else audio.reshape(0)
        if audio.ndim and sum(1 for d in audio.shape if d != 1) > 1:
            raise EngineError(
                f"the model returned audio of shape {audio.shape}; expected one "
                "channel",
                engine=ENGINE_NAME,
            )
        return _to_pcm(flat)


# -- factory -------------------------------------------------------------------


def _threads(options: Mapping[str, str]) -> int:
    """Intra-op threads of one run: one unless ``threads`` says otherwise.

    Sections run ``jobs`` at once, one a core, and at most one run per core
    is in flight (piper_session); ``jobs`` is only checked here.
    """
    value = options.get("threads")
    if value:
        try:
            threads = int(value)
        except ValueError as exc:
            raise InputError(f"piper: threads={value!r} is not a number.") from exc
        if threads < 1:
            raise InputError("piper: threads must be at least 1.")
        return threads
    jobs_text = options.get("jobs")
    try:
        int(jobs_text) if jobs_text else 0
    except ValueError as exc:
        raise InputError(f"piper: jobs={jobs_text!r} is not a number.") from exc
    return default_threads()


def create(options: Mapping[str, str]) -> PiperEngine:
    """Build the Piper engine from string options.

    Keys: voice (installed name or MODEL.onnx, optionally ``:SPEAKER``; default:
    the best installed French voice), rate (words per minute, or +N%/-N%),
    speaker (overrides ``:SPEAKER``), threads (intra-op threads), jobs,
    cache_dir (where the voice is kept cut at its decoder, under ``voices/``).

    Raises:
        InputError: an option, the model or its config is invalid.
        EngineUnavailable: onnxruntime is missing, or no voice is installed.
    """
    model, speaker = resolve_voice(options.get("voice"))
    engine = PiperEngine(
        model,
        speaker=options.get("speaker") or speaker,
        rate=options.get("rate"),
        threads=_threads(options),
        store=Path(options.get("cache_dir") or default_cache_dir()) / "voices",
    )
    # As --voice names it; the default is the installed voice's name.
    engine.voice = options.get("voice") or model.stem
    return engine
