"""A local stand-in for Google Translate's speech endpoint (batchexecute).

It speaks the protocol gTTS speaks: a form-encoded ``f.req`` POSTed to
``/_/TranslateWebserverUi/data/batchexecute``, answered with a ``)]}'``
envelope whose ``jQ1olc`` line carries base64 MP3. The MP3 is a real tone,
made once per length by the bundled ffmpeg, lasting ``tone_ms(text)`` between
fixed silences, so joins and trims can be measured.

Each request takes the next scripted action (then ``default``), unless a
random failure (seeded) or fixed latency applies. It records what it saw and
the largest number of requests it was answering at once. Shared by the tests
and ``scripts/bench_gtts.py``.

Actions: "ok"; an HTTP status such as "429", "500", "503", "403", optionally
followed by "retry-after=<value>" (seconds, or an HTTP date with "_" for
spaces); "slow" (sleeps
``slow_s`` before answering); "reset" (closes the socket with a TCP RST);
"no-audio" (a 200 whose jQ1olc line has no audio); "garbage" (random bytes);
"not-mp3" (a well-formed reply whose audio is not MP3).
"""

from __future__ import annotations

import base64
import functools
import json
import random
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from narrator.ffmpeg import ffmpeg_exe

PATH = "/_/TranslateWebserverUi/data/batchexecute"
LEAD_SILENCE_MS = 150
TRAIL_SILENCE_MS = 250
TONE_HZ = 440


def tone_ms(text: str) -> int:
    """Return how long the tone for ``text`` lasts: grows with its length."""
    return 200 + 100 * round(len(text) * 0.4)


@functools.cache
def tone_mp3(duration_ms: int) -> bytes:
    """Encode a 24 kHz mono MP3: silence, a tone of ``duration_ms``, silence."""
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={TONE_HZ}:sample_rate=24000:duration={duration_ms / 1000}",
        "-af",
        f"adelay=delays={LEAD_SILENCE_MS}:all=1,apad=pad_dur={TRAIL_SILENCE_MS / 1000}",
        "-ac",
        "1",
        "-ar",
        "24000",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "32k",
        "-f",
        "mp3",
        "pipe:1",
    ]
    done = subprocess.run(command, capture_output=True, check=True, timeout=60)
    return done.stdout


def google_reply(audio: bytes | None) -> bytes:
    """Build a reply shaped like Google's, with or without audio."""
    if audio is None:
        payload = [["wrb.fr", "jQ1olc", None, None, None, [3], "generic"]]
    else:
        inner = json.dumps([base64.b64encode(audio).decode("ascii")])
        payload = [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"]]
    payload += [["di", 42], ["af.httprm", 41, "-4711", 7]]
    line = json.dumps(payload, separators=(",", ":"))
    tail = f'[["e",4,null,null,{len(line) + 30}]]'
    return f")]}}'\n\n{len(line)}\n{line}\n{len(tail)}\n{tail}\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # close() does not wait for a "slow" answer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # connections dropped on purpose ("reset", timeouts) are expected


@dataclass(frozen=True)
class Seen:
    """One request as the fake saw it."""

    text: str
    lang: str
    slow: bool
    path: str
    host: str
    content_type: str
    action: str


class FakeGoogle:
    """A scripted batchexecute server on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        *,
        default: str = "ok",
        latency_s: float = 0.0,
        failure_rate: float = 0.0,
        failure_kinds: Iterable[str] = ("429", "503", "reset"),
        seed: int = 0,
        slow_s: float = 1.0,
    ):
        self.default = default
        self.latency_s = latency_s
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self.slow_s = slow_s
        self.seen: list[Seen] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._script: deque[str] = deque()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def texts(self) -> list[str]:
        with self._lock:
            return [s.text for s in self.seen]

    def script(self, *actions: str) -> None:
        """Queue actions for the next requests, in order."""
        with self._lock:
            self._script.extend(actions)

    def prepare(self, texts: Iterable[str]) -> None:
        """Make the audio for ``texts`` now, so answering them takes no time."""
        for text in texts:
            tone_mp3(tone_ms(text))

    def start(self) -> FakeGoogle:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Called by the handler.
    def _next_action(self) -> str:
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self.failure_rate and self._rng.random() < self.failure_rate:
                return self._rng.choice(self.failure_kinds)
            return self.default

    def _garbage(self) -> bytes:
        with self._lock:
            return bytes(self._rng.randrange(256) for _ in range(300))

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _parse_freq(body: bytes) -> tuple[str, str, bool]:
    """Return (text, lang, slow) from a gTTS ``f.req`` form body."""
    form = urllib.parse.parse_qs(body.decode("utf-8"))
    rpc = json.loads(form["f.req"][0])
    rpc_id, parameter = rpc[0][0][0], rpc[0][0][1]
    if rpc_id != "jQ1olc":
        raise ValueError(f"unknown rpc {rpc_id!r}")
    text, lang, speed = json.loads(parameter)[:3]
    return str(text), str(lang), bool(speed)


def _handler_for(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            fake._enter()
            self._counted = True
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer
            finally:
                self._done()

        def _done(self) -> None:
            # Stop counting before the client can see the answer, or its next
            # request could arrive while this one still counts as in flight.
            if self._counted:
                self._counted = False
                fake._leave()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = self.path.split("?")[0]
            try:
                text, lang, slow = _parse_freq(body)
            except (KeyError, IndexError, ValueError, TypeError):
                self._send(400, b"bad f.req")
                return
            action = fake._next_action()
            fake._record(
                Seen(
                    text,
                    lang,
                    slow,
                    path,
                    self.headers.get("Host", ""),
                    self.headers.get("Content-Type", ""),
                    action,
                )
            )
            if path != PATH:
                self._send(404, b"not found")
                return
            if fake.latency_s:
                time.sleep(fake.latency_s)
            kind, *extra = action.split()
            if kind == "ok":
                self._send(200, google_reply(tone_mp3(tone_ms(text))))
            elif kind == "slow":
                time.sleep(fake.slow_s)
                self._send(200, google_reply(tone_mp3(tone_ms(text))))
            elif kind == "reset":
                # SO_LINGER with a zero timeout makes close() send a TCP RST.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self._done()
                self.connection.close()
                self.close_connection = True
            elif kind == "no-audio":
                self._send(200, google_reply(None))
            elif kind == "garbage":
                self._send(200, fake._garbage())
            elif kind == "not-mp3":
                self._send(200, google_reply(b"<html>" + fake._garbage()))
            elif kind.isdigit():
                headers = {}
                for item in extra:
                    name, _, value = item.partition("=")
                    headers[name] = value.replace("_", " ")
                self._send(int(kind), b"error", headers)
            else:
                raise ValueError(f"unknown fake action {action!r}")

        def _send(
            self, status: int, body: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self._done()
            self.end_headers()
            self.wfile.write(body)

    return Handler
