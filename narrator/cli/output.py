"""What the commands print and how they exit: the one place for both.

stdout carries results (text or --json), stderr carries progress and errors.
Exit codes: 0 success, 1 failure at run time, 2 bad input or usage,
130 interrupted. ``handle_errors`` is the one funnel from an exception to a
line on stderr and an exit code, so every command fails the same way.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar, cast

import click

from narrator.config import environment
from narrator.errors import ConfigError, NarratorError

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def signals_to_main_thread() -> Iterator[None]:
    """Block Ctrl-C (SIGINT, SIGTERM) in the calling thread while it runs, so the
    native threads a library starts meanwhile inherit that mask.

    numpy's OpenBLAS starts a thread pool when imported. A signal the kernel hands
    to one of those threads only sets Python's flag, and a main thread blocked in
    a read (an --intro that is a pipe, a slow disk) would never see it: Ctrl-C
    would hang the build. With the pool's threads blocking both signals, the
    kernel gives them to the main thread, whose read is interrupted.
    """
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    flag = bool(root and root.obj and root.obj.get("debug"))
    if flag:
        return True
    try:
        return environment().debug
    except ConfigError:
        return False


def traceback_if_debug() -> None:
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
            traceback_if_debug()
            click.echo(f"narrator: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            traceback_if_debug()
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
            traceback_if_debug()
            hint = "" if _debug() else " (re-run with --debug for the traceback)"
            click.echo(
                f"narrator: internal error: {type(exc).__name__}: {exc}{hint}",
                err=True,
            )
            sys.exit(1)

    return cast(F, wrapper)


def fmt_duration(seconds: float) -> str:
    """H:MM:SS, or M:SS under an hour."""
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Event(Protocol):
    """A section done (the build's Progress event): only its total is read."""

    @property
    def total(self) -> int: ...


class ProgressBar:
    """A progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None

    def __call__(self, event: _Event) -> None:
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


def note_printer(bar: ProgressBar, quiet: bool) -> Callable[[str], None]:
    """The library's ``note``: one "narrator: ..." line on stderr (none with
    --quiet), after closing the progress bar so that the line stands alone."""

    def note(message: str) -> None:
        if not quiet:
            bar.close()
            click.echo(f"narrator: {message}", err=True)

    return note
