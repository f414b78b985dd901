"""The `voices` group: every engine's voices; Piper voices installed and removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from narrator.build.voices import install, list_voices, remove
from narrator.cli.output import handle_errors


def _fmt_size(size: int | None) -> str:
    if size is None:
        return "-"
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.1f} kB"


@click.group(invoke_without_command=True)
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
    folder = remove(name)
    click.echo(f"{name}: removed ({folder})")
