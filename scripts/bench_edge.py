"""Benchmark: narrator's Edge engine vs. plain ``edge_tts.Communicate(...).save()``.

Both talk to the same local fake of the Edge speech service
(tests/fake_edge.py), which answers like the service does: 150 ms after the
SSML comes the first audio, then the MP3 streams at 10x real time. The
figures measure how requests are scheduled, not Microsoft.

(a) edge-tts as a library: for each of the seed's sections in turn,
    ``Communicate(section_text, voice).save(path)`` (title and paragraphs in
    one text; edge-tts cuts it at 4096 bytes and sends the parts one after
    another). It is pointed at the fake the way narrator points itself there
    (``narrator.engines.edge_service.communicate_class``: edge-tts's own code with
    its WSS_URL replaced); nothing else changes.
(b) narrator: one ``EdgeEngine.synthesize`` call per section (title then
    sentences, as the pipeline does), ``--sections`` sections at once as the
    pipeline runs them; requests in flight are bounded engine-wide by
    ``--jobs``. (b) also decodes every piece to PCM and joins it; (a) only
    writes MP3 bytes.

Run: .venv/bin/python scripts/bench_edge.py [--first-audio-ms 150] [--speed 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import escape, unescape

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"
sys.path.insert(0, str(REPO))

from edge_tts.communicate import (  # noqa: E402
    remove_incompatible_characters,
    split_text_by_byte_length,
)

from narrator.engines.base import SectionRef  # noqa: E402
from narrator.engines.edge import (  # noqa: E402
    DEFAULT_VOICE,
    EdgeEngine,
    split_pieces,
)
from narrator.engines.edge_service import communicate_class  # noqa: E402
from narrator.speech.normalize import prepare_section  # noqa: E402
from narrator.text.sections import parse_summary  # noqa: E402
from tests.fake_edge import FakeEdge  # noqa: E402


def load_sections(path: Path) -> list[tuple[str, list[str]]]:
    """Return (title, utterances) per section, as the pipeline prepares them."""
    document = parse_summary(path.read_text(encoding="utf-8"), path=str(path))
    return [
        (s.title, [u.text for u in prepare_section(s, engine="gtts")])
        for s in document.sections
    ]


def edge_tts_parts(text: str) -> list[str]:
    """The texts edge-tts itself sends for ``text`` (its own 4096-byte split)."""
    escaped = escape(remove_incompatible_characters(text))
    return [
        unescape(part.decode("utf-8"))
        for part in split_text_by_byte_length(escaped, 4096)
    ]


def run_plain(url: str, sections: list[tuple[str, list[str]]], folder: Path) -> float:
    communicate = communicate_class(url)
    started = time.perf_counter()
    for n, (_, utterances) in enumerate(sections):
        text = "\n".join(utterances)
        asyncio.run(communicate(text, DEFAULT_VOICE).save(str(folder / f"{n}.mp3")))
    return time.perf_counter() - started


def run_narrator(
    url: str, sections: list[tuple[str, list[str]]], jobs: int, parallel: int
) -> tuple[float, int]:
    engine = EdgeEngine(url=url, max_in_flight=jobs)
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        futures = [
            pool.submit(engine.synthesize, texts, section=SectionRef(n, title))
            for n, (title, texts) in enumerate(sections)
        ]
        for future in futures:
            future.result()
    elapsed = time.perf_counter() - started
    engine.close()
    return elapsed, engine.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-audio-ms", type=float, default=150.0)
    parser.add_argument("--speed", type=float, default=10.0, help="x real time")
    parser.add_argument("--jobs", type=int, default=8, help="requests in flight")
    parser.add_argument("--sections", type=int, default=4, help="sections at once")
    args = parser.parse_args()

    sections = load_sections(SEED)
    utterances = sum(len(texts) for _, texts in sections)
    with FakeEdge(first_audio_s=args.first_audio_ms / 1000, speed=args.speed) as fake:
        # Make the fake's audio first, so neither run waits for ffmpeg there.
        fake.prepare(p for _, t in sections for p in edge_tts_parts("\n".join(t)))
        fake.prepare(
            piece.text
            for _, texts in sections
            for text in texts
            for piece in split_pieces(text, 800)
        )
        with tempfile.TemporaryDirectory() as tmp:
            plain_s = run_plain(fake.url, sections, Path(tmp))
        plain_requests = len(fake.seen)
        fake.max_in_flight = 0
        narrator_s, requests = run_narrator(
            fake.url, sections, args.jobs, args.sections
        )
        peak = fake.max_in_flight
    print(
        f"seed: {len(sections)} sections, {utterances} utterances; fake service: "
        f"{args.first_audio_ms:g} ms to first audio, {args.speed:g}x real time"
    )
    print(
        f"edge_tts.Communicate(...).save() per section, sequentially: "
        f"{plain_s:.2f} s ({plain_requests} requests)"
    )
    print(
        f"narrator EdgeEngine, {args.sections} sections at once, {args.jobs} in "
        f"flight: {narrator_s:.2f} s ({requests} requests, peak {peak} in flight)"
    )
    print(f"speed-up: {plain_s / narrator_s:.1f}x")


if __name__ == "__main__":
    main()
