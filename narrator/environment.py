"""The one reader of the NARRATOR_* environment variables.

It sits at the bottom of the house (it imports no other narrator module), so that
``ffmpeg`` can find a configured ffmpeg without importing ``config``. Reading never
fails: a value that does not parse is kept as text for ``config.environment``, which
checks it and names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Environment:
    """Every NARRATOR_* variable narrator reads, parsed (None when unset)."""

    engine: str | None = None  # NARRATOR_ENGINE: --engine
    jobs: int | None = None  # NARRATOR_JOBS: --jobs (None when unset or invalid)
    cache_dir: Path | None = None  # NARRATOR_CACHE_DIR: --cache-dir
    lock_dir: Path | None = None  # NARRATOR_LOCK_DIR: where build locks live
    gtts_base_url: str | None = None  # NARRATOR_GTTS_BASE_URL: gTTS endpoint (tests)
    edge_url: str | None = None  # NARRATOR_EDGE_URL: Edge WebSocket URL (proxies)
    voices_url: str | None = None  # NARRATOR_VOICES_URL: a mirror of Piper voices
    data_dir: Path | None = None  # NARRATOR_DATA_DIR: installed voices
    ffmpeg: str | None = None  # NARRATOR_FFMPEG: a system ffmpeg instead
    worker_cache_dir: Path | None = None  # NARRATOR_WORKER_CACHE_DIR: a Dask worker's
    debug: bool = False  # NARRATOR_DEBUG=1: tracebacks
    jobs_text: str | None = None  # NARRATOR_JOBS as written, for the error message


def read_environment(environ: Mapping[str, str] | None = None) -> Environment:
    """Parse the NARRATOR_* variables of ``environ`` (default: the process's)."""
    env = os.environ if environ is None else environ

    def text(name: str) -> str | None:
        return env.get(name) or None

    def path(name: str) -> Path | None:
        value = text(name)
        return Path(value).expanduser() if value else None

    jobs = text("NARRATOR_JOBS")
    return Environment(
        engine=text("NARRATOR_ENGINE"),
        jobs=int(jobs)
        if jobs is not None and jobs.isdigit() and int(jobs) >= 1
        else None,
        cache_dir=path("NARRATOR_CACHE_DIR"),
        lock_dir=path("NARRATOR_LOCK_DIR"),
        gtts_base_url=text("NARRATOR_GTTS_BASE_URL"),
        edge_url=text("NARRATOR_EDGE_URL"),
        voices_url=text("NARRATOR_VOICES_URL"),
        data_dir=path("NARRATOR_DATA_DIR"),
        ffmpeg=text("NARRATOR_FFMPEG"),
        worker_cache_dir=path("NARRATOR_WORKER_CACHE_DIR"),
        debug=env.get("NARRATOR_DEBUG") == "1",
        jobs_text=jobs,
    )
