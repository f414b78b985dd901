"""A local stand-in for Microsoft Edge's speech service (its WebSocket protocol).

It speaks the protocol edge-tts speaks: a WebSocket upgrade on
``/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=...``
with ``&ConnectionId=...&Sec-MS-GEC=...&Sec-MS-GEC-Version=...``; then a
``speech.config`` text message and an ``ssml`` one from the client; then from
the server ``turn.start``, ``audio.metadata`` messages (WordBoundary events,
offsets and durations in 100 ns ticks), binary audio messages (a 2-byte
header length, ``Path:audio`` headers, MP3 bytes), an empty audio message and
``turn.end``.

The audio is real MP3 (24 kHz mono, 48 kbps CBR, no Xing header, like the
service's audio-24khz-48kbitrate-mono-mp3) made by the bundled ffmpeg: one
440 Hz burst per word of the SSML's text, as long as the word is long,
separated by silences, so a test can check each WordBoundary event against
the sound. It is sent at the service's pace: ``first_audio_s`` (150 ms)
after the SSML, then at ``speed`` (10x) real time.

Each connection takes the next scripted action (then ``default``), unless a
random failure (seeded) applies. Actions: "ok"; an HTTP status refusing the
upgrade ("500", "503", "429", "403"...), optionally followed by
"retry-after=<seconds>"; "close" (closes right after the SSML, no audio);
"throttle" (turn.start, then closes with 1013 Try Again Later); "truncate"
(half the audio, then closes without turn.end); "garbage" (a malformed
frame after turn.start); "stall" (says nothing until the client leaves);
"stall-mid" (some audio, then nothing); "reset" (drops the TCP connection
after the upgrade). With ``clock_skew_s`` set, the fake checks the Sec-MS-GEC
token against its own clock and refuses a wrong one with a 403 carrying its
Date, as the service does. Shared by the tests and ``scripts/bench_edge.py``.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import unescape

import numpy as np
from edge_tts.constants import TRUSTED_CLIENT_TOKEN
from edge_tts.drm import generate_sec_ms_gec_v2
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from narrator.ffmpeg import ffmpeg_exe

PATH = "/consumer/speech/synthesize/readaloud/edge/v1"
SAMPLE_RATE = 24_000
BYTES_PER_S = 48_000 // 8  # 48 kbps CBR
LEAD_MS = 100
GAP_MS = 90
TRAIL_MS = 400
TONE_HZ = 440
CHUNK_BYTES = 1_440  # 240 ms of audio per binary message
TICKS_PER_MS = 10_000

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def word_ms(word: str) -> int:
    """How long the burst for ``word`` lasts: grows with its length."""
    return min(700, max(120, 60 * len(word)))


@dataclass(frozen=True)
class Speech:
    """The fake's answer to one text: MP3 bytes and (offset, duration, word) ticks."""

    mp3: bytes
    words: tuple[tuple[int, int, str], ...]
    duration_ms: int


@functools.cache
def speech_for(text: str) -> Speech:
    """Make the MP3 and the word timeline for ``text`` (cached per text)."""
    words = _WORD.findall(text)
    per_ms = SAMPLE_RATE // 1000
    parts: list[np.ndarray] = [np.zeros(LEAD_MS * per_ms, dtype=np.float64)]
    timeline = []
    position = LEAD_MS
    for index, word in enumerate(words):
        if index:
            parts.append(np.zeros(GAP_MS * per_ms))
            position += GAP_MS
        length = word_ms(word)
        t = np.arange(length * per_ms) / SAMPLE_RATE
        burst = 0.4 * np.sin(2 * np.pi * TONE_HZ * t)
        fade = min(len(burst) // 2, 5 * per_ms)
        ramp = np.linspace(0.0, 1.0, fade)
        burst[:fade] *= ramp
        burst[len(burst) - fade :] *= ramp[::-1]
        parts.append(burst)
        timeline.append((position * TICKS_PER_MS, length * TICKS_PER_MS, word))
        position += length
    parts.append(np.zeros(TRAIL_MS * per_ms))
    pcm = (np.concatenate(parts) * 32767).astype("<i2").tobytes()
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        str(SAMPLE_RATE),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "48k",
        "-write_xing",
        "0",
        "-id3v2_version",
        "0",
        "-f",
        "mp3",
        "pipe:1",
    ]
    done = subprocess.run(command, input=pcm, capture_output=True, check=True)
    return Speech(done.stdout, tuple(timeline), position + TRAIL_MS)


@dataclass(frozen=True)
class Seen:
    """One connection as the fake saw it (text and voice once the SSML came)."""

    action: str
    path: str
    query: dict[str, str]
    text: str = ""
    voice: str = ""
    rate: str = ""
    pitch: str = ""
    word_boundary: bool = False


def _text_message(path: str, request_id: str, body: str) -> str:
    return (
        f"X-RequestId:{request_id}\r\n"
        "Content-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n{body}"
    )


def _audio_message(request_id: str, data: bytes) -> bytes:
    content = "Content-Type:audio/mpeg\r\n" if data else ""
    header = (
        f"X-RequestId:{request_id}\r\n{content}"
        f"X-StreamId:{request_id[:8]}\r\nPath:audio\r\n"
    ).encode("ascii")
    return len(header).to_bytes(2, "big") + header + data


def _metadata(word: tuple[int, int, str]) -> str:
    offset, duration, text = word
    return (
        '{"Metadata":[{"Type":"WordBoundary","Data":{'
        f'"Offset":{offset},"Duration":{duration},'
        f'"text":{{"Text":"{text}","Length":{len(text)},'
        '"BoundaryType":"WordBoundary"}}}]}'
    )


def _parse_ssml(message: str) -> tuple[str, str, str, str]:
    """Return (text, voice, rate, pitch) from an ``ssml`` message."""
    _, _, ssml = message.partition("\r\n\r\n")
    voice = re.search(r"<voice name='([^']*)'>", ssml)
    prosody = re.search(
        r"<prosody pitch='([^']*)' rate='([^']*)'[^>]*>(.*)</prosody>", ssml, re.S
    )
    if voice is None or prosody is None:
        raise ValueError("not an edge-tts SSML message")
    return (
        unescape(prosody.group(3)),
        voice.group(1),
        prosody.group(2),
        prosody.group(1),
    )


class FakeEdge:
    """A scripted Edge speech WebSocket server on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        *,
        default: str = "ok",
        first_audio_s: float = 0.15,
        speed: float = 10.0,
        failure_rate: float = 0.0,
        failure_kinds: Iterable[str] = ("500", "429", "close", "truncate"),
        seed: int = 0,
        clock_skew_s: float | None = None,
    ):
        self.default = default
        self.first_audio_s = first_audio_s
        self.speed = speed
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self.clock_skew_s = clock_skew_s
        self.seen: list[Seen] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._script: deque[str] = deque()
        self._actions: dict[int, tuple[str, dict[str, str]]] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    # -- control ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL to give NARRATOR_EDGE_URL (the client appends its own query)."""
        return f"ws://127.0.0.1:{self.port}{PATH}?TrustedClientToken={TRUSTED_CLIENT_TOKEN}"

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [s.text for s in self.seen if s.text]

    def script(self, *actions: str) -> None:
        """Queue actions for the next connections, in order."""
        with self._lock:
            self._script.extend(actions)

    def prepare(self, texts: Iterable[str]) -> None:
        """Make the audio for ``texts`` now, so answering them takes no time."""
        for text in texts:
            speech_for(text)

    def start(self) -> FakeEdge:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Edge server did not start")
        return self

    def close(self) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set_result, None)
        self._thread.join(10)

    def __enter__(self) -> FakeEdge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the server -----------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            max_size=None,
            ping_interval=None,
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop

    def _next_action(self) -> str:
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self.failure_rate and self._rng.random() < self.failure_rate:
                return self._rng.choice(self.failure_kinds)
            return self.default

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.clock_skew_s is not None:
            now = time.time() + self.clock_skew_s
            if query.get("Sec-MS-GEC") != generate_sec_ms_gec_v2(now):
                self._record(Seen("403 token", parts.path, query))
                response = connection.respond(403, "bad token\n")
                del response.headers["Date"]
                response.headers["Date"] = formatdate(now, usegmt=True)
                return response
        action = self._next_action()
        kind, *extra = action.split()
        if (
            parts.path != PATH
            or query.get("TrustedClientToken") != TRUSTED_CLIENT_TOKEN
        ):
            self._record(Seen("404", parts.path, query))
            return connection.respond(404, "not found\n")
        if kind.isdigit():
            self._record(Seen(action, parts.path, query))
            response = connection.respond(int(kind), "error\n")
            for item in extra:
                name, _, value = item.partition("=")
                response.headers[name] = value
            return response
        with self._lock:
            self._actions[id(connection)] = (action, query)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            action, query = self._actions.pop(id(ws), (self.default, {}))
        try:
            await self._answer(ws, action, query)
        except Exception:  # the client went away: nothing left to answer
            pass
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(
        self, ws: ServerConnection, action: str, query: dict[str, str]
    ) -> None:
        path = urlsplit(ws.request.path if ws.request else "").path
        if action == "reset":
            ws.transport.abort()
            self._record(Seen(action, path, query))
            return
        config = await ws.recv()
        ssml = await ws.recv()
        if not isinstance(config, str) or "Path:speech.config" not in config:
            raise ValueError("expected speech.config first")
        if not isinstance(ssml, str) or "Path:ssml" not in ssml:
            raise ValueError("expected ssml second")
        text, voice, rate, pitch = _parse_ssml(ssml)
        word_boundary = '"wordBoundaryEnabled":"true"' in config
        self._record(Seen(action, path, query, text, voice, rate, pitch, word_boundary))
        request_id = uuid.uuid4().hex
        if action == "close":
            await ws.close()
            return
        if action == "stall":
            await ws.wait_closed()
            return
        speech = speech_for(text)
        await asyncio.sleep(self.first_audio_s)
        await ws.send(_text_message("turn.start", request_id, '{"context":{}}'))
        if action == "throttle":
            await ws.close(1013, "try again later")
            return
        if action == "garbage":
            with self._lock:
                junk = bytes(self._rng.randrange(256) for _ in range(64))
            await ws.send(junk if junk[0] % 2 else "Path-less garbage")
            await ws.wait_closed()
            return
        data = speech.mp3
        if action in ("truncate", "stall-mid"):
            data = data[: len(data) // 2]
        words = list(speech.words) if word_boundary else []
        sent = 0
        for start in range(0, len(data), CHUNK_BYTES):
            chunk = data[start : start + CHUNK_BYTES]
            sent += len(chunk)
            until_ticks = sent * 1000 * TICKS_PER_MS // BYTES_PER_S
            while words and words[0][0] < until_ticks:
                await ws.send(
                    _text_message("audio.metadata", request_id, _metadata(words.pop(0)))
                )
            await ws.send(_audio_message(request_id, chunk))
            await asyncio.sleep(len(chunk) / BYTES_PER_S / self.speed)
        if action == "truncate":
            await ws.close()
            return
        if action == "stall-mid":
            await ws.wait_closed()
            return
        for word in words:
            await ws.send(_text_message("audio.metadata", request_id, _metadata(word)))
        await ws.send(_audio_message(request_id, b""))
        await ws.send(_text_message("turn.end", request_id, "{}"))
        await ws.wait_closed()
