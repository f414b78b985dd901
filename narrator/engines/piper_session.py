"""onnxruntime sessions for Piper voices, and how inferences share the cores.

Why a module of its own: a VITS decoder's working memory grows with the audio
of one inference (about 0.9 kB per output sample with a medium voice,
im2col buffers of its last convolutions mostly), so two sections inferring at
once double the peak. Measured with a voice of a medium voice's sizes
(scripts/bench_piper.py, BENCHMARKS.md): inferences run one at a time on all
the cores, and at most ``INFERENCE_PHONEMES`` phonemes each, which bounds a
build's peak whatever the text; the sections still phonemize, master and
encode in parallel around them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from narrator.errors import EngineUnavailable, InputError

__all__ = ["INFERENCE_PHONEMES", "default_threads", "load_session", "run_session"]

# Phonemes per inference: sentences longer than this are cut between clauses,
# then words. 120 phonemes is about 9 s of speech, ~200 MB of working memory
# with a medium voice.
INFERENCE_PHONEMES = 120

_sessions_lock = threading.Lock()
_sessions: dict[tuple[str, int, int, int], Any] = {}
# One inference at a time in a process: each has all the cores.
_inference_lock = threading.Lock()


def default_threads() -> int:
    """Intra-op threads: every core, since inferences take turns."""
    return os.cpu_count() or 1


def run_session(session: Any, feeds: dict[str, Any]) -> Any:
    """``session.run`` under the process-wide inference lock."""
    with _inference_lock:
        return session.run(None, feeds)


def load_session(model: Path, threads: int) -> Any:
    """An onnxruntime session for ``model``, shared per (file, threads).

    Raises:
        EngineUnavailable: onnxruntime cannot be imported.
        InputError: the file is not an ONNX model onnxruntime can run.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EngineUnavailable(
            f"piper: onnxruntime cannot be imported ({exc}); reinstall narrator "
            "with pip."
        ) from exc
    st = model.stat()
    key = (str(model.resolve()), st.st_size, st.st_mtime_ns, threads)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is not None:
            return session
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Spinning threads would steal the cores that mastering and the other
        # sections use between inferences.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own error types, one boundary
            raise InputError(
                f"piper: {model} is not a model onnxruntime can run "
                f"({type(exc).__name__}: {str(exc).strip()[:200]}); reinstall the "
                "voice or pass another --voice."
            ) from exc
        _sessions[key] = session
        return session
