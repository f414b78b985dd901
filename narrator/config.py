"""Settings: the one reader of narrator.toml; NARRATOR_* values checked.

``load_settings(source, options, environ)`` assembles a build's frozen
``Settings``: built-in defaults < the ``[build]`` table of ``narrator.toml``
beside the document < ``NARRATOR_*`` variables < options given on the command
line. ``environment(environ)`` is ``narrator.environment``'s reading of every
``NARRATOR_*`` variable, checked, for the modules that need one outside a build
(the cache commands, voices, Dask workers).
Options arrive as the CLI parsed them (``pause_title`` in seconds, ``id3_version``
"2.3"...); values from the TOML file and the environment are checked here with
the same bounds.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar, cast

from narrator.environment import Environment, read_environment
from narrator.errors import ConfigError

T = TypeVar("T")


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
    lock_dir: Path | None = None  # default: a per-user folder in the temp dir
    # Files to write from one synthesis (--format, [build] format); empty: the
    # one -o names (its suffix says the format).
    formats: tuple[str, ...] = ()


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
    return max(1, os.cpu_count() or 1) if local else 4


def default_output(source_path: Path) -> Path:
    return Path("output") / f"{source_path.stem}.mp3"


# The episode files a build can write, by suffix: MP3, and AAC in MP4 as a
# podcast (.m4a) or an audiobook (.m4b).
FORMATS = ("mp3", "m4a", "m4b")


def container_of(path: Path) -> str:
    """The format an episode path's suffix names (``mp3`` for any other)."""
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "mp3"


def episode_outputs(source_path: Path, settings: Settings) -> list[Path]:
    """The files a build writes: -o (or the default) as named, or with
    ``formats``, the same folder and stem with each format's suffix."""
    base = settings.output_path or default_output(source_path)
    if not settings.formats:
        return [base]
    return [base.with_suffix(f".{name}") for name in settings.formats]


# -- the environment ---------------------------------------------------------------


def environment(environ: Mapping[str, str] | None = None) -> Environment:
    """The NARRATOR_* variables of ``environ`` (default: the process's), checked.

    Raises:
        ConfigError: a variable's value is invalid.
    """
    env = read_environment(environ)
    if env.jobs_text is not None and env.jobs is None:
        raise ConfigError(
            f"NARRATOR_JOBS={env.jobs_text!r} is not a whole number from 1 up."
        )
    return env


# -- narrator.toml -------------------------------------------------------------------

Converter = Callable[[object], object]


def _text(value: object) -> object:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected text")
    return str(value)


def _flag(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _choice(*allowed: str) -> Converter:
    def convert(value: object) -> object:
        if str(value) not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return str(value)

    return convert


def _formats(value: object) -> object:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise ValueError(f"expected a list of {', '.join(FORMATS)}")
    for name in values:
        if name not in FORMATS:
            raise ValueError(f"{name!r} is not one of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(str(v) for v in values))


def _number(low: float, high: float | None, kind: type = float) -> Converter:
    def convert(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("expected a number")
        number = kind(value)
        if number < low or (high is not None and number > high):
            bound = f"from {low} to {high}" if high is not None else f"from {low} up"
            raise ValueError(f"{number} is out of range ({bound})")
        return number

    return convert


# Options a project may set in the [build] table of narrator.toml (keys as on
# the command line without the leading "--"), with the command line's bounds.
PROJECT_OPTIONS: dict[str, tuple[str, Converter]] = {
    "engine": ("engine", _text),
    "voice": ("voice", _text),
    "rate": ("rate", _text),
    "gtts-tld": ("gtts_tld", _text),
    "gtts-slow": ("gtts_slow", _flag),
    "author": ("author", _text),
    "podcast": ("podcast", _text),
    "cover": ("cover_path", _text),
    "description": ("description", _text),
    "id3": ("id3_version", _choice("2.3", "2.4")),
    "preset": ("preset", _choice("phone", "small", "hq")),
    "loudness": ("loudness_lufs", _number(-40, -5)),
    "pause-title": ("pause_title", _number(0, 10)),
    "pause-sentence": ("pause_sentence", _number(0, 10)),
    "pause-paragraph": ("pause_paragraph", _number(0, 10)),
    "pause-section": ("pause_section", _number(0.3, 20)),
    "intro": ("intro_path", _text),
    "outro": ("outro_path", _text),
    "lexicon": ("lexicon_path", _text),
    "jobs": ("jobs", _number(1, None, int)),
    "no-sidecars": ("no_sidecars", _flag),
    "format": ("formats", _formats),
}
_PROJECT_PATHS = {"cover_path", "intro_path", "outro_path", "lexicon_path"}


def project_options(source_path: Path) -> dict[str, object]:
    """The ``[build]`` table of narrator.toml beside ``source_path``, as options.

    Paths in the file are relative to it.

    Raises:
        ConfigError: the file is not valid TOML, or a key or value is invalid.
    """
    import tomllib

    path = source_path.parent / "narrator.toml"
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("build", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [build] must be a table of options.")
    options: dict[str, object] = {}
    for key, value in table.items():
        if key not in PROJECT_OPTIONS:
            known = ", ".join(sorted(PROJECT_OPTIONS))
            raise ConfigError(
                f"{path}: [build] {key!r} is not a build option; use: {known}."
            )
        name, convert = PROJECT_OPTIONS[key]
        try:
            converted = convert(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: [build] {key}: {exc}.") from exc
        if name in _PROJECT_PATHS:
            converted = path.parent / str(converted)
        options[name] = converted
    return options


# -- assembling a build's settings ------------------------------------------------


def load_settings(
    source_path: Path | None,
    options: Mapping[str, object],
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """A build's settings: defaults < narrator.toml < NARRATOR_* < ``options``.

    ``options`` are the command-line options the user gave (as click parsed
    them, keyed by parameter name); options left at their defaults must not be
    in it, or they would hide the file and the environment.

    Raises:
        ConfigError: narrator.toml or a variable is invalid.
    """
    env = environment(environ)
    values: dict[str, object] = {}
    if source_path is not None:
        values.update(project_options(source_path))
    from_env = {"engine": env.engine, "jobs": env.jobs, "cache_dir": env.cache_dir}
    values.update({k: v for k, v in from_env.items() if v is not None})
    values.update({k: v for k, v in options.items() if v is not None})
    return _settings(values, env)


def _seconds_to_ms(value: object) -> int | None:
    return None if value is None else int(round(float(str(value)) * 1000))


def _engine_options(values: Mapping[str, object], env: Environment) -> dict[str, str]:
    """What the engines are created with (each reads the keys it knows)."""
    found: dict[str, str] = {}
    for key, name in (("voice", "voice"), ("rate", "rate"), ("tld", "gtts_tld")):
        if values.get(name) is not None:
            found[key] = str(values[name])
    if values.get("gtts_slow"):
        found["slow"] = "1"
    if values.get("jobs"):
        found["jobs"] = str(values["jobs"])
    # Where an engine may keep what it derives from a voice (piper: the cut model).
    cache_dir = values.get("cache_dir") or env.cache_dir
    if cache_dir:
        found["cache_dir"] = str(cache_dir)
    if env.gtts_base_url:
        found["base_url"] = env.gtts_base_url
    if env.edge_url:
        found["url"] = env.edge_url
    return found


def _pauses(values: Mapping[str, object]) -> Pauses:
    pauses = Pauses()
    changes = {
        "title_ms": _seconds_to_ms(values.get("pause_title")),
        "sentence_ms": _seconds_to_ms(values.get("pause_sentence")),
        "paragraph_ms": _seconds_to_ms(values.get("pause_paragraph")),
        "section_ms": _seconds_to_ms(values.get("pause_section")),
    }
    pauses = replace(pauses, **{k: v for k, v in changes.items() if v is not None})
    if pauses.lead_ms > pauses.section_ms:
        pauses = replace(pauses, lead_ms=pauses.section_ms // 2)
    return pauses


def _settings(values: Mapping[str, object], env: Environment) -> Settings:
    def get(name: str, kind: type[T]) -> T | None:
        value = values.get(name)
        return cast(T, value) if value is not None else None

    def path(name: str) -> Path | None:
        value = values.get(name)
        return Path(str(value)) if value is not None else None

    return Settings(
        engine=get("engine", str) or "auto",
        engine_options=_engine_options(values, env),
        output_path=path("output_path"),
        cache_dir=path("cache_dir"),
        jobs=get("jobs", int),
        title=get("title", str),
        author=get("author", str),
        podcast=get("podcast", str),
        cover_path=path("cover_path"),
        date=get("date", str),
        episode=get("episode", int),
        description=get("description", str),
        id3_version=4 if values.get("id3_version") == "2.4" else 3,
        preset=get("preset", str) or "phone",
        loudness_lufs=get("loudness_lufs", float),
        pauses=_pauses(values),
        intro_path=path("intro_path"),
        outro_path=path("outro_path"),
        lexicon_path=path("lexicon_path"),
        sidecars=not values.get("no_sidecars"),
        force=bool(values.get("force")),
        lock_dir=env.lock_dir,
        formats=tuple(
            dict.fromkeys(cast("Sequence[str]", values.get("formats") or ()))
        ),
    )
