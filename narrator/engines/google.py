"""The gTTS engine: Google Translate's speech endpoint, made dependable.

gTTS alone sends one request at a time, has no retry and no default timeout,
cuts text wherever its 100-character limit falls and glues MP3 parts together.
This engine keeps gTTS's own request format and reply parsing (so a change in
Google's protocol, followed by gTTS, shows up here) but owns everything around
them: it splits text at sentence, clause and word boundaries, sends requests
through a ``transport`` seam with a timeout, retries with backoff and jitter,
bounds the requests in flight engine-wide, stops on a run of failures, and
decodes each piece to PCM before joining pieces with natural pauses.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import http
import logging
import math
import os
import random
import re
import subprocess
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import requests
from gtts import gTTS
from gtts.lang import tts_langs
from gtts.utils import _ALL_PUNC_OR_SPACE
from gtts.version import __version__ as GTTS_VERSION

from narrator import dsp
from narrator.engines.base import Audio, SectionRef
from narrator.errors import AudioError, ConfigError, EngineError
from narrator.ffmpeg import ffmpeg_exe

__all__ = [
    "GoogleEngine",
    "HttpRequest",
    "HttpResponse",
    "Piece",
    "RequestsTransport",
    "Transport",
    "TransportError",
    "create",
    "split_pieces",
]

log = logging.getLogger(__name__)

ENGINE_NAME = "gtts"
PROFILE = "gtts"  # French normalization profile (narrator.speech)
MAX_PIECE_CHARS = gTTS.GOOGLE_TTS_MAX_CHARS  # Google refuses longer text
SAMPLE_RATE = 24_000  # gTTS audio is 24 kHz mono MP3
# Bump when splitting, trimming or gaps change: it changes the sound, so it is
# part of identity() and therefore of the clip cache key.
ASSEMBLY_VERSION = "1"

# Silence kept at the start and end of an utterance, and at the inner edges of
# pieces (before the gap that replaces Google's own uneven padding).
OUTER_KEEP_MS = 40
INNER_KEEP_MS = 10
# Pause inserted where two pieces of one utterance meet, by kind of break.
GAP_MS = {"sentence": 250, "clause": 120, "word": 30, "hard": 0}
SILENCE_DBFS = -50.0
_WINDOW_MS = 5

# gTTS.stream() finds the audio with this pattern on the line that names the RPC.
_AUDIO_RE = re.compile(gTTS.GOOGLE_TTS_RPC + r'","\[\\"(.*)\\"]')


# --------------------------------------------------------------------------
# Splitting


@dataclass(frozen=True)
class Piece:
    """A run of at most 100 characters sent in one request.

    ``brk`` is the kind of boundary after the piece: "sentence", "clause",
    "word", "hard" (inside a word too long to split) or "end".
    """

    text: str
    brk: str = "end"


_SENTENCE_CUT = re.compile(r"(?<=[.!?…])\s+")
# After , ; : and a closing parenthesis, or before an opening one or a dash:
# where a French reader takes a breath.
_CLAUSE_CUT = re.compile(r"(?<=[,;:)])\s+|\s+(?=[(—–])")
_LEVELS = (("sentence", _SENTENCE_CUT), ("clause", _CLAUSE_CUT))


def split_pieces(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[Piece]:
    """Split ``text`` into pieces of at most ``max_chars`` characters.

    Cuts at sentence ends first, then at clause punctuation, then between
    words (balanced, so no word is left alone at the end); a word longer than
    ``max_chars`` is cut as a last resort. Adjacent units are packed together
    while they fit, so short sentences share a request. Pieces made only of
    punctuation are dropped: there is nothing to say.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    flat = " ".join(text.split())
    if not flat:
        return []
    pieces = _split(flat, 0, max_chars)
    spoken = [p for p in pieces if not _ALL_PUNC_OR_SPACE.match(p.text)]
    if spoken and spoken[-1].brk != "end":
        spoken[-1] = Piece(spoken[-1].text, "end")
    return spoken


def _split(text: str, level: int, max_chars: int) -> list[Piece]:
    if len(text) <= max_chars:
        return [Piece(text)]
    if level == len(_LEVELS):
        return _split_words(text, max_chars)
    kind, pattern = _LEVELS[level]
    units = [u for u in pattern.split(text) if u]
    if len(units) < 2:
        return _split(text, level + 1, max_chars)
    pieces: list[Piece] = []
    groups = _pack(units, [" "] * len(units), max_chars)
    for index, group in enumerate(groups):
        sub = _split(" ".join(units[i] for i in group), level + 1, max_chars)
        if index < len(groups) - 1:
            sub[-1] = Piece(sub[-1].text, kind)
        pieces.extend(sub)
    return pieces


def _pack(units: list[str], glue: list[str], max_chars: int) -> list[list[int]]:
    """Group adjacent units (by index) into runs that fit in ``max_chars``.

    ``glue[i]`` joins unit i to the one before it. Groups are as few as greedy
    packing makes them, but evened out so the last one is not a lone scrap.
    """

    def run(target: float) -> list[list[int]]:
        groups: list[list[int]] = []
        current: list[int] = []
        length = 0
        for i, unit in enumerate(units):
            added = len(unit) + (len(glue[i]) if current else 0)
            if current and (length + added > max_chars or length >= target):
                groups.append(current)
                current, length = [i], len(unit)
            else:
                current.append(i)
                length += added
        groups.append(current)
        return groups

    greedy = run(math.inf)
    if len(greedy) == 1:
        return greedy
    total = sum(map(len, units)) + sum(map(len, glue[1:]))
    even = run(total / len(greedy))
    return even if len(even) <= len(greedy) else greedy


def _split_words(text: str, max_chars: int) -> list[Piece]:
    units: list[str] = []
    glue: list[str] = []
    for word in text.split(" "):
        # A word longer than a request is cut as a last resort.
        for start in range(0, len(word), max_chars):
            glue.append(" " if start == 0 else "")
            units.append(word[start : start + max_chars])
    groups = _pack(units, glue, max_chars)
    pieces = []
    for index, group in enumerate(groups):
        joined = "".join(glue[i] + units[i] for i in group).strip()
        if index == len(groups) - 1:
            brk = "end"
        else:
            brk = "hard" if glue[groups[index + 1][0]] == "" else "word"
        pieces.append(Piece(joined, brk))
    return pieces


# --------------------------------------------------------------------------
# Transport seam


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


# --------------------------------------------------------------------------
# Replies and audio


class _NoAudio(Exception):
    """A 200 reply that carries no usable audio."""


def extract_audio(body: bytes) -> bytes:
    """Return the MP3 bytes of a batchexecute reply, parsed as gTTS.stream() does.

    Raises:
        _NoAudio: the reply has no audio line or is not text.
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
                    raise _NoAudio("HTTP 200 without audio")
                chunks.append(base64.b64decode(found.group(1).encode("ascii")))
    except (UnicodeError, binascii.Error) as exc:
        raise _NoAudio("HTTP 200 with an unreadable reply") from exc
    audio = b"".join(chunks)
    if not audio:
        raise _NoAudio("HTTP 200 without audio")
    return audio


def _decode_mp3(data: bytes) -> bytes:
    """Decode MP3 bytes to 24 kHz mono s16le PCM with the bundled ffmpeg.

    Raises:
        AudioError: ffmpeg is missing or cannot decode the bytes.
    """
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mp3",
        "-i",
        "pipe:0",
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "pipe:1",
    ]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"ffmpeg could not decode a gTTS piece: {exc}") from exc
    pcm = done.stdout
    if done.returncode != 0 or len(pcm) < 2 * SAMPLE_RATE // 100:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(
            "ffmpeg could not decode a gTTS piece"
            + (f": {message[-1]}" if message else "")
        )
    return pcm[: len(pcm) - len(pcm) % 2]


def _looks_like_mp3(data: bytes) -> bool:
    """Say whether ``data`` starts like an MP3 (an ID3 tag or a frame sync)."""
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0)


def _decode_many(mp3s: Sequence[bytes]) -> list[bytes]:
    """Decode several MP3s with one ffmpeg process (its start-up dominates).

    Raises:
        AudioError: ffmpeg is missing or cannot decode one of them.
    """
    if len(mp3s) == 1:
        return [_decode_mp3(mp3s[0])]
    with tempfile.TemporaryDirectory(prefix="narrator-gtts-") as tmp:
        folder = Path(tmp)
        command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin"]
        for n, data in enumerate(mp3s):
            (folder / f"{n}.mp3").write_bytes(data)
            command += ["-f", "mp3", "-i", str(folder / f"{n}.mp3")]
        for n in range(len(mp3s)):
            command += ["-map", f"{n}:a", "-f", "s16le", "-acodec", "pcm_s16le"]
            command += ["-ac", "1", "-ar", str(SAMPLE_RATE), str(folder / f"{n}.raw")]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AudioError(f"ffmpeg could not decode gTTS pieces: {exc}") from exc
        if done.returncode != 0:
            raise AudioError(
                "ffmpeg could not decode gTTS pieces: "
                + done.stderr.decode("utf-8", "replace").strip()[-200:]
            )
        pcms = [(folder / f"{n}.raw").read_bytes() for n in range(len(mp3s))]
    return [pcm[: len(pcm) - len(pcm) % 2] for pcm in pcms]


def _sound_bounds(samples: np.ndarray) -> tuple[int, int] | None:
    """Return (first, end) sample indexes of the audible part, or None if silent.

    Any sample over ``SILENCE_DBFS`` is audible (peak gate), and the edges stay
    on the ``_WINDOW_MS`` grid: changing either would change the joined sound,
    and with it the cache identity (``ASSEMBLY_VERSION``).
    """
    first, end = dsp.trim_silence(
        dsp.from_int16(samples),
        SAMPLE_RATE,
        SILENCE_DBFS,
        gate="peak",
        window_ms=_WINDOW_MS,
        exact=False,
    )
    return None if first == end else (first, end)


def join_pieces(pcms: Sequence[bytes], breaks: Sequence[str]) -> bytes:
    """Join the PCM of one utterance's pieces into one flowing PCM run.

    Each piece loses Google's padding: OUTER_KEEP_MS of silence stays at the
    utterance's edges, INNER_KEEP_MS at the inner edges, and a pause chosen by
    the kind of break (GAP_MS) goes between pieces.
    """
    out = array("h")
    per_ms = SAMPLE_RATE // 1000
    last = len(pcms) - 1
    for index, pcm in enumerate(pcms):
        samples = array("h")
        samples.frombytes(pcm)
        bounds = _sound_bounds(np.frombuffer(pcm, dtype=np.int16))
        if bounds is None:
            # Nothing audible: keep the gap only.
            start = end = 0
        else:
            keep_before = (OUTER_KEEP_MS if index == 0 else INNER_KEEP_MS) * per_ms
            keep_after = (OUTER_KEEP_MS if index == last else INNER_KEEP_MS) * per_ms
            start = max(0, bounds[0] - keep_before)
            end = min(len(samples), bounds[1] + keep_after)
        out.extend(samples[start:end])
        if index < last:
            gap_ms = GAP_MS.get(breaks[index], GAP_MS["word"])
            out.extend(array("h", bytes(2 * gap_ms * per_ms)))
    return out.tobytes()


# --------------------------------------------------------------------------
# Failures, retries and the circuit breaker


@dataclass(frozen=True)
class _Failure:
    cause: str
    hint: str
    retryable: bool = True
    retry_after_s: float | None = None


_HINT_RATE = "Google is rate-limiting, wait and re-run (finished sections are cached)"
_HINT_SERVER = (
    "Google's speech service is failing, re-run later (finished sections are cached)"
)
_HINT_NETWORK = (
    "check the network and re-run (finished sections are cached), "
    "or use --engine espeak to work offline"
)
_HINT_PROTOCOL = (
    "Google answered without usable audio; re-run later, or upgrade gTTS if it "
    "keeps happening (its protocol may have changed)"
)


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


def _classify(response: HttpResponse, tld: str) -> _Failure:
    reason = response.reason or _phrase(response.status)
    cause = f"HTTP {response.status} {reason}".rstrip()
    if response.status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return _Failure(cause, _HINT_RATE, True, retry_after)
    if response.status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return _Failure(cause, _HINT_SERVER, True, retry_after)
    if response.status == 408:
        return _Failure(cause, _HINT_NETWORK, True)
    if response.status == 403:
        hint = "Google refused the request (a protocol change?); upgrade gTTS"
    elif response.status == 404:
        hint = f"translate.google.{tld} has no speech endpoint; check --gtts-tld"
    else:
        hint = "Google refused the request; upgrade gTTS or report it"
    return _Failure(cause, hint, False)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Cancelled(Exception):
    """The call already failed elsewhere; stop quietly."""


class _Breaker:
    """Count consecutive failed attempts engine-wide and trip at a threshold."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self._lock = threading.Lock()
        self._consecutive = 0
        self.tripped = threading.Event()
        self.last: _Failure | None = None

    def success(self) -> None:
        with self._lock:
            self._consecutive = 0

    def failure(self, failure: _Failure) -> bool:
        with self._lock:
            self._consecutive += 1
            self.last = failure
            if self._consecutive >= self.threshold:
                self.tripped.set()
        return self.tripped.is_set()


# --------------------------------------------------------------------------
# The engine


class GoogleEngine:
    """Google Translate's speech (via gTTS) with retries, timeouts and concurrency.

    Thread-safe: the pipeline may synthesize several sections at once; the
    in-flight bound and the circuit breaker are shared by all calls.
    """

    name = ENGINE_NAME
    local = False
    profile = PROFILE
    voice = ""  # the accent is --gtts-tld

    def __init__(
        self,
        lang: str = "fr",
        tld: str = "fr",
        slow: bool = False,
        *,
        transport: Transport | None = None,
        base_url: str | None = None,
        max_in_flight: int = 4,
        timeout_s: float = 10.0,
        # 8 attempts: with 30 % of requests failing, an 80-piece episode still
        # completes with probability > 99 % (5 attempts: ~82 %).
        max_attempts: int = 8,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        retry_after_max_s: float = 30.0,
        breaker_threshold: int = 10,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ):
        if max_in_flight < 1 or max_attempts < 1 or breaker_threshold < 1:
            raise ValueError("max_in_flight, max_attempts and breaker_threshold >= 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.lang = lang
        self.tld = tld
        self.slow = slow
        self.base_url = base_url.rstrip("/") if base_url else None
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_max_s = retry_after_max_s
        self._transport: Transport = transport or RequestsTransport()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._breaker = _Breaker(breaker_threshold)

    def identity(self) -> Mapping[str, str]:
        """Return what changes the sound: engine, gTTS version, lang, tld, slow."""
        return {
            "engine": ENGINE_NAME,
            "version": GTTS_VERSION,
            "lang": self.lang,
            "tld": self.tld,
            "slow": "1" if self.slow else "0",
            "assembly": ASSEMBLY_VERSION,
        }

    # -- requests ----------------------------------------------------------

    def build_request(self, text: str, timeout_s: float | None = None) -> HttpRequest:
        """Prepare the request for one piece with gTTS's own code.

        gTTS's pre-processors are English (they drop the period after "dr",
        "st"...) and its tokenizer would split again, so both are disabled:
        the piece is already short and French.

        Raises:
            EngineError: gTTS refuses the text or no longer makes one request.
        """
        try:
            tts = gTTS(
                text,
                tld=self.tld,
                lang=self.lang,
                slow=self.slow,
                lang_check=False,
                pre_processor_funcs=[],
                tokenizer_func=_no_split,
            )
            prepared = tts._prepare_requests()
        except (AssertionError, ValueError) as exc:
            raise EngineError(
                f"cannot prepare a request for {text[:40]!r}: {exc}",
                engine=ENGINE_NAME,
            ) from exc
        if len(prepared) != 1:
            raise EngineError(
                f"gTTS {GTTS_VERSION} made {len(prepared)} requests for one "
                "piece; its protocol changed, report it",
                engine=ENGINE_NAME,
            )
        request = prepared[0]
        url = str(request.url)
        if self.base_url:
            parts = urlsplit(url)
            url = (
                self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
            )
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        return HttpRequest(
            str(request.method or "POST"),
            url,
            body,
            dict(request.headers),
            self.timeout_s if timeout_s is None else timeout_s,
        )

    def probe(self, timeout_s: float = 2.0) -> bool:
        """Say whether the endpoint answers one tiny request with audio.

        Used by ``--engine auto``; never raises and never retries.
        """
        try:
            response = self._transport(self.build_request("a", timeout_s))
            return response.status == 200 and _looks_like_mp3(
                extract_audio(response.body)
            )
        except Exception:  # a yes/no answer: any failure means "not available"
            log.debug("gtts probe failed", exc_info=True)
            return False

    # -- synthesis ---------------------------------------------------------

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        """Synthesize one section's utterances, one WAV Audio per utterance.

        Raises:
            EngineError: a piece failed after its retries, the endpoint refused
                it, or too many consecutive requests failed (circuit breaker).
        """
        title = section.title if section is not None else None
        plans = [split_pieces(text) for text in texts]
        jobs = [(i, j) for i, plan in enumerate(plans) for j in range(len(plan))]
        if self._breaker.tripped.is_set():
            raise self._breaker_error(title)
        pcm: dict[tuple[int, int], bytes] = {}
        if jobs:
            mp3s = self._fetch_all(plans, jobs, title)
            pcm = dict(zip(jobs, self._decode(mp3s, title), strict=True))
        audios = []
        for i, plan in enumerate(plans):
            if not plan:
                # Nothing speakable (empty or punctuation only): a short pause.
                silence = bytes(2 * (SAMPLE_RATE // 1000) * 2 * OUTER_KEEP_MS)
                audios.append(Audio.from_pcm(silence, SAMPLE_RATE))
                continue
            pieces = [pcm[(i, j)] for j in range(len(plan))]
            joined = join_pieces(pieces, [p.brk for p in plan])
            audios.append(Audio.from_pcm(joined, SAMPLE_RATE))
        return audios

    def _decode(self, mp3s: list[bytes], section: str | None) -> list[bytes]:
        """Decode a section's pieces in one ffmpeg run, else one by one.

        Raises:
            EngineError: a piece that looked like MP3 cannot be decoded.
        """
        try:
            return _decode_many(mp3s)
        except AudioError:
            log.info("gtts: batch decoding failed; decoding pieces one by one")
        pcms = []
        for data in mp3s:
            try:
                pcms.append(_decode_mp3(data))
            except AudioError as exc:
                raise EngineError(
                    f"undecodable audio ({exc}); {_HINT_PROTOCOL}",
                    engine=ENGINE_NAME,
                    section=section,
                    retryable=True,
                ) from exc
        return pcms

    def _fetch_all(
        self,
        plans: list[list[Piece]],
        jobs: list[tuple[int, int]],
        section: str | None,
    ) -> list[bytes]:
        """Fetch every piece's MP3, in job order, max_in_flight at a time."""
        cancel = threading.Event()
        # The engine-wide semaphore, not this pool, bounds requests in flight
        # when several sections run at once.
        workers = min(len(jobs), self.max_in_flight)
        executor = ThreadPoolExecutor(workers, thread_name_prefix="gtts")
        futures: list[Future[bytes]] = []
        failed = False
        try:
            for i, j in jobs:
                futures.append(
                    executor.submit(
                        self._fetch_piece, plans[i][j].text, section, cancel
                    )
                )
            wait(futures, return_when=FIRST_EXCEPTION)
            error = _first_error(futures)
            if error is not None:
                failed = True
                cancel.set()
                raise error
            return [future.result() for future in futures]
        finally:
            # On failure do not wait for stragglers: they see `cancel`, stop
            # before their next request, and end within one timeout.
            executor.shutdown(wait=not failed, cancel_futures=True)

    def _fetch_piece(
        self, text: str, section: str | None, cancel: threading.Event
    ) -> bytes:
        request = self.build_request(text)
        attempt = 0
        while True:
            attempt += 1
            self._check(cancel, section)
            failure, audio = self._attempt(request, cancel, section)
            if audio is not None:
                if _looks_like_mp3(audio):
                    self._breaker.success()
                    return audio
                failure = _Failure(
                    "HTTP 200 with audio that is not MP3", _HINT_PROTOCOL
                )
            if failure is None:  # pragma: no cover - _attempt returns one of both
                failure = _Failure("no reply", _HINT_PROTOCOL)
            if self._breaker.failure(failure):
                raise self._breaker_error(section)
            if not failure.retryable:
                raise EngineError(
                    f"{failure.cause} (not retried); {failure.hint}",
                    engine=ENGINE_NAME,
                    section=section,
                    retryable=False,
                )
            if attempt >= self.max_attempts:
                raise EngineError(
                    f"{failure.cause} after {attempt} attempts; {failure.hint}",
                    engine=ENGINE_NAME,
                    section=section,
                    retryable=True,
                )
            delay = self._delay(attempt, failure)
            log.info(
                "gtts: %s; retry %d/%d in %.2f s",
                failure.cause,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            self._wait(delay, cancel, section)

    def _attempt(
        self, request: HttpRequest, cancel: threading.Event, section: str | None
    ) -> tuple[_Failure | None, bytes | None]:
        """Send once under the engine-wide bound; return (failure, mp3)."""
        while not self._slots.acquire(timeout=0.05):
            self._check(cancel, section)
        try:
            self._check(cancel, section)
            response = self._transport(request)
        except TransportError as exc:
            return _Failure(str(exc), _HINT_NETWORK, True), None
        finally:
            self._slots.release()
        if response.status != 200:
            return _classify(response, self.tld), None
        try:
            return None, extract_audio(response.body)
        except _NoAudio as exc:
            return _Failure(str(exc), _HINT_PROTOCOL, True), None

    def _delay(self, attempt: int, failure: _Failure) -> float:
        if failure.retry_after_s is not None:
            return min(failure.retry_after_s, self.retry_after_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        with self._rng_lock:
            return self._rng.uniform(0.0, ceiling)  # full jitter

    def _wait(
        self, delay_s: float, cancel: threading.Event, section: str | None
    ) -> None:
        if self._sleep is not None:
            self._sleep(delay_s)
            self._check(cancel, section)
            return
        # Interruptible, so a failure elsewhere ends this call promptly.
        deadline = time.monotonic() + delay_s
        while (left := deadline - time.monotonic()) > 0:
            if cancel.wait(min(left, 0.05)) or self._breaker.tripped.is_set():
                break
        self._check(cancel, section)

    def _check(self, cancel: threading.Event, section: str | None) -> None:
        if self._breaker.tripped.is_set():
            raise self._breaker_error(section)
        if cancel.is_set():
            raise _Cancelled()

    def _breaker_error(self, section: str | None) -> EngineError:
        last = self._breaker.last
        cause = f" (last: {last.cause})" if last else ""
        hint = last.hint if last else _HINT_NETWORK
        return EngineError(
            f"stopped after {self._breaker.threshold} consecutive "
            f"failed requests{cause}; {hint}",
            engine=ENGINE_NAME,
            section=section,
            retryable=True,
        )


def _no_split(text: str) -> list[str]:
    return [text]


def _first_error(futures: list[Future[bytes]]) -> BaseException | None:
    """Return the first real error in submission order (cancellations last)."""
    cancelled: BaseException | None = None
    for future in futures:
        if not future.done() or future.cancelled():
            continue
        error = future.exception()
        if isinstance(error, _Cancelled):
            cancelled = cancelled or error
        elif error is not None:
            return error
    return cancelled


# --------------------------------------------------------------------------
# Factory


def _flag(options: Mapping[str, str], key: str, default: bool) -> bool:
    value = options.get(key)
    if value is None or value == "":
        return default
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"gtts option {key}={value!r} must be 0 or 1.")


def _number(
    options: Mapping[str, str], key: str, default: float, minimum: float
) -> float:
    value = options.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"gtts option {key}={value!r} is not a number.") from exc
    if not number >= minimum:
        raise ConfigError(f"gtts option {key}={value!r} must be at least {minimum:g}.")
    return number


_TLD = re.compile(r"[a-z]{2,3}(\.[a-z]{2,3})?")


def create(options: Mapping[str, str]) -> GoogleEngine:
    """Build the gTTS engine from string options.

    Keys: lang (fr), tld (fr; ca gives a Québec accent), slow (0/1), jobs
    (requests in flight, 4), timeout (s, 10), retries (after the first
    attempt, 7), base_url (a stand-in for https://translate.google.<tld>,
    also read from NARRATOR_GTTS_BASE_URL; for tests and benchmarks).

    Raises:
        ConfigError: an option value is invalid or the language unsupported.
    """
    lang = (options.get("lang") or "fr").strip()
    if lang not in tts_langs():
        raise ConfigError(
            f"gtts does not speak language {lang!r}; use a code like fr or fr-CA."
        )
    tld = (options.get("tld") or "fr").strip().lower().lstrip(".")
    if not _TLD.fullmatch(tld):
        raise ConfigError(f"gtts tld {tld!r} is not a domain suffix like fr or ca.")
    base_url = options.get("base_url") or os.environ.get("NARRATOR_GTTS_BASE_URL")
    return GoogleEngine(
        lang=lang,
        tld=tld,
        slow=_flag(options, "slow", False),
        base_url=base_url or None,
        max_in_flight=int(_number(options, "jobs", 4, 1)),
        timeout_s=_number(options, "timeout", 10.0, 0.1),
        max_attempts=int(_number(options, "retries", 7, 0)) + 1,
    )
