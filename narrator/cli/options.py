"""Options shared by several commands, and how typed options become Settings.

The build options are one table, so that build, watch and batch offer the
same knobs with the same help; only what the user typed reaches
``load_settings``, so that narrator.toml and NARRATOR_* fill in the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from narrator.config import Settings, load_settings
from narrator.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

# Data, not logic: one entry per build option, in the order --help lists them.
# INPUT, -o and --format come first: batch takes every entry after them (_DOCUMENT).
BUILD_OPTIONS: list[Callable[[F], F]] = [
    click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path)),
    click.option(
        "-o",
        "--output",
        "output_path",
        type=click.Path(path_type=Path),
        help="Output .mp3, .m4a or .m4b, or an existing folder for <input "
        "stem>.mp3 [default: output/<input stem>.mp3].",
    ),
    click.option(
        "--format",
        "formats",
        type=click.Choice(["mp3", "m4a", "m4b"]),
        multiple=True,
        help="Write this format (repeat for several from one synthesis: -o's "
        "folder and stem, each format's suffix). m4a: AAC podcast; m4b: AAC "
        "audiobook [default: -o's suffix].",
    ),
    click.option(
        "--engine",
        default="auto",
        show_default=True,
        help="Speech engine: auto (gtts when reachable, else espeak; a rebuild keeps "
        "the engine of the existing output), espeak (offline) or gtts (Google).",
    ),
    click.option("--voice", help="Engine voice (espeak: fr, fr-fr, fr-be...)."),
    click.option(
        "--rate",
        help="Speaking rate: words per minute for espeak (80-450), percent for "
        "edge (+10%, -5, -50 to +100).",
    ),
    click.option(
        "--gtts-tld",
        default=None,
        help="gTTS Google domain: fr (France), ca (Québec accent)...",
    ),
    click.option("--gtts-slow", is_flag=True, default=False, help="gTTS slow mode."),
    click.option("--title", help="Episode title (front matter 'title' wins)."),
    click.option("--author", help="Author (TPE1)."),
    click.option("--podcast", help="Podcast name (TALB)."),
    click.option(
        "--cover",
        "cover_path",
        type=click.Path(path_type=Path),
        help="Cover image: square JPEG/PNG, 1400-3000 px, RGB.",
    ),
    click.option("--date", help="Publication date, YYYY-MM-DD."),
    click.option("--episode", type=click.IntRange(min=0), help="Episode number."),
    click.option("--description", help="Episode description (COMM)."),
    click.option(
        "--id3",
        "id3_version",
        type=click.Choice(["2.3", "2.4"]),
        default="2.3",
        show_default=True,
        help="ID3 tag version.",
    ),
    click.option(
        "--preset",
        type=click.Choice(["phone", "small", "hq"]),
        default="phone",
        show_default=True,
        help="phone: mono 44.1 kHz 64 kbps; small: mono 22.05 kHz 40 kbps; "
        "hq: stereo 44.1 kHz 128 kbps.",
    ),
    click.option(
        "--loudness",
        "loudness_lufs",
        type=click.FloatRange(-40, -5),
        help="Integrated loudness target in LUFS [default: -19 mono, -16 stereo].",
    ),
    click.option(
        "--pause-title",
        type=click.FloatRange(0, 10),
        help="Seconds of silence after a section title [0.8].",
    ),
    click.option(
        "--pause-sentence",
        type=click.FloatRange(0, 10),
        help="Seconds between sentences [0.3].",
    ),
    click.option(
        "--pause-paragraph",
        type=click.FloatRange(0, 10),
        help="Seconds between paragraphs and bullets [0.7].",
    ),
    click.option(
        "--pause-section",
        type=click.FloatRange(0.3, 20),
        help="Seconds between sections [1.6].",
    ),
    click.option(
        "--intro",
        "intro_path",
        type=click.Path(path_type=Path),
        help="Audio played before the first section (part of chapter 1).",
    ),
    click.option(
        "--outro",
        "outro_path",
        type=click.Path(path_type=Path),
        help="Audio played after the last section (part of the last chapter).",
    ),
    click.option(
        "--lexicon",
        "lexicon_path",
        type=click.Path(path_type=Path),
        help="TOML pronunciation lexicon (written = spoken).",
    ),
    click.option(
        "--cache-dir",
        type=click.Path(path_type=Path),
        help="Clip cache [default: $NARRATOR_CACHE_DIR or the user cache dir].",
    ),
    click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        help="Sections in parallel [default: CPUs; 4 requests for gtts].",
    ),
    click.option(
        "--no-sidecars",
        is_flag=True,
        help="Do not write <stem>.chapters.json, .vtt and .srt.",
    ),
    click.option(
        "--force", is_flag=True, help="Rebuild even if the output is up to date."
    ),
    click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object when done."
    ),
    click.option(
        "-q", "--quiet", is_flag=True, help="No progress and no summary line."
    ),
]
_DOCUMENT = 3  # INPUT, -o and --format: one document's; a batch names none


def build_options(func: F) -> F:
    """Every build option, INPUT and -o included (build, watch)."""
    for option in reversed(BUILD_OPTIONS):
        func = option(func)
    return func


def batch_options(func: F) -> F:
    """Every build option but INPUT and -o (a batch writes into one folder)."""
    for option in reversed(BUILD_OPTIONS[_DOCUMENT:]):
        func = option(func)
    return func


def settings_from(input_path: Path | None, opts: dict[str, Any]) -> Settings:
    """Settings for a build of ``input_path``: only what the user typed is passed
    on as options, so that narrator.toml and NARRATOR_* fill in the rest.

    Raises:
        ConfigError: narrator.toml or a NARRATOR_* variable is invalid.
    """
    ctx = click.get_current_context()
    given = {
        name: value
        for name, value in opts.items()
        if ctx.get_parameter_source(name)
        not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    }
    if "output_path" in opts:  # resolved by with_output, not as typed
        given["output_path"] = opts["output_path"]
    return load_settings(input_path, given, os.environ)


def mp3_path(input_path: Path, output_path: Path | None) -> Path | None:
    """Check -o: an .mp3, .m4a or .m4b file, or an existing folder to put
    <input stem>.mp3 in.

    Raises:
        InputError: the name ends in another suffix.
    """
    if output_path is None:
        return None
    if output_path.is_dir():
        return output_path / f"{input_path.stem}.mp3"
    if output_path.suffix.lower() not in (".mp3", ".m4a", ".m4b"):
        raise InputError(
            f"{output_path}: the episode is an MP3, M4A or M4B; give a name ending "
            f"in .mp3, .m4a or .m4b (e.g. {output_path.with_suffix('.mp3')}) or an "
            "existing folder."
        )
    return output_path


def with_output(input_path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` with -o resolved by ``mp3_path``."""
    return {**opts, "output_path": mp3_path(input_path, opts.get("output_path"))}
