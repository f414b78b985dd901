"""Command line: click commands over the library; printing and exit codes only.

stdout carries results (text or --json), stderr carries progress and errors.
Exit codes: 0 success, 1 failure at run time, 2 bad input or usage,
130 interrupted.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from narrator import __version__
from narrator.errors import NarratorError

if TYPE_CHECKING:
    from narrator.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("narrator")


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    flag = bool(root and root.obj and root.obj.get("debug"))
    if flag:
        return True
    from narrator.config import environment
    from narrator.errors import ConfigError

    try:
        return environment().debug
    except ConfigError:
        return False


def _traceback_if_debug() -> None:
    """Print the current exception's traceback on stderr when --debug is on.

    Printed here rather than re-raised so that --debug keeps the documented exit
    code (an uncaught exception would always exit 1).
    """
    if _debug():
        click.echo(traceback.format_exc().rstrip(), err=True)


def handle_errors(func: F) -> F:
    """Turn library errors into one clear line and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NarratorError as exc:
            _traceback_if_debug()
            click.echo(f"narrator: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            _traceback_if_debug()
            click.echo(
                "narrator: interrupted; the previous output is intact and finished "
                "sections are cached.",
                err=True,
            )
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`narrator info f.mp3 | head`): stop quietly,
            # and keep Python from complaining when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # the CLI boundary: never a traceback by default
            _traceback_if_debug()
            hint = "" if _debug() else " (re-run with --debug for the traceback)"
            click.echo(
                f"narrator: internal error: {type(exc).__name__}: {exc}{hint}",
                err=True,
            )
            sys.exit(1)

    return cast(F, wrapper)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="narrator")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens on stderr.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Turn a French summary document into a podcast episode."""
    from narrator.heap import bound_heap

    bound_heap()  # process-wide: see narrator/heap.py
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="narrator: %(levelname)s: %(message)s")


# -- build options shared by build and watch --------------------------------


_BUILD_OPTIONS: list[Callable[[F], F]] = [
    click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path)),
    click.option(
        "-o",
        "--output",
        "output_path",
        type=click.Path(path_type=Path),
        help="Output MP3, or an existing folder for <input stem>.mp3 "
        "[default: output/<input stem>.mp3].",
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


def build_options(func: F) -> F:
    for option in reversed(_BUILD_OPTIONS):
        func = option(func)
    return func


def settings_from(input_path: Path | None, opts: dict[str, Any]) -> Settings:
    """Settings for a build of ``input_path``: only what the user typed is passed
    on as options, so that narrator.toml and NARRATOR_* fill in the rest.

    Raises:
        ConfigError: narrator.toml or a NARRATOR_* variable is invalid.
    """
    from click.core import ParameterSource

    from narrator.config import load_settings

    ctx = click.get_current_context()
    given = {
        name: value
        for name, value in opts.items()
        if ctx.get_parameter_source(name)
        not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    }
    if "output_path" in opts:  # resolved by _with_output, not as typed
        given["output_path"] = opts["output_path"]
    return load_settings(input_path, given, os.environ)


def _fmt_duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _ProgressBar:
    """A progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None

    def __call__(self, event: Any) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=event.total, label="sections", file=sys.stderr, show_pos=True
            )
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _mp3_path(input_path: Path, output_path: Path | None) -> Path | None:
    """Check -o: an .mp3 file, or an existing folder to put <input stem>.mp3 in.

    Raises:
        InputError: the name does not end in .mp3.
    """
    from narrator.errors import InputError

    if output_path is None:
        return None
    if output_path.is_dir():
        return output_path / f"{input_path.stem}.mp3"
    if output_path.suffix.lower() != ".mp3":
        raise InputError(
            f"{output_path}: the episode is an MP3; give a name ending in .mp3 "
            f"(e.g. {output_path.with_suffix('.mp3')}) or an existing folder."
        )
    return output_path


def _with_output(input_path: Path, opts: dict[str, Any]) -> dict[str, Any]:
    return {**opts, "output_path": _mp3_path(input_path, opts.get("output_path"))}


def _run_build(input_path: Path, opts: dict[str, Any]) -> Any:
    from narrator.build.pipeline import build

    settings = settings_from(input_path, opts)
    bar = _ProgressBar(enabled=not opts.get("quiet") and not opts.get("as_json"))

    def note(message: str) -> None:
        if not opts.get("quiet"):
            bar.close()
            click.echo(f"narrator: {message}", err=True)

    try:
        return build(input_path, settings, report=bar, note=note)
    finally:
        bar.close()


def _print_result(result: Any, opts: dict[str, Any]) -> None:
    if opts.get("as_json"):
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif not opts.get("quiet"):
        if result.up_to_date:
            click.echo(
                f"{result.output}: up to date ({len(result.chapters)} chapters, "
                f"{_fmt_duration(result.duration_s)})"
            )
        else:
            click.echo(
                f"{result.output}: {len(result.chapters)} sections "
                f"({result.sections_synthesized} synthesized, "
                f"{result.sections_reused} reused), "
                f"{_fmt_duration(result.duration_s)}, engine {result.engine}"
            )


@main.command()
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
    if dry_run:
        from narrator.build.pipeline import dry_run as plan_dry_run
        from narrator.build.pipeline import plan_build

        def note(message: str) -> None:
            if not opts.get("quiet"):
                click.echo(f"narrator: {message}", err=True)

        settings = settings_from(input_path, _with_output(input_path, opts))
        plan = plan_build(input_path, settings, note=note)
        rows = plan_dry_run(plan)
        if opts.get("as_json"):
            click.echo(
                json.dumps(
                    [{"action": a, "title": t} for a, t in rows], ensure_ascii=False
                )
            )
        else:
            for action, title in rows:
                click.echo(f"{action:<10} {title}")
        return
    result = _run_build(input_path, _with_output(input_path, opts))
    _print_result(result, opts)


@main.command()
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
    from narrator.build.plan import read_document
    from narrator.engines import engine_names, profile_of
    from narrator.speech import speak_section
    from narrator.speech.lexicon import load_user_lexicon

    if spoken and engine not in engine_names():
        raise click.BadParameter(
            f"unknown engine {engine!r}; choose one of: {', '.join(engine_names())}.",
            param_hint="--engine",
        )
    document = read_document(input_path)
    prepared = None
    if spoken:
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


@main.command()
@click.argument("mp3_path", metavar="FILE.mp3", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@handle_errors
def info(mp3_path: Path, as_json: bool) -> None:
    """Show the tags and chapters of an episode MP3.

    \b
    Example:
      narrator info output/exemple.mp3
    """
    from dataclasses import asdict

    from narrator.container.tags import read_episode
    from narrator.errors import InputError, TaggingError

    if not mp3_path.is_file():
        raise InputError(f"{mp3_path}: no such file; check the path.")
    try:
        tags = read_episode(mp3_path)
    except TaggingError as exc:  # the user gave the wrong file: bad input, exit 2
        raise InputError(f"{exc} Give an MP3 file.") from exc
    if as_json:
        data = asdict(tags)
        del data["cover"]  # bytes: its type and size are reported instead
        data["chapters"] = [
            {"title": c.title, "start_s": c.start_ms / 1000, "end_s": c.end_ms / 1000}
            for c in tags.chapters
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for label, value in [
        ("title", tags.title),
        ("author", tags.author),
        ("podcast", tags.podcast),
        ("date", tags.date),
        ("episode", tags.episode),
        ("language", tags.language),
        ("description", tags.description),
    ]:
        if value:
            click.echo(f"{label:<12} {value}")
    click.echo(
        f"{'audio':<12} {_fmt_duration(tags.duration_s)}, {tags.bitrate_kbps} kbps "
        f"{tags.bitrate_mode}, {tags.sample_rate} Hz, {tags.channels} ch, "
        f"ID3v{tags.id3_version}"
    )
    if tags.cover_mime:
        click.echo(f"{'cover':<12} {tags.cover_mime}, {tags.cover_bytes} bytes")
    click.echo(f"{'chapters':<12} {len(tags.chapters)}")
    for i, c in enumerate(tags.chapters, 1):
        click.echo(f"  {i:>3}. {_fmt_duration(c.start_ms / 1000):>8}  {c.title}")


@main.group()
def cache() -> None:
    """Inspect or prune the clip cache."""


def _cache_obj(cache_dir: Path | None) -> Any:
    from narrator.cache import Cache, default_cache_dir
    from narrator.config import environment

    return Cache(cache_dir or environment().cache_dir or default_cache_dir())


@cache.command("info")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Cache directory.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@handle_errors
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """Show where the cache is, its entries and size.

    \b
    Example:
      narrator cache info
    """
    stats = _cache_obj(cache_dir).info()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "path": str(stats.path),
                    "entries": stats.entries,
                    "size_bytes": stats.size_bytes,
                    **stats.by_kind,
                }
            )
        )
        return
    click.echo(f"location  {stats.path}")
    click.echo(
        f"entries   {stats.entries} ({stats.by_kind.get('clips', 0)} clips, "
        f"{stats.by_kind.get('segments', 0)} segments)"
    )
    click.echo(f"size      {stats.size_bytes / 1e6:.1f} MB")


@cache.command("prune")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    help="Remove entries not used for this many days.",
)
@click.option("--all", "everything", is_flag=True, help="Remove every entry.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Cache directory.")
@handle_errors
def cache_prune(
    older_than: float | None, everything: bool, cache_dir: Path | None
) -> None:
    """Remove cache entries (unused for --older-than DAYS, or --all).

    \b
    Example:
      narrator cache prune --older-than 30
    """
    if older_than is None and not everything:
        raise click.UsageError("give --older-than DAYS or --all.")
    removed, freed = _cache_obj(cache_dir).prune(
        older_than_days=older_than, everything=everything
    )
    click.echo(f"removed {removed} entries, {freed / 1e6:.1f} MB")


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
    import hashlib

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


def _titles(titles: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(f'"{t}"' for t in titles[:limit])
    more = len(titles) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _watch_line(result: Any, first: bool, took: float) -> str:
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
        f"{_fmt_duration(result.duration_s)} in {took:.1f} s"
    )


@main.command()
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
    opts = {**_with_output(input_path, opts), "quiet": True, "as_json": False}
    paths = _watched_paths(input_path, opts)
    builds = 0
    built = False  # "built" for the first successful build, then "rebuilt"
    last: tuple[Any, ...] | None = None

    def stamp() -> str:
        return time.strftime("%H:%M:%S")

    if not quiet:
        click.echo(f"watching {input_path} (Ctrl-C to stop)", err=True)
    try:
        while True:
            current = _fingerprint(paths)
            if current != last:
                # Debounce: wait until nothing changes for `debounce` seconds
                # (editors write in bursts: truncate, write, rename).
                settled = time.monotonic() + debounce
                while time.monotonic() < settled:
                    time.sleep(min(interval, debounce))
                    again = _fingerprint(paths)
                    if again != current:
                        current = again
                        settled = time.monotonic() + debounce
                last = current
                if current[0] is None:
                    click.echo(
                        f"{stamp()} {input_path}: missing; waiting for it to appear.",
                        err=True,
                    )
                    continue
                started = time.monotonic()
                try:
                    result = _run_build(input_path, opts)
                except NarratorError as exc:
                    _traceback_if_debug()
                    click.echo(f"{stamp()} error: {exc}", err=True)
                except Exception as exc:  # a bug must not end the watch either
                    _traceback_if_debug()
                    click.echo(
                        f"{stamp()} internal error: {type(exc).__name__}: {exc}",
                        err=True,
                    )
                else:
                    if as_json:
                        data = result.to_json()
                        data["synthesized_titles"] = list(result.synthesized_titles)
                        click.echo(json.dumps(data, ensure_ascii=False))
                    elif not quiet:
                        took = time.monotonic() - started
                        line = _watch_line(result, not built, took)
                        click.echo(f"{stamp()} {line}")
                    built = True
                sys.stdout.flush()
                builds += 1
                if max_builds and builds >= max_builds:
                    return
            time.sleep(interval)
    except KeyboardInterrupt:
        # Ctrl-C is how a watch ends: not an error, so exit 0.
        if not quiet:
            click.echo("stopped", err=True)


@main.command()
@click.argument("mp3_path", metavar="EPISODE.mp3", type=click.Path(path_type=Path))
@click.option(
    "--feed",
    "feed_path",
    type=click.Path(path_type=Path),
    default=Path("output/feed.xml"),
    show_default=True,
    help="The RSS feed file.",
)
@click.option(
    "--base-url",
    required=True,
    help="URL of the folder where the MP3 and its sidecars are served.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Podcast settings (TOML) [default: podcast.toml next to the feed].",
)
@click.option(
    "--feed-url", help="Public URL of the feed [default: base URL + file name]."
)
@click.option("--remove", is_flag=True, help="Take the episode out of the feed.")
@click.option(
    "--site/--no-site",
    default=True,
    show_default=True,
    help="Also rewrite the web pages beside the feed (index.html, <stem>.html).",
)
@click.option("--title", help="Override the podcast title from the config.")
@click.option("--author", help="Override the podcast author.")
@click.option("--email", help="Override the owner e-mail.")
@click.option("--description", help="Override the podcast description.")
@click.option("--category", help="Override the Apple Podcasts category.")
@click.option(
    "--explicit/--no-explicit", default=None, help="Override itunes:explicit."
)
@click.option("--link", help="Override the podcast website link.")
@click.option(
    "--image", help="Override the podcast image (URL or path beside the feed)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@handle_errors
def publish(
    mp3_path: Path,
    feed_path: Path,
    base_url: str,
    config_path: Path | None,
    feed_url: str | None,
    remove: bool,
    site: bool,
    as_json: bool,
    **overrides: Any,
) -> None:
    """Add or update EPISODE.mp3 in a podcast RSS feed (or --remove it).

    Also writes the show's web pages beside the feed: index.html and one
    <stem>.html per episode, with a player, chapters and a transcript that
    follows the voice (--no-site to skip).

    \b
    Example:
      narrator publish output/exemple.mp3 --feed output/feed.xml \\
          --base-url https://example.org/podcast/
    """
    from narrator.publish.podcast import publish_episode

    values = {
        k: ("true" if v else "false") if isinstance(v, bool) else v
        for k, v in overrides.items()
        if v is not None
    }
    result = publish_episode(
        mp3_path,
        feed_path=feed_path,
        base_url=base_url,
        config_path=config_path,
        overrides=values,
        remove=remove,
        feed_url=feed_url,
        site=site,
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "feed": str(result.feed_path),
                    "action": result.action,
                    "guid": result.guid,
                    "title": result.title,
                    "episodes": result.episode_count,
                    "pages": [str(p) for p in result.pages],
                },
                ensure_ascii=False,
            )
        )
    else:
        plural = "" if result.episode_count == 1 else "s"
        click.echo(
            f'{result.feed_path}: {result.action} "{result.title}" '
            f"({result.episode_count} episode{plural})"
        )


@main.command("init-podcast")
@click.argument(
    "path", type=click.Path(path_type=Path), default=Path("output/podcast.toml")
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@handle_errors
def init_podcast(path: Path, force: bool) -> None:
    """Write a commented starter podcast.toml (default: output/podcast.toml).

    \b
    Example:
      narrator init-podcast output/podcast.toml
    """
    from narrator.publish.podcast import init_podcast as write_starter

    written = write_starter(path, force=force)
    click.echo(
        f"wrote {written}; fill in title, author, email, description, category, "
        "explicit and link."
    )


@main.command()
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
    from narrator.build.pipeline import say_text
    from narrator.errors import InputError

    if output_path.is_dir():
        output_path = output_path / "say.mp3"
    elif output_path.suffix.lower() != ".mp3":
        raise InputError(f"{output_path}: give a name ending in .mp3.")
    from narrator.config import load_settings

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


# -- voices -------------------------------------------------------------------


@main.group(invoke_without_command=True)
@click.option(
    "--engine",
    type=click.Choice(["espeak", "edge", "gtts", "piper"]),
    help="Only this engine's voices.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_context
@handle_errors
def voices(ctx: click.Context, engine: str | None, as_json: bool) -> None:
    """List every engine's voices; install and remove Piper voices.

    \b
    Examples:
      narrator voices
      narrator voices --engine piper --json
      narrator voices install fr_FR-siwis-medium
      narrator voices install my-voice --from ~/Downloads/my-voice.onnx
      narrator voices remove fr_FR-siwis-medium
    """
    if ctx.invoked_subcommand is not None:
        return
    from narrator.build.voices import list_voices

    found = list_voices(engine)
    if as_json:
        click.echo(json.dumps([v.to_json() for v in found], ensure_ascii=False))
        return
    rows = [
        (
            v.engine,
            v.name,
            v.language,
            v.gender or "-",
            "offline" if v.offline else "online",
            "installed" if v.installed else ("-" if not v.installable else "no"),
            _fmt_size(v.size_bytes),
        )
        for v in found
    ]
    header = ("engine", "name", "language", "gender", "where", "installed", "size")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


def _fmt_size(size: int | None) -> str:
    if size is None:
        return "-"
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.1f} kB"


@voices.command("install")
@click.argument("name")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path),
    help="Install a local MODEL.onnx (its MODEL.onnx.json beside it) instead of "
    "downloading.",
)
@click.option("--force", is_flag=True, help="Download again even if installed.")
@handle_errors
def voices_install(name: str, source: Path | None, force: bool) -> None:
    """Install Piper voice NAME (downloaded, verified, atomic).

    Downloads from $NARRATOR_VOICES_URL if set (a mirror), else from the
    voice's official repository, and checks the size and SHA-256 of every file
    against narrator's catalogue. With --from, installs a local model under
    NAME (any NAME; one from the catalogue must match it).

    \b
    Examples:
      narrator voices install fr_FR-siwis-medium
      narrator voices install fr_FR-siwis-medium --from fr_FR-siwis-medium.onnx
    """
    from narrator.build.voices import install

    bars: dict[str, Any] = {}

    def progress(file_name: str, done: int, total: int) -> None:
        bar = bars.get(file_name)
        if bar is None:
            bar = click.progressbar(
                length=total,
                label=file_name,
                file=click.get_text_stream("stderr"),
                show_percent=True,
            )
            bar.__enter__()
            bars[file_name] = bar
        bar.update(done - bar.pos)

    try:
        result = install(name, source=source, progress=progress, force=force)
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
    if result.already:
        click.echo(f"{name}: already installed ({result.model})")
    else:
        click.echo(f"{name}: installed ({result.model})")


@voices.command("remove")
@click.argument("name")
@handle_errors
def voices_remove(name: str) -> None:
    """Remove installed Piper voice NAME."""
    from narrator.build.voices import remove

    folder = remove(name)
    click.echo(f"{name}: removed ({folder})")


# -- batch --------------------------------------------------------------------


def _batch_options(func: F) -> F:
    """Every build option but INPUT and -o (a batch writes into one folder)."""
    for option in reversed(_BUILD_OPTIONS[2:]):
        func = option(func)
    return func


def _batch_line(episode: Any) -> str:
    result = episode.result
    if result.up_to_date:
        return f"{episode.output}: up to date"
    line = (
        f"{episode.output}: {result.sections_synthesized} synthesized, "
        f"{result.sections_reused} reused, {_fmt_duration(result.duration_s)}"
    )
    return line + (f", {episode.published} in the feed" if episode.published else "")


def _feed_target(
    folder: Path,
    feed_path: Path | None,
    base_url: str | None,
    config_path: Path | None,
    site: bool,
) -> Any:
    """The feed to publish into, checked before anything is built.

    Raises:
        click.UsageError: --feed without --base-url, or the reverse.
        ConfigError: the podcast settings cannot be read.
    """
    from urllib.parse import urlsplit

    from narrator.build.batch import FeedTarget
    from narrator.errors import InputError
    from narrator.publish.feed import load_podcast_config

    if feed_path is None and base_url is None:
        return None
    if feed_path is None or base_url is None:
        raise click.UsageError("--feed and --base-url go together.")
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InputError(
            f"--base-url {base_url!r} must be an http(s) URL where the episodes "
            "are served, e.g. https://example.org/podcast/."
        )
    if config_path is None and (folder / "podcast.toml").is_file():
        config_path = folder / "podcast.toml"
    load_podcast_config(config_path or feed_path.parent / "podcast.toml")
    return FeedTarget(feed_path, base_url, config_path, site=site)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the episodes (<stem>.mp3 and sidecars).",
)
@_batch_options
@click.option(
    "--feed",
    "feed_path",
    type=click.Path(path_type=Path),
    help="Publish every new or changed episode into this RSS feed.",
)
@click.option("--base-url", help="URL of the folder where the episodes are served.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Podcast settings [default: podcast.toml in FOLDER, else beside the feed].",
)
@click.option(
    "--site/--no-site",
    default=True,
    show_default=True,
    help="With --feed, also rewrite the web pages beside the feed.",
)
@click.option(
    "--scheduler",
    help="Run the sections on a Dask cluster (tcp://HOST:PORT); needs "
    "pip install 'narrator[dask]' here and narrator on every worker.",
)
@handle_errors
def batch(
    folder: Path,
    outdir: Path,
    feed_path: Path | None,
    base_url: str | None,
    config_path: Path | None,
    site: bool,
    scheduler: str | None,
    **opts: Any,
) -> None:
    """Build every .txt and .md of FOLDER into episodes, and publish them.

    Each document becomes OUTDIR/<stem>.mp3 with its sidecars; narrator.toml in
    FOLDER applies to all. Unchanged documents cost nothing; an edited one
    re-synthesizes only its changed sections. A document that fails is
    reported and the others still build (exit 1 if any failed).

    \b
    Examples:
      narrator batch show/ -o public/ --engine espeak
      narrator batch show/ -o public/ --feed public/feed.xml \\
          --base-url https://example.org/podcast/
      narrator batch show/ --scheduler tcp://10.0.0.5:8786 --json
    """
    from narrator.build.batch import run_batch

    feed = _feed_target(folder, feed_path, base_url, config_path, site)
    # narrator.toml in FOLDER applies to every document (paths relative to it).
    settings = settings_from(folder / "narrator.toml", {**opts, "output_path": None})
    quiet, as_json = bool(opts.get("quiet")), bool(opts.get("as_json"))
    bar = _ProgressBar(enabled=not quiet and not as_json)

    def note(message: str) -> None:
        if not quiet:
            bar.close()
            click.echo(f"narrator: {message}", err=True)

    runner = None
    if scheduler is not None:
        from narrator.build.distributed import DaskRunner

        runner = DaskRunner(scheduler)
    try:
        result = run_batch(
            folder,
            settings,
            outdir=outdir,
            runner=runner,
            feed=feed,
            report=bar,
            note=note,
        )
    finally:
        bar.close()
        if runner is not None:
            runner.close()
    for episode in result.episodes:
        if episode.error is not None:
            named = str(episode.source) in episode.error
            where = "" if named else f"{episode.source}: "
            click.echo(f"narrator: error: {where}{episode.error}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif not quiet:
        for episode in result.episodes:
            if episode.error is None:
                click.echo(_batch_line(episode))
        click.echo(
            f"{result.built} built, {result.up_to_date} up to date, "
            f"{result.failed} failed"
        )
    if result.failed:
        sys.exit(1)
