"""The exception tree. Every error a user can cause or fix is a NarratorError.

``exit_code`` follows the CLI contract: 2 for bad input or usage (the user must
change what they passed), 1 for a failure at run time (engine, audio, I/O).
"""

from __future__ import annotations


class NarratorError(Exception):
    """Base class: a message that names the thing and the next step."""

    exit_code = 1


class InputError(NarratorError):
    """Bad input or usage: a file, option or value the user must change."""

    exit_code = 2


class SummaryError(InputError):
    """The summary document cannot be read or holds nothing to say."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None
    ):
        where = ""
        if path is not None:
            where = f"{path}, line {line}: " if line else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class EngineUnavailable(NarratorError):
    """The chosen engine cannot run here (library missing, endpoint unreachable)."""


class EngineError(NarratorError):
    """Synthesis failed for one section.

    The engine gives the ``reason`` and its ``engine`` name; the pipeline adds
    the ``section`` it was working on (``with_section``), so every engine's
    message reads the same way without engines formatting section names.
    ``retryable`` says whether the same request may succeed later (rate limit,
    timeout, server error) as opposed to a permanent refusal.
    """

    def __init__(
        self,
        reason: str,
        *,
        engine: str = "",
        section: str | None = None,
        retryable: bool = False,
    ):
        self.reason = reason
        self.engine = engine
        self.section = section
        self.retryable = retryable
        super().__init__(self._message())

    def _message(self) -> str:
        where = f'section "{self.section}": ' if self.section else ""
        who = f"{self.engine}: " if self.engine else ""
        return f"{who}{where}{self.reason}"

    def with_section(self, section: str) -> EngineError:
        """The same error, naming ``section`` (unless it already names one)."""
        if self.section:
            return self
        return EngineError(
            self.reason,
            engine=self.engine,
            section=section,
            retryable=self.retryable,
        )


class AudioError(NarratorError):
    """ffmpeg missing or failing, an undecodable clip, an unreadable MP3."""


class TaggingError(NarratorError):
    """ID3 tags cannot be written or read."""


class FeedError(NarratorError):
    """The podcast feed or its configuration is invalid."""


class ConfigError(InputError):
    """A configuration file or option value is invalid."""


class LockError(NarratorError):
    """Another build is writing the same output."""


class VoiceInstallError(NarratorError):
    """A voice could not be downloaded, verified or installed (exit 1)."""


class WorkerMismatch(NarratorError):
    """A Dask worker runs another narrator than the client (exit 1)."""
