"""The `batch` command: every document of a folder built, then published.

The command's function is ``batch_command`` (the command is named `batch`) so
that ``_run_batch`` can call the library module by its own name, ``batch``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from narrator.cli.options import batch_options, settings_from
from narrator.cli.output import (
    ProgressBar,
    fmt_duration,
    handle_errors,
    note_printer,
    signals_to_main_thread,
)
from narrator.config import Settings
from narrator.errors import InputError
from narrator.publish.channel import load_podcast_config

if TYPE_CHECKING:
    from narrator.build.batch import BatchResult, Episode

Feed = tuple[Path, str, Path | None]  # feed file, base URL, podcast settings


def _feed(
    folder: Path, feed_path: Path | None, base_url: str | None, config_path: Path | None
) -> Feed | None:
    """The feed to publish into, checked before anything is built.

    Raises:
        click.UsageError: --feed without --base-url, or the reverse.
        InputError: --base-url is not an http(s) URL.
        ConfigError: the podcast settings cannot be read.
    """
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
    return feed_path, base_url, config_path


def _run_batch(
    folder: Path,
    settings: Settings,
    outdir: Path,
    feed: Feed | None,
    site: bool,
    scheduler: str | None,
    bar: ProgressBar,
    note: Callable[[str], None],
) -> BatchResult:
    """The one call into the batch library: locally, or on the Dask cluster at
    ``scheduler``; the progress bar and the runner closed however it ends."""
    with signals_to_main_thread():  # see cli.output: Ctrl-C reaches the main thread
        # Lazy: build.batch/distributed pull numpy and the audio stack: +105 ms
        # on `narrator --help`
        from narrator.build import batch, distributed

    runner = None if scheduler is None else distributed.DaskRunner(scheduler)
    try:
        return batch.run_batch(
            folder,
            settings,
            outdir=outdir,
            runner=runner,
            feed=None if feed is None else batch.FeedTarget(*feed, site=site),
            report=bar,
            note=note,
        )
    finally:
        bar.close()
        if runner is not None:
            runner.close()


def _batch_line(episode: Episode) -> str:
    result = episode.result
    assert result is not None  # a document without an error was built
    if result.up_to_date:
        return f"{episode.output}: up to date"
    line = (
        f"{episode.output}: {result.sections_synthesized} synthesized, "
        f"{result.sections_reused} reused, {fmt_duration(result.duration_s)}"
    )
    return line + (f", {episode.published} in the feed" if episode.published else "")


def _print_batch(result: BatchResult, quiet: bool, as_json: bool) -> None:
    """Failed documents on stderr; the episodes and a summary on stdout."""
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


@click.command("batch")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for the episodes (<stem>.mp3, or the [build] format, and sidecars).",
)
@batch_options
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
def batch_command(
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

    Each document becomes OUTDIR/<stem>.mp3 with its sidecars (.m4a or .m4b
    with format = ["m4a"] in [build]: the first format listed, the one
    published); narrator.toml in FOLDER applies to all. Unchanged documents
    cost nothing; an edited one re-synthesizes only its changed sections. A
    document that fails is reported and the others still build (exit 1 if
    any failed).

    \b
    Examples:
      narrator batch show/ -o public/ --engine espeak
      narrator batch show/ -o public/ --feed public/feed.xml \\
          --base-url https://example.org/podcast/
      narrator batch show/ --scheduler tcp://10.0.0.5:8786 --json
    """
    feed = _feed(folder, feed_path, base_url, config_path)
    # narrator.toml in FOLDER applies to every document (paths relative to it).
    settings = settings_from(folder / "narrator.toml", {**opts, "output_path": None})
    quiet, as_json = bool(opts.get("quiet")), bool(opts.get("as_json"))
    bar = ProgressBar(enabled=not quiet and not as_json)
    note = note_printer(bar, quiet)
    result = _run_batch(folder, settings, outdir, feed, site, scheduler, bar, note)
    _print_batch(result, quiet, as_json)
    if result.failed:
        sys.exit(1)
