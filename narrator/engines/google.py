"""The gTTS engine: Google Translate's speech endpoint, made dependable.

gTTS alone sends one request at a time, has no retry and no default timeout,
cuts text wherever its 100-character limit falls and glues MP3 parts together.
This engine keeps gTTS's own request format and reply parsing (so a change in
Google's protocol, followed by gTTS, shows up here) but owns everything around
them: it splits text at sentence, clause and word boundaries, sends requests
through a ``transport`` seam with a timeout, retries with backoff and jitter,
bounds the requests in flight engine-wide, stops on a run of failures, and
decodes each piece to PCM before joining pieces with natural pauses. The
transport, the reply's audio and what a failure means are ``google_service``.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from urllib.parse import urlsplit

from gtts import gTTS
from gtts.lang import tts_langs
from gtts.version import __version__ as GTTS_VERSION

from narrator.engines.base import SectionRef
from narrator.engines.google_service import (
    HINT_NETWORK,
    HINT_PROTOCOL,
    HttpRequest,
    NoAudio,
    RequestsTransport,
    Transport,
    TransportError,
    classify,
    extract_audio,
)
from narrator.engines.join import (
    OUTER_KEEP_MS,
    decode_mp3s,
    join_pieces,
    looks_like_mp3,
)
from narrator.engines.retry import Breaker, Failure, backoff_s, breaker_error, give_up
from narrator.errors import AudioError, ConfigError, EngineError
from narrator.model import Audio
from narrator.speech.pieces import Piece
from narrator.speech.pieces import split_pieces as split_text

__all__ = [
    "PROFILE",
    "GoogleEngine",
    "Piece",
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


def split_pieces(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[Piece]:
    """Cut ``text`` into pieces Google accepts (see ``speech.pieces.split_pieces``)."""
    return split_text(text, max_chars)


class _Cancelled(Exception):
    """The call already failed elsewhere; stop quietly."""


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
        self._breaker = Breaker(breaker_threshold)

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
            return response.status == 200 and looks_like_mp3(
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
            joined = join_pieces(pieces, [p.brk for p in plan], SAMPLE_RATE)
            audios.append(Audio.from_pcm(joined, SAMPLE_RATE))
        return audios

    def _decode(self, mp3s: list[bytes], section: str | None) -> list[bytes]:
        """Decode a section's pieces (one ffmpeg run, else one by one).

        Raises:
            EngineError: a piece that looked like MP3 cannot be decoded.
        """
        try:
            pcms = decode_mp3s(mp3s, SAMPLE_RATE)
        except AudioError as exc:
            raise EngineError(
                f"undecodable audio ({exc}); {HINT_PROTOCOL}",
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
                if looks_like_mp3(audio):
                    self._breaker.success()
                    return audio
                failure = Failure("HTTP 200 with audio that is not MP3", HINT_PROTOCOL)
            if failure is None:  # pragma: no cover - _attempt returns one of both
                failure = Failure("no reply", HINT_PROTOCOL)
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
                "gtts: %s; retry %d/%d in %.2f s",
                failure.cause,
                attempt,
                self.max_attempts - 1,
                delay,
            )
            self._wait(delay, cancel, section)

    def _attempt(
        self, request: HttpRequest, cancel: threading.Event, section: str | None
    ) -> tuple[Failure | None, bytes | None]:
        """Send once under the engine-wide bound; return (failure, mp3)."""
        while not self._slots.acquire(timeout=0.05):
            self._check(cancel, section)
        try:
            self._check(cancel, section)
            response = self._transport(request)
        except TransportError as exc:
            return Failure(str(exc), HINT_NETWORK, True), None
        finally:
            self._slots.release()
        if response.status != 200:
            return classify(response, self.tld), None
        try:
            return None, extract_audio(response.body)
        except NoAudio as exc:
            return Failure(str(exc), HINT_PROTOCOL, True), None

    def _delay(self, attempt: int, failure: Failure) -> float:
        with self._rng_lock:
            return backoff_s(
                attempt,
                failure,
                base_s=self.backoff_base_s,
                max_s=self.backoff_max_s,
                retry_after_max_s=self.retry_after_max_s,
                uniform=self._rng.uniform,
            )

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
        return breaker_error(self._breaker, ENGINE_NAME, section, HINT_NETWORK)


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
    base_url = options.get("base_url")
    return GoogleEngine(
        lang=lang,
        tld=tld,
        slow=_flag(options, "slow", False),
        base_url=base_url or None,
        max_in_flight=int(_number(options, "jobs", 4, 1)),
        timeout_s=_number(options, "timeout", 10.0, 0.1),
        max_attempts=int(_number(options, "retries", 7, 0)) + 1,
    )
