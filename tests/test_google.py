"""Tests of the gTTS engine against a local fake of Google's endpoint (no network)."""

from __future__ import annotations

import io
import socket
import threading
import wave
from array import array
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import gtts.tts
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.engines.base import SectionRef
from narrator.engines.google import GoogleEngine, create, split_pieces
from narrator.engines.google_service import extract_audio
from narrator.engines.join import GAP_MS, INNER_KEEP_MS, OUTER_KEEP_MS, SILENCE_DBFS
from narrator.engines.retry import parse_retry_after
from narrator.errors import ConfigError, EngineError
from narrator.model import Audio
from tests.fake_google import (
    LEAD_SILENCE_MS,
    FakeGoogle,
    google_reply,
    tone_mp3,
    tone_ms,
)

SENTENCE = (
    "Il explique que la puissance de calcul, les données et les algorithmes sont "
    "les trois éléments clés, et qu'il est possible de les échanger entre eux."
)


@pytest.fixture
def fake():
    with FakeGoogle() as server:
        yield server


def engine_for(fake: FakeGoogle, sleeps: list[float] | None = None, **kwargs):
    options = {
        "base_url": fake.base_url,
        "timeout_s": 2.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "sleep": (sleeps.append if sleeps is not None else None),
    }
    options.update(kwargs)
    return GoogleEngine(**options)


def seconds(audio: Audio) -> float:
    with wave.open(io.BytesIO(audio.data)) as w:
        assert w.getframerate() == 24_000
        assert w.getnchannels() == 1
        return w.getnframes() / w.getframerate()


def samples(audio: Audio) -> array:
    with wave.open(io.BytesIO(audio.data)) as w:
        data = array("h")
        data.frombytes(w.readframes(w.getnframes()))
    return data


# -- splitting ---------------------------------------------------------------


def test_split_keeps_short_text_whole():
    assert [p.text for p in split_pieces("  Résumé   bref ")] == ["Résumé bref"]


def test_split_cuts_a_long_sentence_at_clauses():
    pieces = split_pieces(SENTENCE)
    assert [p.text for p in pieces] == [
        "Il explique que la puissance de calcul, les données et les algorithmes "
        "sont les trois éléments clés,",
        "et qu'il est possible de les échanger entre eux.",
    ]
    assert [p.brk for p in pieces] == ["clause", "end"]


def test_split_prefers_sentences_then_packs_them():
    text = (
        "Altman discute de l'impact de ChatGPT sur le monde technologique. "
        "Il explique que le lancement a changé la conversation mondiale. Oui. Non."
    )
    pieces = split_pieces(text)
    assert [p.text for p in pieces] == [
        "Altman discute de l'impact de ChatGPT sur le monde technologique.",
        "Il explique que le lancement a changé la conversation mondiale. Oui. Non.",
    ]
    assert pieces[0].brk == "sentence"


def test_split_breaks_at_parentheses_and_dashes():
    text = (
        "Il explique qu'OpenAI croit que l'AGI (intelligence artificielle générale) "
        "est possible dans un avenir proche — et que cela aura un impact majeur "
        "sur l'économie, la société et la politique."
    )
    assert [p.text for p in split_pieces(text)] == [
        "Il explique qu'OpenAI croit que l'AGI (intelligence artificielle générale)",
        "est possible dans un avenir proche — et que cela aura un impact majeur "
        "sur l'économie,",
        "la société et la politique.",
    ]


def test_split_evens_out_clause_groups():
    text = (
        "Altman discute de la course aux armements pour la puissance de calcul, "
        "de la relation avec Microsoft, de la sécurité, et de la vision."
    )
    pieces = split_pieces(text)
    assert [len(p.text) for p in pieces] == [70, 63]
    assert pieces[0].text.endswith("calcul,")


def test_split_a_clause_without_punctuation_between_words_evenly():
    text = " ".join(["anticonstitutionnellement"] * 8)  # 215 chars, no punctuation
    pieces = split_pieces(text)
    lengths = [len(p.text) for p in pieces]
    assert len(pieces) == 3
    assert max(lengths) - min(lengths) <= 26  # balanced: no orphan word at the end
    assert " ".join(p.text for p in pieces) == text


def test_split_a_word_longer_than_the_limit_as_a_last_resort():
    word = "x" * 250
    pieces = split_pieces(f"Voici {word} fin.")
    assert all(len(p.text) <= 100 for p in pieces)
    assert "".join(p.text for p in pieces).replace(" ", "") == f"Voici{word}fin."
    assert "hard" in [p.brk for p in pieces]


def test_split_drops_punctuation_only_text():
    assert split_pieces(" … ?! ") == []
    assert split_pieces("") == []


words = st.text(alphabet="abcdéèçàôxyz", min_size=1, max_size=130)
separators = st.sampled_from([" ", ", ", ". ", " ; ", " (", ") ", " — ", ": "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(words, separators), min_size=1, max_size=40))
def test_split_loses_nothing_and_never_cuts_a_word_it_could_keep(parts):
    text = " ".join("".join(w + s for w, s in parts).split())
    pieces = split_pieces(text)
    assert all(0 < len(p.text) <= 100 for p in pieces)
    assert all(p.text == p.text.strip() for p in pieces)
    rebuilt = ""
    for piece in pieces:
        rebuilt += piece.text + ("" if piece.brk == "hard" else " ")
    assert rebuilt.strip() == text
    for piece in pieces:
        if piece.brk == "hard":
            assert len(piece.text) == 100


# -- requests -----------------------------------------------------------------


def test_request_is_gtts_batchexecute_for_the_chosen_tld():
    engine = GoogleEngine(tld="ca", transport=lambda request: pytest.fail("sent"))
    request = engine.build_request("Bonjour")
    assert request.url == (
        "https://translate.google.ca/_/TranslateWebserverUi/data/batchexecute"
    )
    assert request.method == "POST"
    assert request.body.startswith(b"f.req=")
    assert request.timeout_s == 10.0


def test_french_text_is_sent_as_is_in_french(fake):
    # gTTS's English pre-processor would drop the period after "Dr" and "St".
    engine = engine_for(fake)
    engine.synthesize(["Le Dr. Martin habite St. Malo ; il parle, enfin !"])
    assert fake.seen[0].text == "Le Dr. Martin habite St. Malo ; il parle, enfin !"
    assert fake.seen[0].lang == "fr"
    assert fake.seen[0].slow is False
    assert fake.seen[0].path == "/_/TranslateWebserverUi/data/batchexecute"


def test_slow_mode_is_sent(fake):
    engine_for(fake, slow=True).synthesize(["Lentement."])
    assert fake.seen[0].slow is True


def test_reply_parsing_matches_gtts_own(fake, monkeypatch, tmp_path):
    # The fake speaks gTTS's protocol: real gTTS.save() reads the same audio
    # from it that extract_audio() reads from the same reply.
    monkeypatch.setattr(
        gtts.tts, "_translate_url", lambda tld="com", path="": f"{fake.base_url}/{path}"
    )
    target = tmp_path / "gtts.mp3"
    gtts.tts.gTTS("Bonjour à tous.", lang="fr", tld="fr").save(target)
    expected = tone_mp3(tone_ms("Bonjour à tous."))
    assert target.read_bytes() == expected
    assert extract_audio(google_reply(expected)) == expected
    assert fake.seen[0].text == "Bonjour à tous."
    assert fake.seen[0].content_type.startswith("application/x-www-form-urlencoded")


# -- success path ---------------------------------------------------------------


def expected_seconds(text: str) -> float:
    pieces = split_pieces(text)
    total_ms = sum(tone_ms(p.text) for p in pieces)
    total_ms += 2 * OUTER_KEEP_MS + 2 * INNER_KEEP_MS * (len(pieces) - 1)
    total_ms += sum(GAP_MS[p.brk] for p in pieces[:-1])
    return total_ms / 1000


def test_one_audio_per_utterance_with_joined_pieces(fake):
    texts = ["Résumé bref", SENTENCE, "Fin."]
    audios = engine_for(fake).synthesize(texts, section=SectionRef(0, "Résumé bref"))
    assert len(audios) == 3
    assert all(a.format == "wav" for a in audios)
    for text, audio in zip(texts, audios, strict=True):
        assert seconds(audio) == pytest.approx(expected_seconds(text), abs=0.03)
    assert sorted(fake.texts) == sorted(
        ["Résumé bref", "Fin."] + [p.text for p in split_pieces(SENTENCE)]
    )
    assert all(len(t) <= 100 for t in fake.texts)


def test_google_padding_is_trimmed_to_a_small_edge(fake):
    (audio,) = engine_for(fake).synthesize(["Bonjour."])
    data = samples(audio)
    threshold = 32768 * 10 ** (SILENCE_DBFS / 20)
    loud = [i for i, v in enumerate(data) if abs(v) > threshold]
    lead_ms = loud[0] / 24
    trail_ms = (len(data) - loud[-1]) / 24
    assert LEAD_SILENCE_MS > 100  # the fake's MP3 starts with real silence
    assert OUTER_KEEP_MS - 5 <= lead_ms <= OUTER_KEEP_MS + 10
    assert OUTER_KEEP_MS - 5 <= trail_ms <= OUTER_KEEP_MS + 10


def test_unspeakable_utterance_needs_no_request(fake):
    (audio,) = engine_for(fake).synthesize(["…"])
    assert 0 < seconds(audio) < 0.2
    assert fake.seen == []


# -- retries ------------------------------------------------------------------


def test_429_then_success_backs_off_with_jitter(fake):
    fake.script("429")
    sleeps: list[float] = []
    (audio,) = engine_for(fake, sleeps).synthesize(["Bonjour."])
    assert seconds(audio) > 0.5
    assert [s.action for s in fake.seen] == ["429", "ok"]
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.01


def test_retry_after_seconds_is_honoured(fake):
    fake.script("429 retry-after=2")
    sleeps: list[float] = []
    engine_for(fake, sleeps).synthesize(["Bonjour."])
    assert sleeps == [2.0]


def test_retry_after_date_is_honoured_and_capped(fake):
    when = datetime.now(UTC) + timedelta(seconds=20)
    fake.script(
        "503 retry-after=" + format_datetime(when, usegmt=True).replace(" ", "_"),
        "429 retry-after=3600",
    )
    sleeps: list[float] = []
    engine_for(fake, sleeps, retry_after_max_s=30.0).synthesize(["Bonjour."])
    assert 17 <= sleeps[0] <= 20
    assert sleeps[1] == 30.0


def test_parse_retry_after():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 00:00:09 GMT", now) == 9.0
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_server_errors_then_success_back_off_exponentially(fake):
    fake.script("500", "503", "500")
    sleeps: list[float] = []
    engine_for(fake, sleeps, backoff_base_s=0.01, backoff_max_s=1.0).synthesize(
        ["Bonjour."]
    )
    assert [s.action for s in fake.seen] == ["500", "503", "500", "ok"]
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.01 * 2**i for i, s in enumerate(sleeps))


@pytest.mark.parametrize("action", ["slow", "reset", "no-audio", "garbage", "not-mp3"])
def test_transient_failure_then_success(action):
    with FakeGoogle(slow_s=1.0) as fake:
        fake.prepare(["Bonjour."])  # the retry must answer within the timeout
        fake.script(action)
        sleeps: list[float] = []
        (audio,) = engine_for(fake, sleeps, timeout_s=0.3).synthesize(["Bonjour."])
        assert seconds(audio) == pytest.approx(expected_seconds("Bonjour."), abs=0.03)
        assert [s.action for s in fake.seen] == [action, "ok"]
        assert len(sleeps) == 1


def test_permanent_failure_names_the_section_and_the_cause():
    with FakeGoogle(default="503") as fake:
        sleeps: list[float] = []
        engine = engine_for(fake, sleeps, max_attempts=3)
        with pytest.raises(EngineError) as caught:
            engine.synthesize(["Bonjour."], section=SectionRef(0, "Résumé bref"))
        error = caught.value
        assert str(error).startswith(
            'gtts: section "Résumé bref": HTTP 503 Service Unavailable after 3 attempts'
        )
        assert "re-run" in str(error)
        assert error.retryable is True
        assert error.engine == "gtts"
        assert error.section == "Résumé bref"
        assert len(fake.seen) == 3
        assert len(sleeps) == 2


def test_rate_limit_message_says_to_wait():
    with FakeGoogle(default="429") as fake:
        with pytest.raises(
            EngineError, match="Google is rate-limiting, wait"
        ) as caught:
            engine_for(fake, [], max_attempts=2).synthesize(["Bonjour."])
        assert "HTTP 429 Too Many Requests after 2 attempts" in str(caught.value)


def test_refusal_is_not_retried():
    with FakeGoogle(default="403") as fake:
        with pytest.raises(EngineError, match="HTTP 403 Forbidden") as caught:
            engine_for(fake, []).synthesize(
                ["Bonjour."], section=SectionRef(0, "Intro")
            )
        assert caught.value.retryable is False
        assert len(fake.seen) == 1


def test_circuit_breaker_stops_the_section_and_the_engine_early():
    with FakeGoogle(default="503", latency_s=0.01) as fake:
        engine = engine_for(
            fake, [], max_in_flight=2, max_attempts=5, breaker_threshold=8
        )
        texts = [f"Phrase numéro {n}." for n in range(10)]
        with pytest.raises(
            EngineError, match="8 consecutive failed requests"
        ) as caught:
            engine.synthesize(texts, section=SectionRef(0, "Contexte"))
        assert caught.value.section == "Contexte"
        assert "last: HTTP 503" in str(caught.value)
        # 10 pieces x 5 attempts would be 50 requests; the breaker stops at 8
        # (plus at most the requests already in flight).
        assert 8 <= len(fake.seen) <= 8 + 2
        before = len(fake.seen)
        with pytest.raises(EngineError, match="consecutive"):
            engine.synthesize(["Encore."], section=SectionRef(0, "Suite"))
        assert len(fake.seen) == before


def test_random_failures_are_absorbed():
    texts = [f"Phrase numéro {n}, assez courte." for n in range(12)]
    with FakeGoogle(failure_rate=0.3, seed=7) as fake:
        # Successes must not be slower than failures: the breaker counts
        # failures in the order they come back.
        fake.prepare(texts)
        # The real, interruptible sleep, with tiny backoff.
        engine = engine_for(fake, None, max_attempts=6)
        audios = engine.synthesize(texts, section=SectionRef(0, "Contexte"))
        assert len(audios) == 12
        assert {s.action for s in fake.seen} > {"ok"}  # failures did happen


# -- concurrency ----------------------------------------------------------------


def test_requests_overlap_up_to_the_bound():
    with FakeGoogle(latency_s=0.1) as fake:
        engine = engine_for(fake, max_in_flight=3)
        engine.synthesize([f"Phrase numéro {n}." for n in range(9)])
        assert 2 <= fake.max_in_flight <= 3


def test_in_flight_bound_is_shared_by_concurrent_sections():
    with FakeGoogle(latency_s=0.05) as fake:
        engine = engine_for(fake, max_in_flight=2)
        errors: list[BaseException] = []

        def run(n: int) -> None:
            try:
                engine.synthesize([f"Section {n}, phrase {k}." for k in range(4)])
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(fake.seen) == 12
        assert fake.max_in_flight == 2


# -- identity, factory, probe ---------------------------------------------------


def test_identity_names_what_changes_the_sound():
    identity = GoogleEngine(tld="ca", slow=True).identity()
    assert identity["engine"] == "gtts"
    assert identity["version"] == gtts.__version__
    assert identity["lang"] == "fr"
    assert identity["tld"] == "ca"
    assert identity["slow"] == "1"
    assert GoogleEngine().identity() != GoogleEngine(tld="ca").identity()
    assert GoogleEngine().identity() != GoogleEngine(slow=True).identity()


def test_create_reads_options(monkeypatch):
    monkeypatch.delenv("NARRATOR_GTTS_BASE_URL", raising=False)
    engine = create(
        {"tld": "ca", "slow": "1", "jobs": "6", "timeout": "3", "retries": "2"}
    )
    assert (engine.lang, engine.tld, engine.slow) == ("fr", "ca", True)
    assert engine.max_in_flight == 6
    assert engine.timeout_s == 3.0
    assert engine.max_attempts == 3
    assert engine.base_url is None
    assert engine.name == "gtts" and engine.local is False
    from narrator.config import load_settings

    env = {"NARRATOR_GTTS_BASE_URL": "http://127.0.0.1:9/"}
    assert create(load_settings(None, {}, env).engine_options).base_url == (
        "http://127.0.0.1:9"
    )


@pytest.mark.parametrize(
    "options",
    [{"lang": "xx"}, {"tld": "not a tld"}, {"slow": "peut-être"}, {"jobs": "0"}],
)
def test_create_refuses_bad_options(options):
    with pytest.raises(ConfigError):
        create(options)


def test_probe_says_yes_when_the_endpoint_answers(fake):
    assert engine_for(fake).probe() is True
    assert fake.seen[0].text == "a"


def test_probe_says_no_without_raising():
    with FakeGoogle(default="503") as fake:
        assert engine_for(fake).probe() is False
        assert len(fake.seen) == 1  # no retry
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = GoogleEngine(base_url=f"http://127.0.0.1:{port}")
    assert closed.probe(timeout_s=0.5) is False


def test_one_ffmpeg_run_decodes_pieces_like_one_run_each():
    from narrator.engines.join import decode_mp3s
    from narrator.ffmpeg import decode_bytes

    mp3s = [tone_mp3(600), tone_mp3(1300)]
    assert decode_mp3s(mp3s, 24_000) == [
        decode_bytes(m, input_format="mp3", rate=24_000) for m in mp3s
    ]
