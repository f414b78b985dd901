"""Commands that make an episode: build, sections, say, watch.

Each parses its options, makes one call into the library and prints; the
build pipeline is loaded by ``_library`` only when a command runs it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, overload

import click

from narrator.build import watch as watching
from narrator.cli.check import warn_problems
from narrator.cli.options import build_options, settings_from, with_output
from narrator.cli.output import (
    ProgressBar,
    fmt_duration,
    handle_errors,
    note_printer,
    signals_to_main_thread,
    traceback_if_debug,
)
from narrator.config import load_settings
from narrator.engines import engine_names, profile_of
from narrator.errors import InputError, NarratorError

if TYPE_CHECKING:
    from narrator.build.commit import BuildResult


def _library() -> tuple[ModuleType, ModuleType]:
    """The build library's pipeline and preview modules, loaded when a command
    runs one: ``narrator --help`` and the other commands never load numpy."""
    with signals_to_main_thread():
        # Lazy: build.pipeline and build.preview pull numpy and the audio stack:
        # +110 ms on `narrator --help` (python -X importtime)
        from narrator.build import pipeline, preview

    return pipeline, preview


@overload
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: Literal[False] = ...
) -> list[BuildResult]: ...
@overload
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: Literal[True]
) -> list[tuple[str, str]]: ...
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: bool = False
) -> list[BuildResult] | list[tuple[str, str]]:
    """The one call into the build pipeline: build (with a progress bar and
    notes on stderr), or with ``dry_run`` the plan's per-section actions."""
    pipeline, _ = _library()
    settings = settings_from(input_path, opts)
    bar = ProgressBar(enabled=not opts.get("quiet") and not opts.get("as_json"))
    note = note_printer(bar, bool(opts.get("quiet")))
    if dry_run:
        rows: list[tuple[str, str]] = pipeline.dry_run(
            pipeline.plan_build(input_path, settings, note=note)
        )
        return rows
    try:
        results: list[BuildResult] = pipeline.build_formats(
            input_path, settings, report=bar, note=note
        )
        return results
    finally:
        bar.close()


def _print_result(result: BuildResult, opts: dict[str, Any]) -> None:
    if opts.get("as_json"):
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif not opts.get("quiet"):
        if result.up_to_date:
            click.echo(
                f"{result.output}: up to date ({len(result.chapters)} chapters, "
                f"{fmt_duration(result.duration_s)})"
            )
        else:
            click.echo(
                f"{result.output}: {len(result.chapters)} sections "
                f"({result.sections_synthesized} synthesized, "
                f"{result.sections_reused} reused), "
                f"{fmt_duration(result.duration_s)}, engine {result.engine}"
            )


@click.command()
@build_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print per section 'reuse' or 'synthesize' and write nothing.",
)
@handle_errors
def build(input_path: Path, dry_run: bool, **opts: Any) -> None:
    """Build the podcast episode for INPUT (a French summary: .txt or .md).

    \b
    Example:
      narrator build examples/exemple.md --podcast "Mes résumés" --episode 1
    """
    if not dry_run:
        results = _pipeline(input_path, with_output(input_path, opts))
        for result in results:
            _print_result(result, opts)
        warn_problems(r.output for r in results if not r.up_to_date)
        return
    rows = _pipeline(input_path, with_output(input_path, opts), dry_run=True)
    if opts.get("as_json"):
        click.echo(
            json.dumps([{"action": a, "title": t} for a, t in rows], ensure_ascii=False)
        )
    else:
        for action, title in rows:
            click.echo(f"{action:<10} {title}")


# -- sections -------------------------------------------------------------------


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option(
    "--spoken",
    is_flag=True,
    help="Show the text exactly as it will be sent to the engine.",
)
@click.option(
    "--engine",
    default="espeak",
    show_default=True,
    help="Engine whose text preparation --spoken shows.",
)
@click.option(
    "--lexicon",
    "lexicon_path",
    type=click.Path(path_type=Path),
    help="TOML pronunciation lexicon.",
)
@click.option(
    "--phonemes",
    is_flag=True,
    help="Also show each utterance's IPA phonemes as the Piper voice receives "
    "them, one line per inference (implies --spoken).",
)
@click.option(
    "--voice",
    default=None,
    help="Piper voice for --phonemes (installed name or MODEL.onnx, as build "
    "takes it); default: the installed French voice.",
)
@handle_errors
def sections(
    input_path: Path,
    as_json: bool,
    spoken: bool,
    engine: str,
    lexicon_path: Path | None,
    phonemes: bool,
    voice: str | None,
) -> None:
    """List the sections found in INPUT, to check the parse before synthesizing.

    A section without a heading is named by its first words, which are not
    spoken. --spoken also says what is left out of the speech (text in a
    script the French voice cannot read, an emoji, a symbol with no reading),
    in the listing and as one warning per section on stderr.

    \b
    Example:
      narrator sections examples/exemple.md --spoken
      narrator sections examples/exemple.md --phonemes --json
    """
    if spoken and engine not in engine_names():
        raise click.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(engine_names())}.",
            param_hint="--engine",
        )
    if (
        phonemes
        and engine in engine_names()
        and profile_of(engine) != (profile_of("piper"))
    ):
        raise click.BadParameter(
            "--phonemes shows what a Piper voice hears; drop --engine or pass "
            "--engine piper.",
            param_hint="--engine",
        )
    if voice is not None and not phonemes:
        raise click.BadParameter("--voice goes with --phonemes.", param_hint="--voice")
    _, previews = _library()
    if phonemes:
        preview = previews.preview_phonemes(input_path, voice, lexicon_path)
    else:
        preview = previews.preview_sections(
            input_path, profile_of(engine) if spoken else None, lexicon_path
        )
    rows = preview.to_json()
    for warning in preview.warnings:  # as a build would say them
        click.echo(f"narrator: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if preview.title:
        click.echo(f"# {preview.title}")
    for row, shown in zip(rows, preview.sections, strict=True):
        untitled = "" if row["heading"] else ", no heading"
        click.echo(
            f"{row['index']:>3}. {row['title']}  ({row['characters']} chars, "
            f"line {row['line']}{untitled})"
        )
        said = shown.spoken
        for n, line in enumerate(
            row["utterances"] if said is not None else [row["preview"]]
        ):
            click.echo(f"     {line}")
            for sent in shown.phonemes[n] if shown.phonemes is not None else ():
                click.echo(f"       /{sent}/")
        if said is not None and said.dropped:
            click.echo(
                f"     [left out of the speech: {said.left_out()} "
                f"({said.examples()}); the French voice cannot read them]"
            )
        if said is not None and not said.has_speech:
            click.echo("     [nothing left to speak: a build skips this section]")


@click.command()
@click.argument("text")
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    default=Path("output/say.mp3"),
    show_default=True,
    help="Output MP3.",
)
@click.option("--engine", default="espeak", show_default=True, help="Speech engine.")
@click.option("--voice", help="Engine voice.")
@click.option("--rate", help="Speaking rate (espeak: words per minute; edge: percent).")
@click.option(
    "--lexicon",
    "lexicon_path",
    type=click.Path(path_type=Path),
    help="TOML pronunciation lexicon.",
)
@click.option("--show", is_flag=True, help="Print the text sent to the engine.")
@handle_errors
def say(
    text: str,
    output_path: Path,
    engine: str,
    voice: str | None,
    rate: str | None,
    lexicon_path: Path | None,
    show: bool,
) -> None:
    """Synthesize one phrase to an MP3, for a quick listen.

    \b
    Example:
      narrator say "L'IA de M. Dupont coûte 1,5 M€." -o output/essai.mp3 --show
    """
    if output_path.is_dir():
        output_path = output_path / "say.mp3"
    elif output_path.suffix.lower() != ".mp3":
        raise InputError(f"{output_path}: give a name ending in .mp3.")
    options = {
        "engine": engine,
        "voice": voice,
        "rate": rate,
        "lexicon_path": lexicon_path,
        "output_path": output_path,
    }
    pipeline, _ = _library()
    settings = load_settings(None, options, os.environ)
    spoken, duration_s = pipeline.say_text(text, settings)
    if show:
        click.echo(spoken)
    click.echo(f"{output_path}: {duration_s:.1f} s")


# -- watch ----------------------------------------------------------------------


def _titles(titles: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(f'"{t}"' for t in titles[:limit])
    more = len(titles) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _watch_line(result: BuildResult, first: bool, took: float) -> str:
    """One line saying what a watch rebuild did, naming re-synthesized sections."""
    if result.up_to_date:
        return f"{result.output}: up to date ({len(result.chapters)} chapters)"
    titles = tuple(result.synthesized_titles)
    synthesized = f"{result.sections_synthesized} synthesized"
    if titles:
        synthesized += f" ({_titles(titles)})"
    verb = "built" if first else "rebuilt"
    return (
        f"{verb} {result.output}: {synthesized}, {result.sections_reused} reused, "
        f"{fmt_duration(result.duration_s)} in {took:.1f} s"
    )


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def _watch_loop(
    input_path: Path,
    opts: dict[str, Any],
    *,
    interval: float,
    debounce: float,
    max_builds: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Build whenever the watched files change (``build.watch``), printing a
    line per build; until ``max_builds`` (0: never)."""
    given = ("lexicon_path", "cover_path", "intro_path", "outro_path")
    paths = watching.watched_paths(input_path, *(opts.get(k) for k in given))

    def on_missing() -> None:
        message = f"{input_path}: missing; waiting for it to appear."
        click.echo(f"{_stamp()} {message}", err=True)

    def on_built(result: BuildResult, first: bool, took: float) -> None:
        if as_json:
            data = result.to_json()
            data["synthesized_titles"] = list(result.synthesized_titles)
            click.echo(json.dumps(data, ensure_ascii=False))
        elif not quiet:
            click.echo(f"{_stamp()} {_watch_line(result, first, took)}")
        sys.stdout.flush()

    def on_failed(exc: Exception) -> None:
        traceback_if_debug()
        if isinstance(exc, NarratorError):
            click.echo(f"{_stamp()} error: {exc}", err=True)
        else:  # a bug must not end the watch either
            kind = type(exc).__name__
            click.echo(f"{_stamp()} internal error: {kind}: {exc}", err=True)
        sys.stdout.flush()

    watching.watch(
        paths,
        lambda: _pipeline(input_path, opts)[0],  # the first format: the others follow
        interval=interval,
        debounce=debounce,
        max_builds=max_builds,
        on_missing=on_missing,
        on_built=on_built,
        on_failed=on_failed,
    )


@click.command()
@build_options
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 10),
    default=0.3,
    show_default=True,
    help="Seconds between checks of the input.",
)
@click.option(
    "--debounce",
    type=click.FloatRange(0, 10),
    default=0.5,
    show_default=True,
    help="Seconds the input must stay unchanged before a rebuild.",
)
@click.option("--max-builds", type=click.IntRange(min=0), default=0, hidden=True)
@handle_errors
def watch(
    input_path: Path, interval: float, debounce: float, max_builds: int, **opts: Any
) -> None:
    """Rebuild INPUT's episode on every save (Ctrl-C to stop).

    Builds once at start, then after every change of INPUT (an editor's atomic
    save counts), of narrator.toml beside it, or of the --lexicon, --cover,
    --intro and --outro files. One line per build on stdout says what was
    re-synthesized (--json: one JSON object per line; --quiet: none); a failed
    build reports its error on stderr and watching goes on.

    \b
    Example:
      narrator watch examples/exemple.md -o output/exemple.mp3
    """
    as_json = bool(opts.get("as_json"))
    quiet = bool(opts.get("quiet"))
    opts = {**with_output(input_path, opts), "quiet": True, "as_json": False}
    if not quiet:
        click.echo(f"watching {input_path} (Ctrl-C to stop)", err=True)
    try:
        _watch_loop(
            input_path,
            opts,
            interval=interval,
            debounce=debounce,
            max_builds=max_builds,
            as_json=as_json,
            quiet=quiet,
        )
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends: not an error, so exit 0.
        if not quiet:
            click.echo("stopped", err=True)
