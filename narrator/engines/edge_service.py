"""Talking to Edge's speech service through edge-tts: one request, what a
failure means, and the service's URL.

edge-tts speaks the service's WebSocket protocol (speech.config and SSML out;
turn.start, WordBoundary metadata, MP3 frames and turn.end back) one request
at a time, with no overall timeout. ``fetch`` runs one of its requests under
narrator's deadlines (first audio, whole piece) and checks the stream really
ended; ``classify`` says what an exception from it means for a retry.

``NARRATOR_EDGE_URL`` (or the ``url`` option) replaces the service's WebSocket
URL. edge-tts has no parameter for it: ``Communicate`` reads the module
constant ``WSS_URL`` when it connects. Rather than rewrite that global for the
whole process (several engines may run at once), ``communicate_class`` makes
a subclass whose private ``__stream`` method is edge-tts's own code run with
its own copy of the module's globals, ``WSS_URL`` replaced. That is the only
part of edge-tts narrator wraps.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import aiohttp
import edge_tts
import edge_tts.exceptions as edge_errors
from edge_tts.version import __version__ as EDGE_TTS_VERSION

from narrator.engines.retry import Failure, http_phrase, parse_retry_after
from narrator.errors import EngineUnavailable, InputError

__all__ = [
    "HINT_NETWORK",
    "HINT_PROTOCOL",
    "URL_ENV",
    "Fetched",
    "PieceTimeout",
    "check_url",
    "classify",
    "communicate_class",
    "fetch",
    "first_audio",
]

URL_ENV = "NARRATOR_EDGE_URL"


# -- the service's URL -------------------------------------------------------


def check_url(url: str) -> str:
    """Return the WebSocket URL the client will extend with its own parameters.

    A URL without a query gets an empty one, since the client appends
    ``&ConnectionId=...`` to it.

    Raises:
        InputError: not a ws:// or wss:// URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in {"ws", "wss"} or not parts.hostname:
        raise InputError(
            f"{URL_ENV}={url!r} is not a ws:// or wss:// URL; give the full "
            "WebSocket URL with its query, e.g. "
            "wss://host/consumer/speech/synthesize/readaloud/edge/v1?"
            "TrustedClientToken=..."
        )
    url = url.strip()
    return url if parts.query or url.endswith("?") else url + "?"


def communicate_class(url: str | None) -> type[edge_tts.Communicate]:
    """Return edge-tts's Communicate, connecting to ``url`` when one is given.

    Raises:
        EngineUnavailable: this edge-tts no longer reads ``WSS_URL`` where
            narrator expects it, so the URL cannot be replaced.
    """
    base = edge_tts.Communicate
    if url is None:
        return base
    stream = getattr(base, "_Communicate__stream", None)
    if (
        not isinstance(stream, types.FunctionType)
        or "WSS_URL" not in stream.__code__.co_names
        or stream.__closure__ is not None
    ):
        raise EngineUnavailable(
            f"edge-tts {EDGE_TTS_VERSION} no longer builds its URL from WSS_URL "
            f"in Communicate; {URL_ENV} cannot be applied (report it)."
        )
    namespace = dict(stream.__globals__)
    namespace["WSS_URL"] = url
    redirected = types.FunctionType(
        stream.__code__, namespace, stream.__name__, stream.__defaults__
    )
    redirected.__qualname__ = stream.__qualname__
    return type("RedirectedCommunicate", (base,), {"_Communicate__stream": redirected})


# -- one request ---------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """One piece as the service sent it: MP3 and (offset, duration, text) ticks."""

    mp3: bytes
    words: tuple[tuple[int, int, str], ...]


class PieceTimeout(TimeoutError):
    """One of narrator's own deadlines for a piece passed."""


async def fetch(
    communicate: edge_tts.Communicate, first_audio_s: float, total_s: float
) -> Fetched:
    """Run one edge-tts request under narrator's deadlines.

    The caller checks that the audio is MP3 (``join.looks_like_mp3``).

    Raises:
        PieceTimeout: no audio within ``first_audio_s`` or not done in ``total_s``.
        edge_tts / aiohttp exceptions: as the client raised them.
        edge_errors.UnexpectedResponse: the stream ended before turn.end.
    """
    audio: list[bytes] = []
    words: list[tuple[int, int, str]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    stream = communicate.stream()
    limit: asyncio.Timeout | None = None
    try:
        async with asyncio.timeout_at(started + min(first_audio_s, total_s)) as limit:
            async for chunk in stream:
                if chunk["type"] == "audio":
                    if not audio:
                        limit.reschedule(started + total_s)
                    audio.append(chunk.get("data", b""))
                elif chunk["type"] == "WordBoundary":
                    words.append(
                        (
                            int(chunk.get("offset", 0)),
                            int(chunk.get("duration", 0)),
                            str(chunk.get("text", "")),
                        )
                    )
    except TimeoutError as exc:
        if limit is None or not limit.expired():
            raise  # aiohttp's own connect or read timeout
        if audio:
            raise PieceTimeout(f"piece not finished within {total_s:g} s") from exc
        raise PieceTimeout(f"no audio within {first_audio_s:g} s") from exc
    finally:
        await stream.aclose()
    # edge-tts stops quietly when the service closes mid-stream; a
    # turn.end moves the piece's byte count into its cumulative total.
    state = communicate.state
    if state["chunk_audio_bytes"] or state["cumulative_audio_bytes"] != sum(
        map(len, audio)
    ):
        raise edge_errors.UnexpectedResponse(
            "the service closed the stream before turn.end"
        )
    return Fetched(b"".join(audio), tuple(words))


async def first_audio(communicate: edge_tts.Communicate) -> bytes:
    """The first audio chunk the service streams (b"" if none), for ``probe``."""
    stream = communicate.stream()
    try:
        async for chunk in stream:
            if chunk["type"] == "audio":
                return bytes(chunk.get("data", b""))
        return b""
    finally:
        await stream.aclose()


# -- failures ------------------------------------------------------------------


_HINT_RATE = (
    "the Edge speech service is throttling; wait and re-run "
    "(finished sections are cached)"
)
_HINT_SERVER = (
    "the Edge speech service is failing; re-run later (finished sections are cached)"
)
HINT_NETWORK = (
    "check the network and re-run (finished sections are cached), "
    "or use --engine espeak to work offline"
)
HINT_PROTOCOL = (
    "the Edge speech service answered without usable audio; re-run later, or "
    "upgrade edge-tts if it keeps happening (the protocol may have changed)"
)
_HINT_REFUSED = (
    "the Edge speech service refused the client (its token may have changed); "
    "upgrade edge-tts"
)
_HINT_URL = f"check {URL_ENV}, or upgrade edge-tts"


def _retry_after(exc: aiohttp.ClientResponseError) -> float | None:
    """Read Retry-After from a refused handshake's headers (a multidict)."""
    headers = cast("Mapping[str, str] | None", exc.headers)
    return parse_retry_after(headers.get("Retry-After") if headers else None)


def classify(exc: BaseException, host: str) -> Failure:
    """Say what an exception from one request means and whether to retry."""
    if isinstance(exc, aiohttp.ClientResponseError):
        status = exc.status
        cause = f"HTTP {status} {http_phrase(status)}".rstrip() + " on connect"
        if status == 429:
            return Failure(cause, _HINT_RATE, True, _retry_after(exc))
        if status >= 500:
            return Failure(cause, _HINT_SERVER, True, _retry_after(exc))
        if status == 408:
            return Failure(cause, HINT_NETWORK, True)
        if status in (401, 403):
            return Failure(cause, _HINT_REFUSED, False)
        if 400 <= status < 500:
            return Failure(cause, _HINT_URL, False)
        # A handshake that answered but did not upgrade (e.g. 200 from a proxy).
        return Failure(cause, HINT_PROTOCOL, True)
    if isinstance(exc, edge_errors.SkewAdjustmentError):
        return Failure(f"HTTP 403 on connect ({exc})", _HINT_REFUSED, False)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return Failure(str(exc) or "timed out", HINT_NETWORK, True)
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return Failure(
            f"cannot reach {host} ({type(exc).__name__})", HINT_NETWORK, True
        )
    if isinstance(exc, edge_errors.NoAudioReceived):
        return Failure("the service closed the stream without audio", _HINT_RATE)
    if isinstance(exc, edge_errors.EdgeTTSException):
        return Failure(f"unexpected reply ({exc})", HINT_PROTOCOL, True)
    # edge-tts parses frames without guarding against malformed ones.
    return Failure(
        f"unreadable reply ({type(exc).__name__}: {exc})"[:200], HINT_PROTOCOL, True
    )
