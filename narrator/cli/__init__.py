"""Command line: the `narrator` click group, and every command registered on it.

Each command lives in the module of its group (build, publish, cache,
voices, batch, check) and never imports this one: ``COMMANDS`` below names
each command's module and attribute, so the registration is one list a
reader can see, and a command's module is imported only when that command
runs (``--help`` and shell completion, which list them all, import every
one): ``narrator build`` does not load the publishing, feed-checking and
HTTP code, ~80 ms of every build's start-up (``python -X importtime``).
stdout carries results (text or --json), stderr carries progress and errors;
the exit codes are in narrator/cli/output.py.
"""

from __future__ import annotations

import importlib
import logging

from narrator.heap import bound_heap, one_blas_thread

one_blas_thread()  # before anything imports numpy: see narrator/heap.py

import click  # noqa: E402

from narrator import __version__  # noqa: E402

# name: (module under narrator.cli, attribute), in the order of the commands'
# registration (``--help`` lists them sorted, as click does).
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "build"),
    "sections": ("build", "sections"),
    "info": ("publish", "info"),
    "cache": ("cache", "cache"),
    "watch": ("build", "watch"),
    "publish": ("publish", "publish"),
    "init-podcast": ("publish", "init_podcast"),
    "say": ("build", "say"),
    "voices": ("voices", "voices"),
    "batch": ("batch", "batch_command"),
    "check": ("check", "check"),
}


class _Commands(click.Group):
    """A group whose commands are imported from ``COMMANDS`` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            loaded = importlib.import_module(f"narrator.cli.{module}")
            self.add_command(getattr(loaded, attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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
