"""The `cache` group: where the clip cache is, how big, and pruning it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from narrator.cache import Cache, default_cache_dir
from narrator.cli.output import handle_errors
from narrator.config import environment


@click.group()
def cache() -> None:
    """Inspect or prune the clip cache."""


def _cache_obj(cache_dir: Path | None) -> Cache:
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

    Running builds (build, watch, batch) are spared: what they have used
    since they started, and their temporary files, stay.

    \b
    Example:
      narrator cache prune --older-than 30
    """
    if older_than is None and not everything:
        raise click.UsageError("give --older-than DAYS or --all.")
    result = _cache_obj(cache_dir).prune(
        older_than_days=older_than, everything=everything
    )
    click.echo(f"removed {result.removed} entries, {result.freed_bytes / 1e6:.1f} MB")
    if result.kept:
        builds = result.builds
        users = (
            f"{builds} running build{'s' if builds != 1 else ''}"
            if builds
            else "a build that started meanwhile"
        )
        click.echo(
            f"kept {result.kept} entries ({result.kept_bytes / 1e6:.1f} MB) "
            f"in use by {users}"
        )
