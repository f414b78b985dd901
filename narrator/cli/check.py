"""``narrator check``: the app pitfalls of an episode, a feed or a folder; and the
same rules as warnings after ``build`` and ``publish``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import click

from narrator.check.rules import Report
from narrator.cli.output import handle_errors
from narrator.errors import NarratorError


def _inspect() -> ModuleType:
    """The check library, loaded when a command checks something."""
    # Lazy: check.inspect pulls mutagen's readers, Pillow, defusedxml and
    # urllib.request: kept off `narrator --help` and the other commands
    from narrator.check import inspect

    return inspect


@click.command()
@click.argument(
    "target", metavar="FILE|FEED.xml|FOLDER", type=click.Path(path_type=Path)
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list, one object per file."
)
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder where the files a feed names are looked for (besides the feed's).",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="Fetch the files a feed names by URL (timeouts, a size cap) and check them.",
)
@handle_errors
def check(target: Path, as_json: bool, root: Path | None, fetch: bool) -> None:
    """Check an MP3, M4A/M4B, feed or folder for what breaks podcast apps.

    Exit 0 when clean, 1 when a problem is found, 2 when the input cannot be read.

    \b
    Examples:
      narrator check output/exemple.mp3
      narrator check output/feed.xml --root output --json
    """
    reports = _inspect().check_path(target, root=root, fetch=fetch)
    if not reports:
        click.echo(f"narrator: {target}: no MP3, M4A/M4B or feed to check.", err=True)
    if as_json:
        click.echo(
            json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2)
        )
    else:
        for report in reports:
            _print_report(report)
    if any(r.failed() for r in reports):
        sys.exit(1)


def _print_report(report: Report) -> None:
    if not report.problems:
        click.echo(f"{report.path}: {report.kind}: no problem")
        return
    click.echo(f"{report.path}: {report.kind}: {len(report.problems)} problem(s)")
    for p in report.problems:
        click.echo(f"  {p.severity} [{p.rule}] {p.message}")
        if p.apps:
            click.echo(f"    affects: {', '.join(p.apps)}")
        click.echo(f"    fix: {p.fix}")


def warn_problems(paths: Iterable[Path], *, feed: Path | None = None) -> None:
    """What ``check`` finds in files just written, as warnings on stderr.

    With ``feed``, the feed's rules and the items of ``paths`` (what publish
    wrote); else each of ``paths`` (what build wrote). Never fails the
    command that wrote them: a file that cannot be checked is one more warning.
    """
    try:
        if feed is not None:
            reports = _inspect().check_published(feed, paths)
        else:
            reports = [r for path in paths for r in _inspect().check_path(path)]
    except NarratorError as exc:
        click.echo(f"narrator: warning: not checked ({exc})", err=True)
        return
    for report in reports:
        for p in report.problems:
            if p.severity != "info":
                click.echo(
                    f"narrator: warning: {report.path}: [{p.rule}] {p.message} "
                    f"Fix: {p.fix}",
                    err=True,
                )
