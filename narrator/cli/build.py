"""Commands that make an episode: build, sections, say, watch.

Each parses its options, makes one call into the library and prints; the
build pipeline is loaded by ``_pipeline`` only when a command runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import click

from narrator.build.episode import read_document
from narrator.build.say import say_text
from narrator.cli.options import build_options, settings_from, with_output
from narrator.cli.output import (
    ProgressBar,
    fmt_duration,
    handle_errors,
    note_printer,
    traceback_if_debug,
)
from narrator.config import load_settings
from narrator.engines import engine_names, profile_of
from narrator.errors import InputError, NarratorError
from narrator.speech.lexicon import load_user_lexicon
from narrator.speech.normalize import speak_section

if TYPE_CHECKING:
    from narrator.build.pipeline import BuildResult
    from narrator.model import Document
    from narrator.speech.normalize import SpokenSection


@overload
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: Literal[False] = ...
) -> BuildResult: ...
@overload
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: Literal[True]
) -> list[tuple[str, str]]: ...
def _pipeline(
    input_path: Path, opts: dict[str, Any], dry_run: bool = False
) -> BuildResult | list[tuple[str, str]]:
    """The one call into the build pipeline: build (with a progress bar and
    notes on stderr), or with ``dry_run`` the plan's per-section actions."""
    # Lazy: build.pipeline pulls numpy and the audio stack: +110 ms on --help
    from narrator.build import pipeline

    settings = settings_from(input_path, opts)
    bar = ProgressBar(enabled=not opts.get("quiet") and not opts.get("as_json"))
    note = note_printer(bar, bool(opts.get("quiet")))
    if dry_run:
        return pipeline.dry_run(pipeline.plan_build(input_path, settings, note=note))
    try:
        return pipeline.build(input_path, settings, report=bar, note=note)
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
        _print_result(_pipeline(input_path, with_output(input_path, opts)), opts)
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
# _section_rows is the logic of `sections`; at merge it becomes the build
# library's call, and the command keeps only the checks and the printing.


def _section_rows(
    input_path: Path, engine: str | None, lexicon_path: Path | None
) -> tuple[Document, list[dict[str, Any]], list[SpokenSection] | None]:
    """The document, one row per section, and with ``engine`` (--spoken) what
    that engine is sent per section."""
    document = read_document(input_path)
    prepared = None
    if engine is not None:
        lexicon = load_user_lexicon(input_path, lexicon_path)
        profile = profile_of(engine)
        prepared = [
            speak_section(s, engine=profile, lexicon=lexicon) for s in document.sections
        ]
    rows = []
    for i, section in enumerate(document.sections):
        body = " ".join(p.text for p in section.paragraphs)
        row: dict[str, Any] = {
            "index": i + 1,
            "title": section.title,
            "heading": section.has_heading,
            "line": section.line,
            "paragraphs": len(section.paragraphs),
            "characters": section.characters,
            "preview": body[:80] + ("…" if len(body) > 80 else ""),
        }
        if prepared is not None:
            # One line per engine text: the heading, then each sentence.
            texts = [u.text for u in prepared[i].utterances]
            row["spoken"] = "\n".join(texts)
            row["utterances"] = texts
            row["left_out"] = dict(prepared[i].dropped)
        rows.append(row)
    return document, rows, prepared


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
@handle_errors
def sections(
    input_path: Path,
    as_json: bool,
    spoken: bool,
    engine: str,
    lexicon_path: Path | None,
) -> None:
    """List the sections found in INPUT, to check the parse before synthesizing.

    A section without a heading is named by its first words, which are not
    spoken. --spoken also says what is left out of the speech (text in a
    script the French voice cannot read).

    \b
    Example:
      narrator sections examples/exemple.md --spoken
    """
    if spoken and engine not in engine_names():
        raise click.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(engine_names())}.",
            param_hint="--engine",
        )
    document, rows, prepared = _section_rows(
        input_path, engine if spoken else None, lexicon_path
    )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if document.title:
        click.echo(f"# {document.title}")
    for i, row in enumerate(rows):
        untitled = "" if row["heading"] else ", no heading"
        click.echo(
            f"{row['index']:>3}. {row['title']}  ({row['characters']} chars, "
            f"line {row['line']}{untitled})"
        )
        for line in row["utterances"] if spoken else [row["preview"]]:
            click.echo(f"     {line}")
        if prepared is not None and prepared[i].dropped:
            click.echo(
                f"     [left out of the speech: {prepared[i].left_out()}; "
                "the French voice cannot read them]"
            )
        if prepared is not None and not prepared[i].has_speech:
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
    spoken, duration_s = say_text(text, load_settings(None, options, os.environ))
    if show:
        click.echo(spoken)
    click.echo(f"{output_path}: {duration_s:.1f} s")


# -- watch ----------------------------------------------------------------------
# From _watched_paths to _watch_loop: the watch loop and its helpers; at merge
# they become the build library's watch loop, called with a rebuild callable
# (``_rebuild``'s call of ``_pipeline``).


def _watched_paths(input_path: Path, opts: dict[str, Any]) -> list[Path]:
    """The files whose change changes the episode: the input first."""
    paths = [input_path, input_path.parent / "narrator.toml"]
    for key in ("lexicon_path", "cover_path", "intro_path", "outro_path"):
        if opts.get(key) is not None:
            paths.append(opts[key])
    return paths


def _fingerprint(paths: list[Path]) -> tuple[Any, ...]:
    """What identifies the current state of ``paths``; None for a missing file.

    stat() covers an editor's atomic save (a rename gives a new inode) and most
    edits; the input's content digest also catches an edit that keeps its size
    within the file system's timestamp granularity.
    """
    states: list[Any] = []
    for i, path in enumerate(paths):
        try:
            st = path.stat()
            digest = (
                hashlib.sha256(path.read_bytes()).hexdigest()
                if i == 0 and st.st_size <= 16 << 20
                else None
            )
        except OSError:
            states.append(None)
            continue
        states.append((st.st_mtime_ns, st.st_size, st.st_ino, digest))
    return tuple(states)


def _settled(
    paths: list[Path], current: tuple[Any, ...], interval: float, debounce: float
) -> tuple[Any, ...]:
    """Debounce: wait until nothing changes for ``debounce`` seconds (editors
    write in bursts: truncate, write, rename); return the state then."""
    settled = time.monotonic() + debounce
    while time.monotonic() < settled:
        time.sleep(min(interval, debounce))
        again = _fingerprint(paths)
        if again != current:
            current = again
            settled = time.monotonic() + debounce
    return current


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


def _rebuild(
    input_path: Path, opts: dict[str, Any], first: bool, as_json: bool, quiet: bool
) -> bool:
    """One build of the watch, its line printed; False when it failed (its error
    on stderr: watching goes on)."""
    started = time.monotonic()
    try:
        result = _pipeline(input_path, opts)
    except NarratorError as exc:
        traceback_if_debug()
        click.echo(f"{_stamp()} error: {exc}", err=True)
        return False
    except Exception as exc:  # a bug must not end the watch either
        traceback_if_debug()
        click.echo(f"{_stamp()} internal error: {type(exc).__name__}: {exc}", err=True)
        return False
    if as_json:
        data = result.to_json()
        data["synthesized_titles"] = list(result.synthesized_titles)
        click.echo(json.dumps(data, ensure_ascii=False))
    elif not quiet:
        took = time.monotonic() - started
        click.echo(f"{_stamp()} {_watch_line(result, first, took)}")
    return True


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
    """Build whenever the watched files change, until ``max_builds`` (0: never)."""
    paths = _watched_paths(input_path, opts)
    builds = 0
    built = False  # "built" for the first successful build, then "rebuilt"
    last: tuple[Any, ...] | None = None
    while True:
        current = _fingerprint(paths)
        if current != last:
            current = last = _settled(paths, current, interval, debounce)
            if current[0] is None:
                click.echo(
                    f"{_stamp()} {input_path}: missing; waiting for it to appear.",
                    err=True,
                )
                continue
            built = _rebuild(input_path, opts, not built, as_json, quiet) or built
            sys.stdout.flush()
            builds += 1
            if max_builds and builds >= max_builds:
                return
        time.sleep(interval)


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
