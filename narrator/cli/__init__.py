"""Command line: the `narrator` click group, and every command registered on it.

Each command lives in the module of its group (build, publish, cache,
voices, batch) and never imports this one: the group imports the commands
and adds them here, so the registration is one list a reader can see.
stdout carries results (text or --json), stderr carries progress and errors;
the exit codes are in narrator/cli/output.py.
"""

from __future__ import annotations

import logging

import click

from narrator import __version__
from narrator.cli import batch, build, cache, check, publish, voices
from narrator.heap import bound_heap


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="narrator")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens on stderr.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Turn a French summary document into a podcast episode."""
    bound_heap()  # process-wide: see narrator/heap.py
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="narrator: %(levelname)s: %(message)s")


main.add_command(build.build)
main.add_command(build.sections)
main.add_command(publish.info)
main.add_command(cache.cache)
main.add_command(build.watch)
main.add_command(publish.publish)
main.add_command(publish.init_podcast)
main.add_command(build.say)
main.add_command(voices.voices)
main.add_command(batch.batch_command)
main.add_command(check.check)
