"""Build settings: frozen, assembled by the CLI from options and the environment."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from narrator.errors import ConfigError


@dataclass(frozen=True)
class Pauses:
    """Silences inserted between utterances, in ms."""

    title_ms: int = 800
    sentence_ms: int = 300
    paragraph_ms: int = 700
    section_ms: int = 1600
    lead_ms: int = 300  # silence at the start of each section, inside its chapter
    tail_ms: int = 800  # silence after the last section

    def after(self, kind: str) -> int:
        return {
            "title": self.title_ms,
            "sentence": self.sentence_ms,
            "paragraph": self.paragraph_ms,
        }.get(kind, 0)


@dataclass(frozen=True)
class Settings:
    """Everything a build needs besides the source document."""

    engine: str = "auto"  # gtts when reachable, else espeak; pinned per output
    engine_options: Mapping[str, str] = field(default_factory=dict)
    output_path: Path | None = None  # default: output/<stem>.mp3
    cache_dir: Path | None = None  # default: $NARRATOR_CACHE_DIR or the user cache
    jobs: int | None = None  # default: CPUs for local engines, 4 for network ones
    title: str | None = None
    author: str | None = None
    podcast: str | None = None
    cover_path: Path | None = None
    date: str | None = None  # YYYY-MM-DD
    episode: int | None = None
    description: str | None = None
    id3_version: int = 3
    preset: str = "phone"
    loudness_lufs: float | None = None
    pauses: Pauses = field(default_factory=Pauses)
    intro_path: Path | None = None
    outro_path: Path | None = None
    lexicon_path: Path | None = None
    sidecars: bool = True
    force: bool = False


def check_date(value: str, *, source: str = "--date") -> str:
    """Validate a YYYY-MM-DD date.

    Raises:
        ConfigError: the value is not a real calendar date in that form.
    """
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"{source}: {value!r} is not a date; use YYYY-MM-DD."
        ) from exc
    if len(value) != 10:
        raise ConfigError(f"{source}: {value!r} is not a date; use YYYY-MM-DD.")
    return value


def default_jobs(local: bool) -> int:
    """Parallel sections: one per CPU for local engines, 4 requests for network ones."""
    env = os.environ.get("NARRATOR_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, os.cpu_count() or 1) if local else 4


def default_output(source_path: Path) -> Path:
    return Path("output") / f"{source_path.stem}.mp3"


def load_lexicon(source_path: Path, lexicon_path: Path | None) -> dict[str, str]:
    """The user lexicon: ``[lexicon]`` of narrator.toml beside the document, then
    the ``--lexicon`` file on top.

    Raises:
        ConfigError: a lexicon file is missing or invalid.
    """
    from narrator.speech import load_lexicon as load

    lexicon: dict[str, str] = {}
    beside = source_path.parent / "narrator.toml"
    if beside.is_file():
        lexicon.update(load(beside))
    if lexicon_path is not None:
        if not lexicon_path.is_file():
            raise ConfigError(f"{lexicon_path}: no such lexicon file.")
        lexicon.update(load(lexicon_path))
    return lexicon
