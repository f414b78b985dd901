"""How a network voice's failed requests are retried, and when it gives up.

gTTS and Edge share one policy: each failed request is read as a ``Failure``
(cause, the user's next step, whether to retry, the service's Retry-After);
``give_up`` decides after each attempt; the wait is the service's Retry-After
or exponential backoff with full jitter; an engine-wide ``Breaker`` stops the
build after a run of failures instead of retrying every piece of a service
that is down.
"""

from __future__ import annotations

import email.utils
import http
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from narrator.errors import EngineError


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read a Retry-After header (seconds or HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def http_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- retrying ----------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """What one failed request means: the cause, the user's next step, whether
    the same request may succeed later, and how long the service asked to wait."""

    cause: str
    hint: str
    retryable: bool = True
    retry_after_s: float | None = None


class Breaker:
    """Count consecutive failed attempts engine-wide and trip at a threshold.

    Shared by every section an engine serves at once: when a service is down,
    the build stops after ``threshold`` failures instead of retrying each piece.
    """

    def __init__(self, threshold: int):
        self.threshold = threshold
        self._lock = threading.Lock()
        self._consecutive = 0
        self.tripped = threading.Event()
        self.last: Failure | None = None

    def success(self) -> None:
        with self._lock:
            self._consecutive = 0

    def failure(self, failure: Failure) -> bool:
        with self._lock:
            self._consecutive += 1
            self.last = failure
            if self._consecutive >= self.threshold:
                self.tripped.set()
        return self.tripped.is_set()


def backoff_s(
    attempt: int,
    failure: Failure,
    *,
    base_s: float,
    max_s: float,
    retry_after_max_s: float,
    uniform: Callable[[float, float], float],
) -> float:
    """How long to wait before attempt ``attempt + 1``: the service's Retry-After
    (capped), else exponential backoff with full jitter."""
    if failure.retry_after_s is not None:
        return min(failure.retry_after_s, retry_after_max_s)
    ceiling = min(max_s, base_s * 2 ** (attempt - 1))
    return uniform(0.0, ceiling)


def breaker_error(
    breaker: Breaker, engine: str, section: str | None, default_hint: str
) -> EngineError:
    """The error a tripped breaker raises: how many failures, the last cause."""
    last = breaker.last
    cause = f" (last: {last.cause})" if last else ""
    hint = last.hint if last else default_hint
    return EngineError(
        f"stopped after {breaker.threshold} consecutive failed requests{cause}; {hint}",
        engine=engine,
        section=section,
        retryable=True,
    )


def give_up(
    failure: Failure,
    attempt: int,
    max_attempts: int,
    breaker: Breaker,
    *,
    engine: str,
    section: str | None,
    default_hint: str,
) -> EngineError | None:
    """After a failed attempt: the error to raise, or None to retry.

    Stops when the breaker trips, when the failure is not worth retrying, and
    when the attempts are spent.
    """
    if breaker.failure(failure):
        return breaker_error(breaker, engine, section, default_hint)
    if not failure.retryable:
        return EngineError(
            f"{failure.cause} (not retried); {failure.hint}",
            engine=engine,
            section=section,
            retryable=False,
        )
    if attempt >= max_attempts:
        return EngineError(
            f"{failure.cause} after {attempt} attempts; {failure.hint}",
            engine=engine,
            section=section,
            retryable=True,
        )
    return None
