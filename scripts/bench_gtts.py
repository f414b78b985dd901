"""Benchmark: narrator's gTTS engine vs. plain ``gTTS(...).save()`` per section.

Both talk to the same local fake of Google's endpoint (tests/fake_google.py),
which adds a fixed latency to every request (150 ms by default), so the
figures measure how requests are scheduled, not Google.

(a) gTTS as a library: for each of the seed's sections in turn,
    ``gTTS(text, lang="fr", tld=...).save(path)``; its requests go one at a time.
    gTTS is pointed at the fake by replacing ``gtts.tts._translate_url`` (the
    only place gTTS builds its URL, ``https://translate.google.<tld>/...``);
    nothing else of gTTS changes: its tokenizer, request, session and parsing
    run as they would against Google.
(b) narrator: one ``GoogleEngine.synthesize`` call per section (title then
    sentences, as the pipeline does), ``--sections`` sections at once from a
    thread pool; requests in flight are bounded engine-wide by ``--jobs``.
    (b) also decodes every piece to PCM and joins it; (a) only writes MP3 bytes.

Run: .venv/bin/python scripts/bench_gtts.py [--latency-ms 150] [--jobs 4]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"
sys.path.insert(0, str(REPO))

import gtts.tts  # noqa: E402

from narrator.engines.google import GoogleEngine, split_pieces  # noqa: E402
from narrator.errors import NarratorError  # noqa: E402
from tests.fake_google import FakeGoogle  # noqa: E402


def load_sections(path: Path) -> tuple[list[tuple[str, list[str]]], str]:
    """Return (title, utterances) per section and how they were made.

    narrator's own parser and speech module when they import, else a plain
    split (titles are short unpunctuated lines).
    """
    text = path.read_text(encoding="utf-8")
    try:
        from narrator.speech.normalize import prepare_section
        from narrator.text.sections import parse_summary

        document = parse_summary(text, path=str(path))
        made = [
            (s.title, [u.text for u in prepare_section(s, engine="gtts")])
            for s in document.sections
        ]
        return made, "narrator.text + narrator.speech"
    except (ImportError, NarratorError) as exc:  # being written concurrently
        print(f"narrator.text/speech unusable ({exc}); plain split", file=sys.stderr)
    sections: list[tuple[str, list[str]]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if len(line) < 80 and not line.endswith((".", "!", "?", ":")):
            sections.append((line, [line]))
        else:
            line = line.removeprefix("- ")
            sections[-1][1].extend(re.split(r"(?<=[.!?])\s+", line))
    return sections, "plain split"


def bench_gtts(sections: list[tuple[str, list[str]]], tld: str, out: Path) -> float:
    start = time.perf_counter()
    for n, (_title, utterances) in enumerate(sections):
        # One call per section: the title, then the body as one text.
        text = utterances[0] + ". " + " ".join(utterances[1:])
        gtts.tts.gTTS(text, lang="fr", tld=tld).save(out / f"{n:02d}.mp3")
    return time.perf_counter() - start


def bench_narrator(
    sections: list[tuple[str, list[str]]], engine: GoogleEngine, parallel: int
) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        futures = [
            pool.submit(engine.synthesize, utterances, section=title)
            for title, utterances in sections
        ]
        for future in futures:
            future.result()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--jobs", type=int, default=4, help="requests in flight")
    parser.add_argument("--sections", type=int, default=4, help="sections at once")
    parser.add_argument("--tld", default="fr")
    args = parser.parse_args()

    sections, how = load_sections(SEED)
    with FakeGoogle(latency_s=args.latency_ms / 1000) as fake:
        # Pre-make the fake's audio so neither side pays for it.
        fake.prepare(p.text for _, u in sections for t in u for p in split_pieces(t))
        fake.prepare(
            t
            for _, u in sections
            for t in gtts.tts.gTTS(
                u[0] + ". " + " ".join(u[1:]), lang="fr", lang_check=False
            )._tokenize(u[0] + ". " + " ".join(u[1:]))
        )
        base = fake.base_url
        original = gtts.tts._translate_url
        gtts.tts._translate_url = lambda tld="com", path="": f"{base}/{path}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                seen = len(fake.seen)
                plain_s = bench_gtts(sections, args.tld, Path(tmp))
                plain_requests = len(fake.seen) - seen
        finally:
            gtts.tts._translate_url = original

        engine = GoogleEngine(tld=args.tld, base_url=base, max_in_flight=args.jobs)
        seen = len(fake.seen)
        fake.max_in_flight = 0
        narrator_s = bench_narrator(sections, engine, args.sections)
        narrator_requests = len(fake.seen) - seen
        peak = fake.max_in_flight

    print(
        f"seed: {len(sections)} sections, {sum(len(u) for _, u in sections)} "
        f"utterances ({how}); fake latency {args.latency_ms:g} ms/request"
    )
    print(
        f"(a) gTTS(...).save() per section, sequential: {plain_s:6.2f} s "
        f"({plain_requests} requests)"
    )
    print(
        f"(b) narrator GoogleEngine, {args.sections} sections at once, "
        f"{args.jobs} requests in flight: {narrator_s:6.2f} s "
        f"({narrator_requests} requests, peak {peak} in flight)"
    )
    print(f"speed-up: {plain_s / narrator_s:.1f}x")


if __name__ == "__main__":
    main()
