"""Talking to Google Translate's speech endpoint: the transport seam, the
reply's audio, and what a failed request means.

Requests go through a ``Transport`` (``RequestsTransport`` in use, a fake in
tests), always with a timeout; ``extract_audio`` reads a reply the way
gTTS.stream() does; ``classify`` turns an HTTP status into a ``Failure`` the
retry policy (``retry``) acts on.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests
from gtts import gTTS

from narrator.engines.retry import Failure, http_phrase, parse_retry_after

__all__ = [
    "HINT_NETWORK",
    "HINT_PROTOCOL",
    "HttpRequest",
    "HttpResponse",
    "NoAudio",
    "RequestsTransport",
    "Transport",
    "TransportError",
    "classify",
    "extract_audio",
]

# gTTS.stream() finds the audio with this pattern on the line that names the RPC.
_AUDIO_RE = re.compile(gTTS.GOOGLE_TTS_RPC + r'","\[\\"(.*)\\"]')


# -- the transport seam --------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """One request as gTTS prepared it, plus narrator's timeout."""

    method: str
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout_s: float


@dataclass(frozen=True)
class HttpResponse:
    """What came back; header names are lower-case."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""


class TransportError(Exception):
    """The request got no HTTP answer: ``kind`` is "timeout" or "connection"."""

    def __init__(self, message: str, *, kind: str = "connection"):
        super().__init__(message)
        self.kind = kind


Transport = Callable[[HttpRequest], HttpResponse]


class RequestsTransport:
    """Send requests with ``requests``: a session per thread, a timeout always."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Send ``request``; raise TransportError when no HTTP answer came."""
        try:
            reply = self._session().request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=request.timeout_s,
            )
        except requests.Timeout as exc:
            raise TransportError(
                f"no answer within {request.timeout_s:g} s", kind="timeout"
            ) from exc
        except requests.RequestException as exc:
            raise TransportError(
                f"connection failed ({type(exc).__name__})", kind="connection"
            ) from exc
        headers = {k.lower(): v for k, v in reply.headers.items()}
        return HttpResponse(
            reply.status_code, reply.content, headers, reply.reason or ""
        )


# -- replies -------------------------------------------------------------------


class NoAudio(Exception):
    """A 200 reply that carries no usable audio."""


def extract_audio(body: bytes) -> bytes:
    """Return the MP3 bytes of a batchexecute reply, parsed as gTTS.stream() does.

    Raises:
        NoAudio: the reply has no audio line or is not text.
    """
    reply = requests.Response()
    reply._content = body
    reply._content_consumed = True  # iterate over the bytes we already have
    reply.status_code = 200
    chunks: list[bytes] = []
    try:
        for line in reply.iter_lines(chunk_size=1024):
            decoded = line.decode("utf-8")
            if gTTS.GOOGLE_TTS_RPC in decoded:
                found = _AUDIO_RE.search(decoded)
                if not found:
                    raise NoAudio("HTTP 200 without audio")
                chunks.append(base64.b64decode(found.group(1).encode("ascii")))
    except (UnicodeError, binascii.Error) as exc:
        raise NoAudio("HTTP 200 with an unreadable reply") from exc
    audio = b"".join(chunks)
    if not audio:
        raise NoAudio("HTTP 200 without audio")
    return audio


# -- failures ------------------------------------------------------------------


_HINT_RATE = "Google is rate-limiting, wait and re-run (finished sections are cached)"
_HINT_SERVER = (
    "Google's speech service is failing, re-run later (finished sections are cached)"
)
HINT_NETWORK = (
    "check the network and re-run (finished sections are cached), "
    "or use --engine espeak to work offline"
)
HINT_PROTOCOL = (
    "Google answered without usable audio; re-run later, or upgrade gTTS if it "
    "keeps happening (its protocol may have changed)"
)


def classify(response: HttpResponse, tld: str) -> Failure:
    reason = response.reason or http_phrase(response.status)
    cause = f"HTTP {response.status} {reason}".rstrip()
    if response.status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return Failure(cause, _HINT_RATE, True, retry_after)
    if response.status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return Failure(cause, _HINT_SERVER, True, retry_after)
    if response.status == 408:
        return Failure(cause, HINT_NETWORK, True)
    if response.status == 403:
        hint = "Google refused the request (a protocol change?); upgrade gTTS"
    elif response.status == 404:
        hint = f"translate.google.{tld} has no speech endpoint; check --gtts-tld"
    else:
        hint = "Google refused the request; upgrade gTTS or report it"
    return Failure(cause, hint, False)
