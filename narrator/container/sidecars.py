"""Chapters JSON and WebVTT/SRT transcripts rendered from a finished timeline.

The renderers are pure (``Timeline`` in, ``str`` out) so they can be tested
without files; ``render_sidecars`` names them after their MP3 (the build
writes them with it, ``output.write_episode``) and ``write_sidecars`` is the
thin writer for sidecars on their own. Their names (:func:`sidecar_paths`) and
the digest the MP3's tag records of them (:func:`sidecars_digest`) live here
too: they are facts about these files, which the build's output and the
publisher both need.

Formats follow the Podcasting 2.0 documents: chapters JSON version 1.2.0 with
``startTime``/``endTime`` in float seconds, ascending; WebVTT lines of at most
65 characters and SRT cues of at most two lines of 32 characters. A sentence
too long for one cue is split at word boundaries into several cues whose
times divide the sentence's span in proportion to their characters: the
sentence offsets are exact, the split points inside a sentence are an
estimate.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from narrator.atomic import write_bytes_atomic
from narrator.model import Timeline

SIDECAR_SUFFIXES = (".chapters.json", ".vtt", ".srt")

VTT_LINE_CHARS = 65
SRT_LINE_CHARS = 32
MAX_LINES = 2

# Split on ordinary whitespace only: no-break spaces keep French guillemets,
# "10 %" and "1 000" on one line.
_BREAKABLE = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class _Piece:
    start_ms: int
    end_ms: int
    lines: tuple[str, ...]
    chapter: int


@dataclass(frozen=True)
class SidecarPaths:
    """The files that travel with an MP3, named after it."""

    chapters_json: Path
    vtt: Path
    srt: Path

    def all(self) -> tuple[Path, Path, Path]:
        return (self.chapters_json, self.vtt, self.srt)


def sidecar_paths(mp3_path: Path) -> SidecarPaths:
    """``<stem>.chapters.json``, ``<stem>.vtt`` and ``<stem>.srt`` beside the MP3."""
    folder, stem = mp3_path.parent, mp3_path.stem
    chapters, vtt, srt = (folder / f"{stem}{suffix}" for suffix in SIDECAR_SUFFIXES)
    return SidecarPaths(chapters, vtt, srt)


def sidecars_digest(files: Mapping[Path, bytes]) -> str:
    """One SHA-256 over the sidecars' names and contents, in name order.

    A chapters JSON counts with each ``img`` reduced to its file name: the
    one ``publish`` writes beside the episode, with the pictures' URLs under
    --base-url, is the same sidecar as the build's.
    """
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        data = files[path]
        if path.name.endswith(SIDECAR_SUFFIXES[0]):
            data = _local_images(data)
        h.update(f"{path.name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def chapter_images(chapters_json: bytes) -> list[str | None]:
    """Each chapter's ``img`` in a chapters JSON, None where it has none
    (and [] when the JSON is not one: nothing to follow)."""
    try:
        doc = json.loads(chapters_json)
        rows = doc["chapters"]
        return [
            str(r["img"]) if isinstance(r, dict) and "img" in r else None for r in rows
        ]
    except (ValueError, KeyError, TypeError):
        return []


def _local_images(chapters_json: bytes) -> bytes:
    """The chapters JSON with each ``img`` URL cut to its file name, in one
    layout (one without pictures stays as written, and so does its digest)."""
    images = chapter_images(chapters_json)
    if not any(images):
        return chapters_json
    doc = json.loads(chapters_json)
    for row, image in zip(doc["chapters"], images, strict=True):
        if image:
            row["img"] = unquote(image.rsplit("/", 1)[-1])
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


def sidecars_on_disk_digest(mp3_path: Path) -> str | None:
    """The digest of the sidecars beside ``mp3_path`` and of the chapter
    pictures their chapters JSON names; None if one is missing."""
    files: dict[Path, bytes] = {}
    paths = sidecar_paths(mp3_path)
    try:
        for path in paths.all():
            files[path] = path.read_bytes()
        for image in chapter_images(files[paths.chapters_json]):
            if image:
                path = mp3_path.parent / unquote(image.rsplit("/", 1)[-1])
                files[path] = path.read_bytes()
    except OSError:
        return None
    return sidecars_digest(files)


def render_chapters_json(
    timeline: Timeline,
    *,
    title: str,
    podcast: str | None = None,
    author: str | None = None,
    file_name: str | None = None,
) -> str:
    """Render Podcasting 2.0 JSON chapters (``application/json+chapters``)."""
    chapters = sorted(timeline.chapters, key=lambda c: c.start_ms)
    doc: dict[str, object] = {"version": "1.2.0"}
    doc["title"] = title
    if podcast:
        doc["podcastName"] = podcast
    if author:
        doc["author"] = author
    if file_name:
        doc["fileName"] = file_name
    rows: list[dict[str, object]] = []
    for c in chapters:
        row: dict[str, object] = {
            "startTime": c.start_ms / 1000,
            "endTime": min(c.end_ms, timeline.duration_ms) / 1000,
            "title": c.title,
        }
        # ``img``: the picture's file name beside the episode (publishing
        # makes it a URL under --base-url); ``url``: the section's first link.
        if c.picture is not None:
            row["img"] = c.picture.name
        if c.url:
            row["url"] = c.url
        rows.append(row)
    doc["chapters"] = rows
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render_vtt(timeline: Timeline) -> str:
    """Render a WebVTT transcript: one cue per sentence, split when too long.

    Each chapter opens with a ``NOTE`` block naming it, so the file reads
    like the episode; players ignore notes.
    """
    out = ["WEBVTT", ""]
    current_chapter = -1
    for piece in _pieces(timeline, VTT_LINE_CHARS):
        if piece.chapter != current_chapter and 0 <= piece.chapter < len(
            timeline.chapters
        ):
            current_chapter = piece.chapter
            note = _single_line(timeline.chapters[piece.chapter].title)
            out += [f"NOTE {_no_arrow(note)}", ""]
        out.append(f"{_vtt_time(piece.start_ms)} --> {_vtt_time(piece.end_ms)}")
        out += [_vtt_escape(line) for line in piece.lines]
        out.append("")
    return "\n".join(out)


def render_srt(timeline: Timeline) -> str:
    """Render an SRT transcript: 1-based cues of at most 2 x 32 characters."""
    out: list[str] = []
    for index, piece in enumerate(_pieces(timeline, SRT_LINE_CHARS), start=1):
        out.append(str(index))
        out.append(f"{_srt_time(piece.start_ms)} --> {_srt_time(piece.end_ms)}")
        out += [_no_arrow(line) for line in piece.lines]
        out.append("")
    return "\n".join(out)


def render_sidecars(
    mp3_path: Path,
    timeline: Timeline,
    *,
    title: str,
    podcast: str | None,
    author: str | None,
    file_name: str | None = None,
) -> dict[Path, bytes]:
    """The sidecars of ``mp3_path`` as bytes, keyed by where they belong.

    ``file_name`` is the audio file the chapters name (``mp3_path``'s by
    default): formats built together share one set of sidecars.
    """
    paths = sidecar_paths(mp3_path)
    chapters = render_chapters_json(
        timeline,
        title=title,
        podcast=podcast,
        author=author,
        file_name=file_name or mp3_path.name,
    )
    files = {
        paths.chapters_json: chapters.encode("utf-8"),
        paths.vtt: render_vtt(timeline).encode("utf-8"),
        paths.srt: render_srt(timeline).encode("utf-8"),
    }
    for chapter in timeline.chapters:
        if chapter.picture is not None:
            files[mp3_path.parent / chapter.picture.name] = chapter.picture.data
    return files


def write_sidecars(
    mp3_path: Path,
    timeline: Timeline,
    *,
    title: str,
    podcast: str | None,
    author: str | None,
) -> SidecarPaths:
    """Write ``<stem>.chapters.json``, ``.vtt`` and ``.srt``, each atomically.

    Builds write sidecars with their MP3 (``output.write_episode``); this is
    for sidecars on their own.
    """
    files = render_sidecars(
        mp3_path, timeline, title=title, podcast=podcast, author=author
    )
    for path, data in files.items():
        write_bytes_atomic(path, data)
    return sidecar_paths(mp3_path)


# --- cue layout ------------------------------------------------------------


def _pieces(timeline: Timeline, width: int) -> list[_Piece]:
    """Lay out every sentence as cues that fit ``MAX_LINES`` x ``width``.

    Cues come out ordered, non-overlapping and inside the duration even if the
    timeline rounds a sentence end past the next start.
    """
    pieces: list[_Piece] = []
    previous_end = 0
    duration = max(timeline.duration_ms, 0)
    for cue in sorted(timeline.cues, key=lambda c: (c.start_ms, c.end_ms)):
        words = _words(cue.text, width)
        if not words:
            continue
        start = min(max(cue.start_ms, previous_end), duration)
        end = min(max(cue.end_ms, start), duration)
        chunks = _chunks(words, width)
        bounds = _split_span(start, end, [len(" ".join(c)) for c in chunks])
        for chunk, (chunk_start, chunk_end) in zip(chunks, bounds, strict=True):
            lines = _wrap(chunk, width)
            if lines is None:  # pragma: no cover - _chunks guarantees a fit
                lines = (" ".join(chunk),)
            pieces.append(_Piece(chunk_start, chunk_end, lines, cue.chapter))
        previous_end = max(previous_end, end)
    return pieces


def _words(text: str, width: int) -> list[str]:
    """Split on breakable spaces; hard-break words longer than a line."""
    words: list[str] = []
    for tied in _BREAKABLE.split(_tie_french_punctuation(text)):
        # A run of tied words too long for a line is untied, not cut.
        parts = tied.split("\u00a0") if len(tied) > width else [tied]
        for word in parts:
            words.extend(_hard_break(word, width))
    return words


def _hard_break(word: str, width: int) -> list[str]:
    """Cut a word longer than a line (a URL...) into line-sized pieces."""
    words: list[str] = []
    if word:
        while len(word) > width:
            words.append(word[:width])
            word = word[width:]
        words.append(word)
    return words


def _wrap(words: Sequence[str], width: int) -> tuple[str, ...] | None:
    """Fit words on one line, or two balanced lines; None when they cannot."""
    text = " ".join(words)
    if len(text) <= width:
        return (text,)
    best: tuple[str, str] | None = None
    for i in range(1, len(words)):
        top, bottom = " ".join(words[:i]), " ".join(words[i:])
        if len(top) > width or len(bottom) > width:
            continue
        if best is None or abs(len(top) - len(bottom)) < abs(
            len(best[0]) - len(best[1])
        ):
            best = (top, bottom)
    return best


def _tie_french_punctuation(text: str) -> str:
    """Keep « » : ; ? ! on the line of their word, as French typesetting does."""
    text = " ".join(_BREAKABLE.split(text.strip()))
    text = text.replace("« ", "«\u00a0")
    return re.sub(r" ([»:;?!])", "\u00a0\\1", text)


def _chunks(words: list[str], width: int) -> list[list[str]]:
    """Split a sentence into the fewest chunks of similar length that fit."""
    total = len(" ".join(words))
    first_guess = max(1, math.ceil(total / (width * MAX_LINES)))
    for count in range(first_guess, len(words) + 1):
        chunks = _even_split(words, count)
        if all(_wrap(chunk, width) is not None for chunk in chunks):
            return chunks
    return [[w] for w in words]  # pragma: no cover - one word always fits


def _even_split(words: list[str], count: int) -> list[list[str]]:
    """Cut words into ``count`` runs near equal character targets."""
    total = len(" ".join(words))
    chunks: list[list[str]] = []
    current: list[str] = []
    done = 0
    for index, word in enumerate(words):
        current.append(word)
        done += len(word) + 1
        remaining_words = len(words) - index - 1
        remaining_chunks = count - len(chunks) - 1
        target = total * (len(chunks) + 1) / count
        if remaining_chunks > 0 and (
            done >= target or remaining_words <= remaining_chunks
        ):
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _split_span(start: int, end: int, weights: list[int]) -> list[tuple[int, int]]:
    """Divide [start, end] in proportion to ``weights``; contiguous, in ms."""
    total = sum(weights) or 1
    bounds: list[tuple[int, int]] = []
    cursor = start
    acc = 0
    for weight in weights:
        acc += weight
        stop = start + round((end - start) * acc / total)
        bounds.append((cursor, stop))
        cursor = stop
    return bounds


# --- formatting ------------------------------------------------------------


def _hms(ms: int) -> tuple[int, int, int, int]:
    ms = max(ms, 0)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return hours, minutes, seconds, millis


def _vtt_time(ms: int) -> str:
    h, m, s, f = _hms(ms)
    return f"{h:02d}:{m:02d}:{s:02d}.{f:03d}"


def _srt_time(ms: int) -> str:
    h, m, s, f = _hms(ms)
    return f"{h:02d}:{m:02d}:{s:02d},{f:03d}"


def _vtt_escape(text: str) -> str:
    # WebVTT cue text is markup: & and < start entities and tags.
    text = _no_arrow(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _no_arrow(text: str) -> str:
    # "-->" ends a cue header in both formats; it can never appear in text.
    return text.replace("-->", "\u2192")


def _single_line(text: str) -> str:
    return " ".join(text.split())
