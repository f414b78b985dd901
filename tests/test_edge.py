"""Tests of the Edge engine against a local fake of the service (no network).

edge-tts's own client runs unchanged; only its WebSocket URL points at the
fake on 127.0.0.1 (NARRATOR_EDGE_URL / ``url``).
"""

from __future__ import annotations

import io
import socket
import threading
import wave
from array import array

import aiohttp
import edge_tts.communicate
import pytest
from edge_tts.drm import DRM
from multidict import CIMultiDict, CIMultiDictProxy

from narrator.engines import get_engine
from narrator.engines.base import SectionRef
from narrator.engines.edge import (
    MAX_PIECE_CHARS,
    OUTER_KEEP_MS,
    EdgeEngine,
    create,
    parse_rate,
)
from narrator.engines.edge_service import classify
from narrator.errors import EngineError, InputError
from narrator.model import Audio
from tests.fake_edge import FakeEdge, speech_for

SENTENCE = (
    "Il explique que la puissance de calcul, les données et les algorithmes sont "
    "les trois éléments clés, et qu'il est possible de les échanger entre eux."
)
SECTION = SectionRef(3, "La question des ressources et du calcul")


@pytest.fixture
def fake():
    # Faster than the service, so the suite stays quick; the build tests and
    # the benchmark use the realistic pace.
    with FakeEdge(first_audio_s=0.02, speed=40.0) as server:
        yield server


@pytest.fixture(autouse=True)
def _keep_drm_clock(monkeypatch):
    # edge-tts corrects a class-wide clock skew on a 403; undo it after a test.
    monkeypatch.setattr(DRM, "clock_skew_seconds", 0.0)


def engine_for(url: str, **kwargs) -> EdgeEngine:
    options = {
        "url": url,
        "connect_timeout_s": 2.0,
        "first_audio_timeout_s": 2.0,
        "piece_timeout_s": 10.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    options.update(kwargs)
    return EdgeEngine(**options)


def samples(audio: Audio) -> array:
    with wave.open(io.BytesIO(audio.data)) as w:
        assert w.getframerate() == 24_000
        assert w.getnchannels() == 1
        data = array("h")
        data.frombytes(w.readframes(w.getnframes()))
    return data


def loud(data: array, start_ms: float, end_ms: float) -> bool:
    chunk = data[int(start_ms * 24) : int(end_ms * 24)]
    return max(abs(min(chunk)), max(chunk)) > 3000


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+10%", "+10%"),
        ("-5%", "-5%"),
        ("10", "+10%"),
        ("-5", "-5%"),
        ("0", "+0%"),
        (" +100 ", "+100%"),
        ("-50%", "-50%"),
    ],
)
def test_edge_rate_accepts_percentages(given, expected):
    assert parse_rate(given) == expected


@pytest.mark.parametrize("given", ["-51", "101%", "+250", "fast", "1.5", "", "%"])
def test_edge_rate_rejects_bad_values(given):
    with pytest.raises(InputError, match="edge: rate"):
        parse_rate(given)


@pytest.mark.parametrize(
    "voice",
    [
        "fr-FR-DeniseNeural",
        "fr-FR-HenriNeural",
        "fr-FR-VivienneMultilingualNeural",
        "fr-CA-SylvieNeural",
        "fr-BE-GerardNeural",
        "fr-CH-ArianeNeural",
    ],
)
def test_edge_accepts_french_voices(voice):
    assert create({"voice": voice}).voice == voice


@pytest.mark.parametrize(
    "voice",
    ["en-US-AriaNeural", "fr-FR-Denise", "fr-fr-DeniseNeural", "Denise", "fr"],
)
def test_edge_refuses_other_voices(voice):
    with pytest.raises(InputError, match="not a French Edge voice"):
        create({"voice": voice})


def test_edge_create_reads_options_and_env():
    from narrator.config import load_settings

    env = {"NARRATOR_EDGE_URL": "ws://127.0.0.1:1/edge/v1?x=1"}
    options = load_settings(None, {"rate": "-5", "jobs": 3}, env).engine_options
    engine = get_engine("edge", options)
    assert isinstance(engine, EdgeEngine)
    assert engine.url == "ws://127.0.0.1:1/edge/v1?x=1"
    assert engine.rate == "-5%" and engine.max_in_flight == 3
    assert engine.voice == "fr-FR-DeniseNeural"
    assert (engine.local, engine.profile) == (False, "gtts")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/edge/v1?x=1", "127.0.0.1:1", "ws:///nohost"]
)
def test_edge_refuses_a_url_that_is_not_websocket(url):
    from narrator.config import load_settings

    options = load_settings(None, {}, {"NARRATOR_EDGE_URL": url}).engine_options
    with pytest.raises(InputError, match="NARRATOR_EDGE_URL"):
        create(options)


def test_edge_url_without_query_gets_one():
    assert create({"url": "ws://127.0.0.1:1/edge/v1"}).url == (
        "ws://127.0.0.1:1/edge/v1?"
    )


def test_edge_identity_names_what_changes_the_sound():
    base = create({}).identity()
    assert base["engine"] == "edge" and base["voice"] == "fr-FR-DeniseNeural"
    assert base["rate"] == "+0%" and base["pitch"] == "+0Hz"
    assert base["version"] == edge_tts.__version__ and base["assembly"]
    # A proxy or test URL does not change the sound; voice and rate do.
    assert create({"url": "ws://127.0.0.1:1/x?y=1"}).identity() == base
    assert create({"rate": "10"}).identity() != base
    assert create({"voice": "fr-FR-HenriNeural"}).identity() != base


# -- synthesis -------------------------------------------------------------------


def test_edge_speaks_through_edge_tts_with_its_protocol(fake):
    engine = engine_for(fake.url, rate="+10%")
    audios = engine.synthesize([SENTENCE, "Bonjour."], section=SECTION)
    assert len(audios) == 2 and all(a.format == "wav" for a in audios)
    assert sorted(fake.texts) == sorted([SENTENCE, "Bonjour."])
    seen = fake.seen[0]
    assert (
        seen.voice
        == "Microsoft Server Speech Text to Speech Voice (fr-FR, DeniseNeural)"
    )
    assert (seen.rate, seen.pitch, seen.word_boundary) == ("+10%", "+0Hz", True)
    # The fake's own query stays; the client appended its parameters.
    assert seen.query["TrustedClientToken"]
    assert seen.query["ConnectionId"] and seen.query["Sec-MS-GEC"]
    assert seen.query["Sec-MS-GEC-Version"]
    # Redirected per engine, without touching edge-tts's module constant.
    assert edge_tts.communicate.WSS_URL.startswith("wss://speech.platform.bing.com")


def test_edge_word_timings_match_the_audio(fake):
    (audio,) = engine_for(fake.url).synthesize([SENTENCE])
    data = samples(audio)
    words = audio.words
    assert [w.text for w in words] == [w[2] for w in speech_for(SENTENCE).words]
    duration_ms = len(data) / 24
    for word in words:
        assert 0 <= word.start_ms < word.end_ms <= duration_ms
        # Each word's burst is sounding in the middle of its timing...
        middle = (word.start_ms + word.end_ms) / 2
        assert loud(data, middle - 10, middle + 10), word
    for before, after in zip(words, words[1:], strict=False):
        # ...and the gap between two words is silent.
        assert before.end_ms <= after.start_ms
        assert not loud(data, before.end_ms + 25, after.start_ms - 25), (before, after)
    # The service's padding is trimmed to OUTER_KEEP_MS (within a codec frame).
    assert abs(words[0].start_ms - OUTER_KEEP_MS) <= 15


def test_edge_splits_long_text_and_keeps_words_on_the_joined_audio(fake):
    long_text = " ".join([SENTENCE] * 8)  # > MAX_PIECE_CHARS
    assert len(long_text) > MAX_PIECE_CHARS
    (audio,) = engine_for(fake.url).synthesize([long_text])
    assert len(fake.texts) > 1
    assert all(len(t) <= MAX_PIECE_CHARS for t in fake.texts)
    assert " ".join(fake.texts) == long_text  # cut at sentence ends, nothing lost
    data = samples(audio)
    words = audio.words
    assert len(words) == 8 * len(speech_for(SENTENCE).words)
    assert all(a.start_ms < b.start_ms for a, b in zip(words, words[1:], strict=False))
    assert words[-1].end_ms <= len(data) / 24
    for word in words:
        middle = (word.start_ms + word.end_ms) / 2
        assert loud(data, middle - 10, middle + 10), word


def test_edge_punctuation_only_gives_a_short_pause_without_request(fake):
    audios = engine_for(fake.url).synthesize(["…", "", "Bonjour."])
    assert fake.texts == ["Bonjour."]
    assert len(samples(audios[0])) == 24 * 2 * OUTER_KEEP_MS
    assert audios[0].words == () and audios[2].words


def test_edge_bounds_requests_in_flight(fake):
    engine = engine_for(fake.url, max_in_flight=3)
    texts = [f"Phrase numéro {n} du test." for n in range(12)]
    audios = engine.synthesize(texts)
    assert len(audios) == 12 and fake.max_in_flight == 3


def test_edge_in_flight_bound_is_shared_by_concurrent_sections(fake):
    engine = engine_for(fake.url, max_in_flight=4)
    results: dict[int, list[Audio]] = {}

    def run(n: int) -> None:
        texts = [f"Section {n}, phrase {k}." for k in range(8)]
        results[n] = engine.synthesize(texts, section=SectionRef(n, f"S{n}"))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2]
    assert fake.max_in_flight == 4  # not 3 x 4


# -- failures ----------------------------------------------------------------------


def test_edge_retries_every_kind_of_transient_failure(fake):
    kinds = ["500", "503", "429 Retry-After=0", "close", "throttle", "truncate"]
    kinds += ["garbage", "garbage", "reset"]
    fake.script(*kinds)
    engine = engine_for(fake.url, max_attempts=len(kinds) + 1, breaker_threshold=20)
    (audio,) = engine.synthesize(["Bonjour à tous."])
    assert engine.requests == len(kinds) + 1
    assert [s.action for s in fake.seen] == [*kinds, "ok"]
    assert [w.text for w in audio.words] == ["Bonjour", "à", "tous"]


def test_edge_times_out_a_stalled_stream_and_retries(fake):
    fake.script("stall", "stall-mid")
    engine = engine_for(fake.url, first_audio_timeout_s=0.5, piece_timeout_s=1.5)
    (audio,) = engine.synthesize(["Bonjour à tous."])
    assert engine.requests == 3 and audio.words


def test_edge_gives_up_after_its_attempts_with_one_line(fake):
    fake.script(*["503"] * 3)
    engine = engine_for(fake.url, max_attempts=3)
    with pytest.raises(EngineError) as caught:
        engine.synthesize(["Bonjour."], section=SECTION)
    message = str(caught.value)
    assert "HTTP 503" in message and "after 3 attempts" in message
    assert "\n" not in message and caught.value.retryable
    assert caught.value.section == SECTION.title
    assert SECTION.title not in caught.value.reason


def test_edge_honours_retry_after_from_a_refused_upgrade():
    headers = CIMultiDictProxy(CIMultiDict({"Retry-After": "3"}))
    exc = aiohttp.WSServerHandshakeError(
        None,
        (),
        status=429,
        message="Invalid response status",
        headers=headers,
    )
    failure = classify(exc, "example.org")
    assert failure.retryable and failure.retry_after_s == 3.0
    assert failure.cause == "HTTP 429 Too Many Requests on connect"


def test_edge_does_not_retry_a_refused_token(fake):
    # edge-tts itself answers a 403 once (clock-skew correction), then gives up.
    fake.script("403", "403")
    engine = engine_for(fake.url)
    with pytest.raises(EngineError, match="HTTP 403") as caught:
        engine.synthesize(["Bonjour."])
    assert not caught.value.retryable and "not retried" in str(caught.value)
    assert len(fake.seen) == 2


def test_edge_corrects_clock_skew_from_the_fake_without_other_requests():
    # The fake's clock is an hour ahead: the first token is refused with the
    # fake's Date, edge-tts corrects its skew and connects again to the same URL.
    with FakeEdge(first_audio_s=0.0, speed=40.0, clock_skew_s=3600) as fake:
        (audio,) = engine_for(fake.url).synthesize(["Bonjour."])
        assert [s.action for s in fake.seen] == ["403 token", "ok"]
    assert audio.words
    assert 3590 < DRM.clock_skew_seconds < 3610


def test_edge_wrong_url_is_not_retried(fake):
    engine = engine_for(fake.url.replace("/edge/v1", "/edge/v0"))
    with pytest.raises(EngineError, match="HTTP 404.*NARRATOR_EDGE_URL"):
        engine.synthesize(["Bonjour."])
    assert len(fake.seen) == 1


def test_edge_one_failure_cancels_the_rest_of_the_section():
    with FakeEdge(first_audio_s=0.0, speed=1.0) as fake:  # slow: real time
        fake.script("401")
        engine = engine_for(fake.url, max_in_flight=2)
        texts = [f"Une phrase assez longue numéro {n} pour durer." for n in range(10)]
        with pytest.raises(EngineError, match="HTTP 401"):
            engine.synthesize(texts)
        assert len(fake.seen) < 10


def test_edge_breaker_stops_a_dead_service_and_later_calls(fake):
    fake.default = "503"
    engine = engine_for(fake.url, max_in_flight=4, breaker_threshold=5)
    with pytest.raises(EngineError, match="5 consecutive failed requests") as caught:
        engine.synthesize([f"Phrase {n}." for n in range(20)], section=SECTION)
    assert "HTTP 503" in str(caught.value)
    assert engine.requests < 5 + 4  # the breaker, not 20 x 8 attempts
    seen = len(fake.seen)
    with pytest.raises(EngineError, match="consecutive"):
        engine.synthesize(["Encore."])
    assert len(fake.seen) == seen


def test_edge_unreachable_service_is_one_clear_line():
    engine = engine_for(f"ws://127.0.0.1:{closed_port()}/edge/v1?x=1", max_attempts=2)
    with pytest.raises(EngineError) as caught:
        engine.synthesize(["Bonjour."])
    message = str(caught.value)
    assert "cannot reach 127.0.0.1" in message and "--engine espeak" in message
    assert "\n" not in message and caught.value.retryable


def test_edge_survives_thirty_percent_of_failures():
    with FakeEdge(
        first_audio_s=0.0,
        speed=40.0,
        failure_rate=0.3,
        failure_kinds=("500", "429", "close", "truncate", "garbage", "throttle"),
        seed=5,
    ) as fake:
        engine = engine_for(fake.url)
        texts = [f"Phrase numéro {n} de la section." for n in range(16)]
        audios = engine.synthesize(texts)
        failures = sum(1 for s in fake.seen if s.action != "ok")
    assert len(audios) == 16 and all(a.words for a in audios)
    assert failures >= 3  # the fake really failed some


# -- probe ---------------------------------------------------------------------------


def test_edge_probe_says_yes_to_a_live_service(fake):
    assert engine_for(fake.url).probe() is True
    assert fake.texts == ["Bonjour."]


def test_edge_probe_says_no_without_raising(fake):
    assert engine_for(f"ws://127.0.0.1:{closed_port()}/v1?x=1").probe() is False
    fake.script("stall")
    assert engine_for(fake.url).probe(timeout_s=0.3) is False
    fake.script("500")
    assert engine_for(fake.url).probe() is False


def test_edge_engines_with_different_urls_run_at_once():
    with FakeEdge(first_audio_s=0.0) as one, FakeEdge(first_audio_s=0.0) as two:
        first, second = engine_for(one.url), engine_for(two.url)
        out: list[list[Audio]] = []
        threads = [
            threading.Thread(target=lambda e=e, t=t: out.append(e.synthesize([t])))
            for e, t in ((first, "Premier."), (second, "Second."))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert one.texts == ["Premier."] and two.texts == ["Second."]
    assert len(out) == 2
