"""The Edge engine: Microsoft Edge's online neural voices, through edge-tts.

edge-tts sends one request at a time, with no retry and no overall timeout.
This engine keeps edge-tts's own client (``Communicate``), so a protocol change
followed by edge-tts shows up here, and owns everything around it: it splits
text at sentence, clause and word boundaries, runs several requests at once on
one event loop bounded engine-wide, retries with backoff and jitter, stops on a
run of failures, then decodes the MP3 and joins the pieces with natural pauses,
keeping each word's timing. One request under narrator's deadlines (connection,
first audio, whole piece), what its failures mean, and the replacement of the
service's URL (``NARRATOR_EDGE_URL``) are ``edge_service``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import edge_tts
import edge_tts.exceptions as edge_errors
from edge_tts.version import __version__ as EDGE_TTS_VERSION

from narrator.engines.base import SectionRef
from narrator.engines.edge_service import (
    HINT_NETWORK,
    HINT_PROTOCOL,
    Fetched,
    check_url,
    classify,
    communicate_class,
    fetch,
    first_audio,
)
from narrator.engines.join import (
    OUTER_KEEP_MS,
    decode_mp3s,
    join_pieces_placed,
    looks_like_mp3,
)
from narrator.engines.retry import Breaker, Failure, backoff_s, breaker_error, give_up
from narrator.errors import AudioError, EngineError, InputError
from narrator.model import Audio, WordTiming
from narrator.speech.pieces import Piece, split_pieces

__all__ = [
    "DEFAULT_VOICE",
    "PROFILE",
    "EdgeEngine",
    "create",
    "join_timed",
    "parse_rate",
]

log = logging.getLogger(__name__)

ENGINE_NAME = "edge"
PROFILE = "gtts"  # a neural voice reads numbers and acronyms like gTTS
DEFAULT_VOICE = "fr-FR-DeniseNeural"
SAMPLE_RATE = 24_000  # audio-24khz-48kbitrate-mono-mp3
OUTPUT_FORMAT = "audio-24khz-48kbitrate-mono-mp3"
# edge-tts cuts at 4096 bytes of escaped SSML text on its own; 800 characters
# stay below that even when every one is escaped ("&" -> "&amp;"), so each
# piece is one request with one WordBoundary timeline, and shorter pieces let
# one long utterance use several connections at once.
MAX_PIECE_CHARS = 800
# Bump when splitting, trimming or gaps change: it is part of identity().
ASSEMBLY_VERSION = "1"
RATE_RANGE = (-50, 100)
TICKS_PER_MS = 10_000  # the service counts in 100 ns ticks
# The service's MP3 has no gapless header, so decoding keeps the encoder's
# delay (576 samples at 24 kHz) and the decoder's (529): dropping them puts
# the audio back on the timeline of its WordBoundary offsets.
MP3_DELAY_SAMPLES = 576 + 529

_VOICE = re.compile(r"fr-[A-Z]{2}-[A-Z][A-Za-z]*Neural")
_RATE = re.compile(r"([+-]?)(\d{1,3})%?")
_PITCH = re.compile(r"[+-]\d{1,3}Hz")

T = TypeVar("T")


# -- options -------------------------------------------------------------------


def parse_rate(value: str) -> str:
    """Turn "+10%", "-5%", "10" or "-5" into edge-tts's rate string ("+10%").

    Raises:
        InputError: not a whole percentage, or outside -50..+100.
    """
    found = _RATE.fullmatch(value.strip())
    if found is None:
        raise InputError(
            f"edge: rate {value!r} is not a percentage; use e.g. +10%, -5% or 10."
        )
    number = int(found.group(2)) * (-1 if found.group(1) == "-" else 1)
    low, high = RATE_RANGE
    if not low <= number <= high:
        raise InputError(
            f"edge: rate {value!r} is out of range; use {low}% to +{high}%."
        )
    return f"{number:+d}%"


def check_voice(voice: str) -> str:
    """Return ``voice`` if it names a French Edge voice (fr-XX-NameNeural).

    Raises:
        InputError: any other name.
    """
    if not _VOICE.fullmatch(voice):
        raise InputError(
            f"edge: voice {voice!r} is not a French Edge voice; use a name like "
            f"{DEFAULT_VOICE}, fr-FR-HenriNeural or fr-CA-SylvieNeural."
        )
    return voice


# -- joining pieces, with their words ------------------------------------------


def join_timed(
    pcms: Sequence[bytes],
    breaks: Sequence[str],
    words: Sequence[Sequence[tuple[int, int, str]]],
) -> tuple[bytes, tuple[WordTiming, ...]]:
    """Join one utterance's pieces and move their words onto the joined audio.

    Each piece loses the service's padding: OUTER_KEEP_MS of silence stays at
    the utterance's edges, INNER_KEEP_MS at inner edges, and a pause chosen by
    the kind of break (GAP_MS) goes between pieces. ``words[k]`` holds piece
    k's WordBoundary events in ticks from the start of that piece's audio;
    they come back in ms from the start of the joined audio, clamped to the
    audio kept from their piece. ``pcms`` are decoded as ffmpeg gives them,
    codec delay included (MP3_DELAY_SAMPLES).
    """
    delay = MP3_DELAY_SAMPLES * 2  # bytes of 16-bit mono
    joined, placed = join_pieces_placed(
        [pcm[delay:] for pcm in pcms], breaks, SAMPLE_RATE
    )
    per_ms = SAMPLE_RATE // 1000
    timings: list[WordTiming] = []
    for index, (start, end, base) in enumerate(placed):
        base_ms, start_ms = base / per_ms, start / per_ms
        kept_ms = (end - start) / per_ms
        for offset, duration, text in words[index] if index < len(words) else ():
            begin = min(max(offset / TICKS_PER_MS - start_ms, 0.0), kept_ms)
            finish = min(
                max((offset + duration) / TICKS_PER_MS - start_ms, begin), kept_ms
            )
            timings.append(
                WordTiming(round(base_ms + begin), round(base_ms + finish), text)
            )
    return joined, tuple(timings)


# -- the engine ----------------------------------------------------------------


class EdgeEngine:
    """Edge's neural voices (via edge-tts) with retries, timeouts and concurrency.

    Thread-safe: the pipeline may synthesize several sections at once. Every
    request runs on one event loop owned by the engine (a daemon thread
    started on first use), so the in-flight bound and the circuit breaker are
    shared by all calls; MP3 decoding runs in the calling thread.
    """

    name = ENGINE_NAME
    local = False
    profile = PROFILE

    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        rate: str = "+0%",
        pitch: str = "+0Hz",
        *,
        url: str | None = None,
        max_in_flight: int = 8,
        connect_timeout_s: float = 10.0,
        first_audio_timeout_s: float = 10.0,
        piece_timeout_s: float = 60.0,
        # As for gTTS: with 30 % of requests failing, 8 attempts let an
        # 80-piece episode through with probability > 99 %.
        max_attempts: int = 8,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        retry_after_max_s: float = 30.0,
        breaker_threshold: int = 10,
        max_piece_chars: int = MAX_PIECE_CHARS,
        rng: random.Random | None = None,
    ):
        if max_in_flight < 1 or max_attempts < 1 or breaker_threshold < 1:
            raise ValueError("max_in_flight, max_attempts and breaker_threshold >= 1")
        if min(connect_timeout_s, first_audio_timeout_s, piece_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        if not 1 <= max_piece_chars <= MAX_PIECE_CHARS:
            raise ValueError(f"max_piece_chars must be in 1..{MAX_PIECE_CHARS}")
        self.voice = check_voice(voice)
        self.rate = parse_rate(rate)
        if not _PITCH.fullmatch(pitch):
            raise InputError(f"edge: pitch {pitch!r} must look like +0Hz or -10Hz.")
        self.pitch = pitch
        self.url = check_url(url) if url else None
        host = urlsplit(self.url).hostname if self.url else None
        self.host: str = host or "speech.platform.bing.com"
        self.max_in_flight = max_in_flight
        self.connect_timeout_s = connect_timeout_s
        self.first_audio_timeout_s = first_audio_timeout_s
        self.piece_timeout_s = piece_timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_max_s = retry_after_max_s
        self.max_piece_chars = max_piece_chars
        self._communicate = communicate_class(self.url)
        self._rng = rng or random.Random()
        self._breaker = Breaker(breaker_threshold)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self.requests = 0  # attempts made (for tests and benchmarks)

    def identity(self) -> Mapping[str, str]:
        """Return what changes the sound (not the URL: a proxy does not)."""
        return {
            "engine": ENGINE_NAME,
            "version": EDGE_TTS_VERSION,
            "voice": self.voice,
            "rate": self.rate,
            "pitch": self.pitch,
            "format": OUTPUT_FORMAT,
            "assembly": ASSEMBLY_VERSION,
        }

    # -- the event loop -----------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the engine's loop and wait for it in this thread."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="narrator-edge", daemon=True
                )
                thread.start()
                self._loop = loop
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout_s)
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Stop the engine's event loop (optional: it is a daemon thread)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)

    # -- one request ----------------------------------------------------------

    def _new_communicate(self, text: str) -> edge_tts.Communicate:
        return self._communicate(
            text,
            self.voice,
            rate=self.rate,
            pitch=self.pitch,
            boundary="WordBoundary",
            connect_timeout=max(1, math.ceil(self.connect_timeout_s)),
            receive_timeout=max(1, math.ceil(self.first_audio_timeout_s)),
        )

    async def _attempt(
        self, text: str, section: str | None
    ) -> tuple[Failure | None, Fetched | None]:
        """Send once under the engine-wide bound; return (failure, result)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        async with self._slots:
            if self._breaker.tripped.is_set():
                raise self._breaker_error(section)
            self.requests += 1
            try:
                fetched = await fetch(
                    self._new_communicate(text),
                    self.first_audio_timeout_s,
                    self.piece_timeout_s,
                )
                if not looks_like_mp3(fetched.mp3):
                    raise edge_errors.UnexpectedResponse("the audio is not MP3")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classified: every failure is reported
                log.debug("edge request failed", exc_info=True)
                return classify(exc, self.host), None
        return None, fetched

    async def _fetch_piece(self, text: str, section: str | None) -> Fetched:
        attempt = 0
        while True:
            attempt += 1
            if self._breaker.tripped.is_set():
                raise self._breaker_error(section)
            failure, fetched = await self._attempt(text, section)
            if fetched is not None:
                self._breaker.success()
                return fetched
            assert failure is not None
            error = give_up(
                failure,
                attempt,
                self.max_attempts,
                self._breaker,
                engine=ENGINE_NAME,
                section=section,
                default_hint=HINT_NETWORK,
            )
            if error is not None:
                raise error
            delay = self._delay(attempt, failure)
            log.info(
                "edge: %s; retry %d/%d in %.2f s",
                failure.cause,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            await self._sleep(delay, section)

    async def _sleep(self, delay_s: float, section: str | None) -> None:
        """Wait before a retry, ending early when the breaker trips."""
        deadline = time.monotonic() + delay_s
        while (left := deadline - time.monotonic()) > 0:
            if self._breaker.tripped.is_set():
                raise self._breaker_error(section)
            await asyncio.sleep(min(left, 0.05))

    def _delay(self, attempt: int, failure: Failure) -> float:
        return backoff_s(  # the rng is used on the loop thread only
            attempt,
            failure,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            retry_after_max_s=self.retry_after_max_s,
            uniform=self._rng.uniform,
        )

    def _breaker_error(self, section: str | None) -> EngineError:
        return breaker_error(self._breaker, ENGINE_NAME, section, HINT_NETWORK)

    async def _fetch_all(
        self, texts: Sequence[str], section: str | None
    ) -> list[Fetched]:
        """Fetch every piece, in order; on the first failure cancel the rest."""
        tasks = [
            asyncio.ensure_future(self._fetch_piece(text, section)) for text in texts
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            # Reached on failure, or when this call itself is cancelled.
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:  # the first real error in submission order
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error
        return [task.result() for task in tasks]

    # -- the contract -------------------------------------------------------

    def probe(self, timeout_s: float = 3.0) -> bool:
        """Say whether the service sends audio for a word within ``timeout_s``.

        Used by ``--engine auto``; never raises, never retries, and counts
        nothing towards the circuit breaker.
        """

        async def bounded() -> bool:
            async with asyncio.timeout(timeout_s):
                audio = await first_audio(self._new_communicate("Bonjour."))
                return looks_like_mp3(audio)

        try:
            return self._run(bounded(), timeout_s + 1.0)
        except Exception:  # a yes/no answer: any failure means "not available"
            log.debug("edge probe failed", exc_info=True)
            return False

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        """Synthesize one section's utterances, one WAV Audio (with words) each.

        Raises:
            EngineError: a piece failed after its retries, the service refused
                it, or too many consecutive requests failed (circuit breaker).
        """
        title = section.title if section is not None else None
        if self._breaker.tripped.is_set():
            raise self._breaker_error(title)
        plans: list[list[Piece]] = [
            split_pieces(text, self.max_piece_chars) for text in texts
        ]
        flat = [piece.text for plan in plans for piece in plan]
        fetched = self._run(self._fetch_all(flat, title)) if flat else []
        pcms = self._decode([f.mp3 for f in fetched], title)
        audios: list[Audio] = []
        position = 0
        for plan in plans:
            if not plan:
                # Nothing speakable (empty or punctuation only): a short pause.
                silence = bytes(2 * (SAMPLE_RATE // 1000) * 2 * OUTER_KEEP_MS)
                audios.append(Audio.from_pcm(silence, SAMPLE_RATE))
                continue
            span = range(position, position + len(plan))
            position += len(plan)
            pcm, words = join_timed(
                [pcms[k] for k in span],
                [p.brk for p in plan],
                [fetched[k].words for k in span],
            )
            audios.append(Audio.from_pcm(pcm, SAMPLE_RATE, words=words))
        return audios

    def _decode(self, mp3s: list[bytes], section: str | None) -> list[bytes]:
        """Decode a section's pieces (one ffmpeg run, else one by one).

        Raises:
            EngineError: a piece that looked like MP3 cannot be decoded.
        """
        try:
            return decode_mp3s(mp3s, SAMPLE_RATE)
        except AudioError as exc:
            raise EngineError(
                f"undecodable audio ({exc}); {HINT_PROTOCOL}",
                engine=ENGINE_NAME,
                section=section,
                retryable=True,
            ) from exc


# -- factory -------------------------------------------------------------------


def _number(
    options: Mapping[str, str], key: str, default: float, minimum: float
) -> float:
    value = options.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise InputError(f"edge option {key}={value!r} is not a number.") from exc
    if not number >= minimum:
        raise InputError(f"edge option {key}={value!r} must be at least {minimum:g}.")
    return number


def create(options: Mapping[str, str]) -> EdgeEngine:
    """Build the Edge engine from string options.

    Keys: voice (fr-FR-DeniseNeural), rate (percent: +10%, -5, ...; -50..+100),
    pitch (+0Hz), jobs (requests in flight, 8), timeout (s, for the connection
    and the first audio, 10), retries (after the first attempt, 7), url (the
    service's WebSocket URL, also read from NARRATOR_EDGE_URL).

    Raises:
        InputError: an option value is invalid.
        EngineUnavailable: NARRATOR_EDGE_URL cannot be applied to this edge-tts.
    """
    timeout = _number(options, "timeout", 10.0, 0.1)
    return EdgeEngine(
        voice=(options.get("voice") or DEFAULT_VOICE).strip(),
        rate=options.get("rate") or "+0%",
        pitch=(options.get("pitch") or "+0Hz").strip(),
        url=options.get("url") or None,
        max_in_flight=int(_number(options, "jobs", 8, 1)),
        connect_timeout_s=timeout,
        first_audio_timeout_s=timeout,
        max_attempts=int(_number(options, "retries", 7, 0)) + 1,
    )
