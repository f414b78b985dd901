"""Commands around a finished episode: info (its tags), publish, init-podcast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from narrator.build.episode import episode_tags, tags_json
from narrator.cli.check import warn_problems
from narrator.cli.output import fmt_duration, handle_errors
from narrator.config import environment
from narrator.model import EpisodeTags
from narrator.publish.podcast import init_podcast as write_starter
from narrator.publish.podcast import publish_episode
from narrator.publish.transaction import DEFAULT_LOCK_WAIT_S

# -- info -----------------------------------------------------------------------


@click.command()
@click.argument(
    "episode_path", metavar="FILE.mp3|.m4a|.m4b", type=click.Path(path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@handle_errors
def info(episode_path: Path, as_json: bool) -> None:
    """Show the tags and chapters of an episode: MP3, M4A or M4B.

    \b
    Examples:
      narrator info output/exemple.mp3
      narrator info output/exemple.m4b --json
    """
    tags = episode_tags(episode_path)
    if as_json:
        click.echo(json.dumps(tags_json(tags), ensure_ascii=False, indent=2))
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
    click.echo(f"{'audio':<12} {_audio_line(tags)}")
    if tags.cover_mime:
        click.echo(f"{'cover':<12} {tags.cover_mime}, {tags.cover_bytes} bytes")
    click.echo(f"{'chapters':<12} {len(tags.chapters)}")
    for i, c in enumerate(tags.chapters, 1):
        click.echo(f"  {i:>3}. {fmt_duration(c.start_ms / 1000):>8}  {c.title}")


def _audio_line(tags: EpisodeTags) -> str:
    """The stream facts; an MP4 says its kind (podcast or audiobook) where an
    MP3 says its ID3 version."""
    head = f"{fmt_duration(tags.duration_s)}, {tags.bitrate_kbps} kbps"
    stream = f"{tags.sample_rate} Hz, {tags.channels} ch"
    if tags.container == "mp3":
        return f"{head} {tags.bitrate_mode}, {stream}, ID3v{tags.id3_version}"
    kind = "audiobook" if tags.container == "m4b" else "podcast"
    return f"{head} {tags.codec}, {stream}, {tags.container.upper()} ({kind})"


# -- publish --------------------------------------------------------------------


@click.command()
@click.argument(
    "mp3_path", metavar="EPISODE.mp3|.m4a|.m4b", type=click.Path(path_type=Path)
)
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
    help="URL of the folder where the episode and its sidecars are served.",
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
@click.option(
    "--lock-wait",
    "lock_wait_s",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_WAIT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait while another narrator publishes to the same folder.",
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
    lock_wait_s: float,
    as_json: bool,
    **overrides: Any,
) -> None:
    """Add or update an episode in a podcast RSS feed (or --remove it).

    An MP3 goes in as audio/mpeg, an M4A or M4B as audio/mp4; one feed may
    hold both.

    Also writes the show's web pages beside the feed: index.html and one
    <stem>.html per episode, with a player, chapters and a transcript that
    follows the voice (--no-site to skip). Publishes to one folder take
    turns: each waits for the one before (--lock-wait).

    \b
    Examples:
      narrator publish output/exemple.mp3 --feed output/feed.xml \\
          --base-url https://example.org/podcast/
      narrator publish output/livre.m4b --feed output/feed.xml \\
          --base-url https://example.org/podcast/
    """
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
        lock_dir=environment().lock_dir,
        lock_wait_s=lock_wait_s,
    )
    warn_problems([] if remove else [mp3_path], feed=result.feed_path)
    if as_json:
        data = {
            "feed": str(result.feed_path),
            "action": result.action,
            "guid": result.guid,
            "title": result.title,
            "episodes": result.episode_count,
            "pages": [str(p) for p in result.pages],
        }
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        plural = "" if result.episode_count == 1 else "s"
        click.echo(
            f'{result.feed_path}: {result.action} "{result.title}" '
            f"({result.episode_count} episode{plural})"
        )


@click.command("init-podcast")
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
    written = write_starter(path, force=force)
    click.echo(
        f"wrote {written}; fill in title, author, email, description, category, "
        "explicit and link."
    )
