"""onnxruntime sessions for Piper voices: a sentence whole on the text side,
its audio a window at a time.

Why a module of its own: a VITS decoder's working memory grows with the audio
of one inference (about 0.9 kB per output sample with a medium voice), so a
long sentence, or two at once, used to set a build's peak (1.2 GB on the
seed). Cut where the decoder starts (piper_graph), a voice runs as two
sessions: the text side (encoder, durations, flow) on the whole sentence, as
piper-tts runs it, then the decoder over ``DECODER_FRAMES`` latent frames at a
time with the frames of context its convolutions reach on each side, measured
on the voice itself once per process. The windows' audio is the whole run's
audio, sample for sample (tests/test_piper_medium.py checks it), and a
window's memory does not depend on the sentence. Text sides run one a core
(``slots()``), one thread each; decoder windows take turns, each on every
core, so one window's working memory is held at a time, whatever ``jobs``
says.

A voice whose graph cannot be cut runs whole, at most
``INFERENCE_PHONEMES`` phonemes an inference.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from narrator.atomic import write_bytes_atomic, write_text_atomic
from narrator.engines.piper_graph import VoiceParts, split_voice
from narrator.errors import EngineUnavailable, InputError

__all__ = [
    "DECODER_FRAMES",
    "INFERENCE_PHONEMES",
    "VoiceSession",
    "default_threads",
    "load_session",
    "slots",
]

log = logging.getLogger(__name__)

# Phonemes per inference: sentences longer than this are cut between clauses,
# then words. With the decoder run in windows this only bounds the text side
# (its attention and alignment grow with the square of a sentence): 400
# phonemes is about 30 s of speech, longer than nearly any sentence, so
# sentences reach the voice whole, as piper-tts gives them.
INFERENCE_PHONEMES = 400
# Latent frames the decoder runs at once (256 samples each at 22,050 Hz:
# ~2.2 s). A build's peak follows the window more than its arithmetic says
# (the shared arena keeps what the largest window took): 192 frames peaked at
# 380 MB where 256 peaked at 430-490 MB, in the same time; 128 frames two at a
# time cost 25 % more decoding (the context frames), BENCHMARKS.md.
DECODER_FRAMES = 192
# Frames on each side of the probe that measures the decoder's reach.
_PROBE_FRAMES = 40

# Bump when piper_graph cuts differently: names the stored halves.
PARTS_VERSION = "1"

_sessions_lock = threading.Lock()
_sessions: dict[tuple[str, int, int, int], VoiceSession] = {}
_allocator_lock = threading.Lock()
_allocator_ready = False
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
# Decoder windows in flight in a process, each on every core: a window's
# working memory (~105 MB with a medium voice at 192 frames, 138 MB at 256) is
# held once.
_decoder_slots = threading.BoundedSemaphore(1)


def default_threads() -> int:
    """Intra-op threads of one run: one, since sections run one per core and
    a section's parts take the cores the others leave (build/produce)."""
    return 1


def decoder_threads() -> int:
    """Intra-op threads of a decoder window: every core (windows take turns)."""
    return max(1, os.cpu_count() or 1)


def slots() -> int:
    """Runs in flight in a process at most: one per core."""
    return max(1, os.cpu_count() or 1)


def load_session(
    model: Path, threads: int, *, sha256: str = "", store: Path | None = None
) -> VoiceSession:
    """The voice at ``model`` ready to run, shared per (file, threads).

    ``store`` is where the voice's two halves are kept once cut (the cut
    costs ~1.5 s, most of it importing ``onnx``), under the model's
    ``sha256``; without it the voice is cut again in each process.

    Raises:
        EngineUnavailable: onnxruntime cannot be imported.
        InputError: the file is not an ONNX model onnxruntime can run.
    """
    st = model.stat()
    key = (str(model.resolve()), st.st_size, st.st_mtime_ns, threads)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = VoiceSession(model, threads, sha256=sha256, store=store)
            _sessions[key] = session
        return session


class VoiceSession:
    """One voice's model in a process: cut in two, or whole."""

    def __init__(
        self, model: Path, threads: int, *, sha256: str = "", store: Path | None = None
    ) -> None:
        ort = _onnxruntime()
        self.model = model
        self._cut: VoiceParts | None = None
        self._text: Any = None
        self._decoder: Any = None
        cut = _parts(model, sha256, store)
        if cut is not None and isinstance(cut.text_side, str):
            try:  # the kept halves: damaged or pruned meanwhile, cut (and kept) again
                self._load_cut(ort, cut, threads)
            except Exception as exc:
                log.debug("piper: kept halves of %s unusable: %s", model.name, exc)
                cut = _parts(model, sha256, store, again=True)
        if cut is not None and self._cut is None:
            try:
                self._load_cut(ort, cut, threads)
            except Exception as exc:  # an odd graph: run it whole instead
                log.debug("piper: %s not cut at its decoder: %s", model.name, exc)
                self._text = self._decoder = None
        if self._cut is None:
            try:
                self._text = _session(ort, str(model), threads)
            except Exception as exc:  # onnxruntime's own error types
                raise _not_a_model(model, exc) from exc
        self.input_names = frozenset(i.name for i in self._text.get_inputs())
        self._reach_lock = threading.Lock()
        self._reach: tuple[int, int] | None = None
        self._probed = False

    def _load_cut(self, ort: Any, cut: VoiceParts, threads: int) -> None:
        self._text = _session(ort, cut.text_side, threads)
        self._decoder = _session(ort, cut.decoder, decoder_threads())
        self._cut = cut

    @property
    def windowed(self) -> bool:
        """True when the decoder runs in windows (the graph could be cut)."""
        return self._cut is not None

    def infer(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        """The voice's audio output for ``feeds`` (its shape as the model gives it)."""
        with _slots:
            outputs = self._text.run(None, dict(feeds))
        if self._cut is None:
            return np.asarray(outputs[0])
        latent = np.asarray(outputs[0], dtype=np.float32)
        extra = dict(zip(self._cut.handed, outputs[1:], strict=True))
        extra.update({name: feeds[name] for name in self._cut.passed})
        frames = int(latent.shape[-1]) if latent.ndim == 3 else 0
        reach = self._measured_reach(extra)
        timed = any(frames > 1 and frames in np.shape(v) for v in extra.values())
        if reach is None or timed or frames <= DECODER_FRAMES + 2 * reach[1]:
            return self._decode(latent, extra)
        return self._decode_windows(latent, extra, *reach)

    def _decode(
        self, latent: np.ndarray[Any, Any], extra: dict[str, Any]
    ) -> np.ndarray[Any, Any]:
        with _decoder_slots:
            return np.asarray(
                self._decoder.run(None, {**extra, self._latent: latent})[0]
            )

    @property
    def _latent(self) -> str:
        assert self._cut is not None
        return self._cut.latent

    def _decode_windows(
        self,
        latent: np.ndarray[Any, Any],
        extra: dict[str, Any],
        hop: int,
        context: int,
    ) -> np.ndarray[Any, Any]:
        frames = int(latent.shape[-1])
        pieces = []
        for start in range(0, frames, DECODER_FRAMES):
            keep = min(DECODER_FRAMES, frames - start)
            lo = max(0, start - context)
            hi = min(frames, start + keep + context)
            window = np.ascontiguousarray(latent[:, :, lo:hi])
            audio = self._decode(window, extra).reshape(-1)
            if audio.size != (hi - lo) * hop:
                raise RuntimeError(
                    f"the decoder gave {audio.size} samples for {hi - lo} frames, "
                    f"not {hop} a frame"
                )
            offset = (start - lo) * hop
            pieces.append(audio[offset : offset + keep * hop])
        return np.concatenate(pieces).reshape(1, 1, -1)

    def _measured_reach(self, extra: dict[str, Any]) -> tuple[int, int] | None:
        """(samples per frame, frames of context) of the decoder, measured once."""
        with self._reach_lock:
            if not self._probed:
                self._reach = self._probe(extra)
                self._probed = True
                log.debug("piper: %s decoder reach %s", self.model.name, self._reach)
            return self._reach

    def _probe(self, extra: dict[str, Any]) -> tuple[int, int] | None:
        """Decode a random latent and the same with its middle frame moved:
        the samples that change show how far a frame reaches. None when the
        decoder is not local (the change reaches the probe's ends)."""
        assert self._cut is not None
        side = _PROBE_FRAMES
        length = 2 * side + 1
        rng = np.random.default_rng(0)
        shape = (1, self._cut.channels, length)
        base = rng.standard_normal(shape).astype(np.float32)
        moved = base.copy()
        moved[:, :, side] += 1.0
        try:
            a = self._decode(base, extra).reshape(-1)
            b = self._decode(moved, extra).reshape(-1)
        except Exception as exc:  # a decoder that needs more than z: run whole
            log.debug("piper: %s decoder probe failed: %s", self.model.name, exc)
            return None
        if a.size == 0 or a.size % length or a.size != b.size:
            return None
        hop = a.size // length
        changed = np.flatnonzero(a != b)
        if changed.size == 0 or changed[0] < hop or changed[-1] >= (length - 1) * hop:
            return None
        first, last = int(changed[0]) // hop, int(changed[-1]) // hop
        return hop, max(side - first, last - side) + 2


def _parts(
    model: Path, sha256: str, store: Path | None, *, again: bool = False
) -> VoiceParts | None:
    """The voice's halves: from ``store`` when cut before (unless ``again``),
    else cut now (and stored, over what was kept). None when the graph has no
    decoder to cut at."""
    folder = store / f"{sha256[:40]}.v{PARTS_VERSION}" if store and sha256 else None
    if folder is not None and not again:
        stored = _stored(folder)
        if stored is not False:
            return stored
    try:
        parts = split_voice(model)
    except ImportError:
        return None  # no onnx package: the model runs whole
    except Exception as exc:  # the onnx parser's own errors, one boundary
        raise _not_a_model(model, exc) from exc
    if folder is not None and _store(folder, parts):
        # The files, not the bytes: sessions then load without a second copy.
        stored = _stored(folder)
        if stored is not False:
            return stored
    return parts


def _stored(folder: Path) -> VoiceParts | Literal[False] | None:
    """The halves kept in ``folder``; None if the voice has none; False if
    nothing (readable) is kept there."""
    try:
        meta = json.loads((folder / "parts.json").read_text("utf-8"))
        if not meta["cut"]:
            return None
        text_side, decoder = folder / "text.onnx", folder / "decoder.onnx"
        if not (text_side.is_file() and decoder.is_file()):
            return False
        try:  # the last use, which `narrator cache prune` goes by (cache.py)
            os.utime(folder / "parts.json")
        except OSError:  # a read-only cache: still usable
            pass
        return VoiceParts(
            text_side=str(text_side),
            decoder=str(decoder),
            latent=str(meta["latent"]),
            handed=tuple(meta["handed"]),
            passed=tuple(meta["passed"]),
            channels=int(meta["channels"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False  # not kept yet, or damaged: cut again


def _store(folder: Path, cut: VoiceParts | None) -> bool:
    """Keep the halves for the next process; parts.json last, so a half-written
    folder reads as not stored."""
    meta: dict[str, Any] = {"cut": cut is not None}
    try:
        if cut is not None:
            assert isinstance(cut.text_side, bytes) and isinstance(cut.decoder, bytes)
            write_bytes_atomic(folder / "text.onnx", cut.text_side)
            write_bytes_atomic(folder / "decoder.onnx", cut.decoder)
            meta.update(
                latent=cut.latent,
                handed=list(cut.handed),
                passed=list(cut.passed),
                channels=cut.channels,
            )
        write_text_atomic(folder / "parts.json", json.dumps(meta, indent=1) + "\n")
    except OSError as exc:  # a read-only cache: cut again next time
        log.debug("piper: cannot keep the cut voice in %s: %s", folder, exc)
        return False
    return True


def _onnxruntime() -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EngineUnavailable(
            f"piper: onnxruntime cannot be imported ({exc}); reinstall narrator "
            "with pip."
        ) from exc
    _shared_allocator(ort)
    return ort


def _shared_allocator(ort: Any) -> None:
    """One arena for every session of the process, grown by what is asked, not
    by doubling: the text side and the decoder reuse each other's memory."""
    global _allocator_ready
    with _allocator_lock:
        if _allocator_ready:
            return
        _allocator_ready = True
        try:
            info = ort.OrtMemoryInfo(
                "Cpu",
                ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR,
                0,
                ort.OrtMemType.DEFAULT,
            )
            # max_mem 0 (no limit), extend strategy 1 (kSameAsRequested).
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 1, -1, -1))
        except Exception as exc:  # an onnxruntime without it: each session's own
            log.debug("piper: no shared allocator: %s", exc)


def _session(ort: Any, model: bytes | str, threads: int) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # Spinning threads would steal the cores that mastering and the other
    # sections use between inferences.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.use_env_allocators", "1")
    return ort.InferenceSession(
        model, sess_options=options, providers=["CPUExecutionProvider"]
    )


def _not_a_model(model: Path, exc: Exception) -> InputError:
    return InputError(
        f"piper: {model} is not a model onnxruntime can run "
        f"({type(exc).__name__}: {str(exc).strip()[:200]}); reinstall the "
        "voice or pass another --voice."
    )
