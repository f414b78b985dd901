"""onnxruntime sessions for Piper voices: a sentence whole on the text side,
its audio a window at a time.

Why a module of its own: a VITS decoder's working memory grows with the audio
of one inference (about 0.9 kB per output sample with a medium voice), so a
long sentence, or two at once, used to set a build's peak (1.2 GB on the
seed). Cut where the decoder starts (piper_graph), a voice runs as separate
sessions: the text side (encoder, durations, flow) on the whole sentence, as
piper-tts runs it, then the decoder a window at a time with the context its
convolutions reach on each side, measured on the voice itself once per
process. The decoder is itself two stages (piper_graph): its first stage,
cheap and far-reaching, over ``HEAD_FRAMES`` latent frames at a time; the
rest, which does most of the arithmetic and reaches about one frame, over
``TAIL_FRAMES`` frames' worth of the first stage's output (a decoder that
cannot be cut again: ``DECODER_FRAMES`` at a time). The windows' audio is
the whole run's audio, sample for sample (tests/test_piper_medium.py checks
it), and a window's memory does not depend on the sentence. Text sides and
decoder windows run on one thread each, at most as many of each at once as
there are cores (``slots()``, ``_decoder_slots``), whatever ``jobs`` says; a
build's sections (one a core by default) each run one or the other at a
time, so a build holds about a window's working memory per core.

A voice whose graph cannot be cut runs whole, at most
``INFERENCE_PHONEMES`` phonemes an inference.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
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
# Latent frames a decoder that could not be cut in two stages runs at once
# (256 samples each at 22,050 Hz: ~2.2 s). A build's peak follows the window
# more than its arithmetic says (the shared arena keeps what the largest
# window took): 192 frames peaked at 380 MB where 256 peaked at 430-490 MB,
# in the same time; 128 frames cost 25 % more decoding (the ~13 context
# frames on each side), BENCHMARKS.md.
DECODER_FRAMES = 192
# Latent frames of the decoder's first stage run at once: its working memory
# is an eighth of the rest's per frame (128 channels at 8 samples a frame,
# against 64 and 32 channels at 64 and 256), and each window recomputes its
# ~13 frames of context on each side, so it runs in longer windows.
HEAD_FRAMES = 768
# Latent frames' worth of the first stage's output the rest of the decoder
# runs at once (its reach is ~10 of the 768 input steps: 1.3 % recomputed).
# Smaller windows also run faster here, their working set nearer the caches:
# two sentences' rest took 0.687 s in windows of 192 frames, 0.644 s in 96,
# at 268 and 208 MB (BENCHMARKS.md, issue 25's fourth round).
TAIL_FRAMES = 96
# Input steps on each side of the probe that measures a decoder stage's reach.
_PROBE_FRAMES = 40

# Bump when piper_graph cuts differently: names the stored parts (2: the
# decoder in two stages, tail.onnx beside decoder.onnx).
PARTS_VERSION = "2"

_sessions_lock = threading.Lock()
_sessions: dict[tuple[str, int, int, int], VoiceSession] = {}
_allocator_lock = threading.Lock()
_allocator_ready = False
_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
# Decoder windows in flight in a process, one thread each: one a core. Two
# windows at once on one thread each keep both cores busier than one window
# on two (no barrier after every operator, no third thread preempting a
# half-done window when a text side runs): 5-6 % off a cold seed build. That
# once cost too much memory (two 192-frame windows of the whole decoder:
# 437-460 MB); two stages' windows hold ~50 MB each.
_decoder_slots = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
_DECODER_THREADS = 1


def default_threads() -> int:
    """Intra-op threads of one run: one, since sections run one per core and
    a section's parts take the cores the others leave (build/produce)."""
    return 1


def slots() -> int:
    """Runs in flight in a process at most: one per core."""
    return max(1, os.cpu_count() or 1)


def load_session(
    model: Path, threads: int, *, sha256: str = "", store: Path | None = None
) -> VoiceSession:
    """The voice at ``model`` ready to run, shared per (file, threads).

    ``store`` is where the voice's parts are kept once cut (the cut
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
    """One voice's model in a process: cut at its decoder (and the decoder
    in two stages), or whole."""

    def __init__(
        self, model: Path, threads: int, *, sha256: str = "", store: Path | None = None
    ) -> None:
        ort = _onnxruntime()
        self.model = model
        self._cut: VoiceParts | None = None
        self._text: Any = None
        self._decoder: Any = None
        self._tail: Any = None
        cut = _parts(model, sha256, store)
        if cut is not None and isinstance(cut.text_side, str):
            try:  # the kept parts: damaged or pruned meanwhile, cut (and kept) again
                self._load_cut(ort, cut, threads)
            except Exception as exc:
                log.debug("piper: kept parts of %s unusable: %s", model.name, exc)
                cut = _parts(model, sha256, store, again=True)
        if cut is not None and self._cut is None:
            try:
                self._load_cut(ort, cut, threads)
            except Exception as exc:  # an odd graph: run it whole instead
                log.debug("piper: %s not cut at its decoder: %s", model.name, exc)
                self._text = self._decoder = self._tail = None
        if self._cut is None:
            try:
                self._text = _session(ort, str(model), threads)
            except Exception as exc:  # onnxruntime's own error types
                raise _not_a_model(model, exc) from exc
        self.input_names = frozenset(i.name for i in self._text.get_inputs())
        self._reach_lock = threading.Lock()
        self._reaches: list[tuple[int, int] | None] = []

    def _load_cut(self, ort: Any, cut: VoiceParts, threads: int) -> None:
        self._text = _session(ort, cut.text_side, threads)
        self._decoder = _session(ort, cut.decoder, _DECODER_THREADS)
        if cut.tail is not None:
            self._tail = _session(ort, cut.tail, _DECODER_THREADS)
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
        # A decoder input that runs along the frames cannot be windowed.
        timed = any(frames > 1 and frames in np.shape(v) for v in extra.values())
        reaches = self._measured_reaches(extra)
        runs = self._stages(extra)
        x = latent
        for index, (run, reach) in enumerate(zip(runs, reaches, strict=True)):
            if index == 0:
                window = DECODER_FRAMES if len(runs) == 1 else HEAD_FRAMES
            else:  # TAIL_FRAMES frames' worth of the first stage's output
                window = TAIL_FRAMES * max(1, int(x.shape[-1]) // max(1, frames))
            x = run(x) if timed or reach is None else _windows(run, x, window, *reach)
        return x.reshape(1, 1, -1)

    def _stages(self, extra: dict[str, Any]) -> list[Stage]:
        """The decoder's stages in order, each a run on its input."""
        cut = self._cut
        assert cut is not None

        def head(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
            return self._run(self._decoder, {**extra, cut.latent: x})

        if self._tail is None:
            return [head]
        tail_extra = {name: extra[name] for name in cut.tail_passed}

        def tail(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
            return self._run(self._tail, {**tail_extra, cut.tail_input: x})

        return [head, tail]

    @staticmethod
    def _run(session: Any, feeds: dict[str, Any]) -> np.ndarray[Any, Any]:
        with _decoder_slots:
            return np.asarray(session.run(None, feeds)[0])

    def _measured_reaches(self, extra: dict[str, Any]) -> list[tuple[int, int] | None]:
        """Per decoder stage, (output steps per input step, input steps of
        context), or None for a stage that runs whole; measured once."""
        with self._reach_lock:
            if not self._reaches:
                assert self._cut is not None
                channels = self._cut.channels
                measured: list[tuple[int, int] | None] = []
                for index, run in enumerate(self._stages(extra)):
                    reach, channels = _probe(run, channels)
                    measured.append(reach)
                    if index == 0 and self._tail is not None and not channels:
                        # The first stage failed: its output is unknown.
                        measured.append(None)
                        break
                log.debug("piper: %s decoder reach %s", self.model.name, measured)
                self._reaches = measured  # whole, or not at all
            return self._reaches


Stage = Callable[["np.ndarray[Any, Any]"], "np.ndarray[Any, Any]"]


def _windows(
    run: Stage, x: np.ndarray[Any, Any], window: int, hop: int, context: int
) -> np.ndarray[Any, Any]:
    """``run`` over ``x`` a window of ``window`` steps (its last axis) at a
    time, each with ``context`` steps on both sides, its output ``hop``
    steps per input step: the whole run's output, sample for sample."""
    steps = int(x.shape[-1])
    if steps <= window + 2 * context:
        return run(x)
    pieces = []
    for start in range(0, steps, window):
        keep = min(window, steps - start)
        lo = max(0, start - context)
        hi = min(steps, start + keep + context)
        out = run(np.ascontiguousarray(x[..., lo:hi]))
        if out.shape[-1] != (hi - lo) * hop:
            raise RuntimeError(
                f"the decoder gave {out.shape[-1]} steps for {hi - lo}, "
                f"not {hop} a step"
            )
        offset = (start - lo) * hop
        pieces.append(out[..., offset : offset + keep * hop])
    return np.concatenate(pieces, axis=-1)


def _probe(run: Stage, channels: int) -> tuple[tuple[int, int] | None, int]:
    """Run a stage on a random input and on the same with its middle step
    moved: the output steps that change show how far a step reaches.
    Returns ((hop, context) or None, the output's channels); None when the
    stage is not local (the change reaches the probe's ends) or fails."""
    side = _PROBE_FRAMES
    length = 2 * side + 1
    rng = np.random.default_rng(0)
    base = rng.standard_normal((1, channels, length)).astype(np.float32)
    moved = base.copy()
    moved[:, :, side] += 1.0
    try:
        a, b = run(base), run(moved)
    except Exception as exc:  # a decoder that needs more than its input: whole
        log.debug("piper: decoder probe failed: %s", exc)
        return None, 0
    out_channels = int(a.shape[1]) if a.ndim == 3 else 0
    steps = int(a.shape[-1]) if a.ndim else 0
    if steps == 0 or steps % length or a.shape != b.shape:
        return None, out_channels
    hop = steps // length
    differs = (a != b).reshape(-1, steps).any(axis=0)
    changed = np.flatnonzero(differs)
    if changed.size == 0 or changed[0] < hop or changed[-1] >= (length - 1) * hop:
        return None, out_channels
    first, last = int(changed[0]) // hop, int(changed[-1]) // hop
    return (hop, max(side - first, last - side) + 2), out_channels


def _parts(
    model: Path, sha256: str, store: Path | None, *, again: bool = False
) -> VoiceParts | None:
    """The voice's parts: from ``store`` when cut before (unless ``again``),
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
    """The parts kept in ``folder``; None if the voice has none; False if
    nothing (readable) is kept there."""
    try:
        meta = json.loads((folder / "parts.json").read_text("utf-8"))
        if not meta["cut"]:
            return None
        text_side, decoder = folder / "text.onnx", folder / "decoder.onnx"
        tail = folder / "tail.onnx" if meta.get("tail_input") else None
        if not all(p.is_file() for p in (text_side, decoder, tail) if p is not None):
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
            tail=str(tail) if tail is not None else None,
            tail_input=str(meta.get("tail_input") or ""),
            tail_passed=tuple(meta.get("tail_passed") or ()),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False  # not kept yet, or damaged: cut again


def _store(folder: Path, cut: VoiceParts | None) -> bool:
    """Keep the parts for the next process; parts.json last, so a half-written
    folder reads as not stored."""
    meta: dict[str, Any] = {"cut": cut is not None}
    try:
        if cut is not None:
            assert isinstance(cut.text_side, bytes) and isinstance(cut.decoder, bytes)
            write_bytes_atomic(folder / "text.onnx", cut.text_side)
            write_bytes_atomic(folder / "decoder.onnx", cut.decoder)
            if cut.tail is not None:
                assert isinstance(cut.tail, bytes)
                write_bytes_atomic(folder / "tail.onnx", cut.tail)
            meta.update(
                latent=cut.latent,
                handed=list(cut.handed),
                passed=list(cut.passed),
                channels=cut.channels,
                tail_input=cut.tail_input if cut.tail is not None else "",
                tail_passed=list(cut.tail_passed),
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
