"""Chapter rules every container shares: order, overlap, the end; the JSON sidecar.

A player lists chapters in the order the file gives them (the CTOC's for
ID3, the box's for MP4), so order is checked in that order, not sorted.
The Podcasting 2.0 chapters JSON must tell the same story as the embedded
chapters: apps that read one or the other (AntennaPod, Podverse) would
otherwise disagree about where a chapter starts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from narrator.check.rules import END_SLACK_MS, Problem, problem
from narrator.model import Chapter

# A JSON start may differ from the embedded one by rounding (JSON in seconds).
JSON_SLACK_MS = 500
MAX_JSON_BYTES = 5_000_000


def chapter_problems(chapters: Sequence[Chapter], duration_ms: int) -> list[Problem]:
    """Chapters (in the order the file lists them) out of order, overlapping, late."""
    found: list[Problem] = []
    for before, after in zip(chapters, chapters[1:], strict=False):
        if after.start_ms < before.start_ms:
            found.append(
                problem(
                    "chapters-out-of-order",
                    f"chapter {after.title!r} ({after.start_ms} ms) is listed after "
                    f"{before.title!r} ({before.start_ms} ms).",
                )
            )
            break
    ordered = sorted(chapters, key=lambda c: c.start_ms)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.end_ms > after.start_ms:
            found.append(
                problem(
                    "chapters-overlap",
                    f"chapter {before.title!r} ends at {before.end_ms} ms, after "
                    f"{after.title!r} starts ({after.start_ms} ms).",
                )
            )
            break
    late = [
        c for c in chapters if max(c.start_ms, c.end_ms) > duration_ms + END_SLACK_MS
    ]
    if late and duration_ms > 0:
        c = late[0]
        found.append(
            problem(
                "chapters-past-end",
                f"chapter {c.title!r} runs to {max(c.start_ms, c.end_ms)} ms, past "
                f"the audio's end ({duration_ms} ms).",
            )
        )
    return found


def read_chapters_json(data: bytes) -> list[tuple[float, str]] | None:
    """(start s, title) of a Podcasting 2.0 chapters JSON; None if it is not one."""
    try:
        doc = json.loads(data)
        entries = doc["chapters"]
        return [(float(c["startTime"]), str(c.get("title", ""))) for c in entries]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def json_problems(
    data: bytes, chapters: Sequence[Chapter], *, source: str
) -> list[Problem]:
    """The chapters JSON at ``source`` against the embedded chapters."""
    listed = read_chapters_json(data)
    if listed is None:
        return [problem("unreadable", f"{source}: not a Podcasting 2.0 chapters JSON.")]
    embedded = sorted(chapters, key=lambda c: c.start_ms)
    if len(listed) != len(embedded):
        return [
            problem(
                "chapters-json-mismatch",
                f"{source} lists {len(listed)} chapters, the file {len(embedded)}.",
            )
        ]
    for (start_s, title), chapter in zip(sorted(listed), embedded, strict=True):
        if abs(start_s * 1000 - chapter.start_ms) > JSON_SLACK_MS or (
            title.strip() != chapter.title.strip()
        ):
            return [
                problem(
                    "chapters-json-mismatch",
                    f"{source} has {title!r} at {start_s:.3f} s, the file "
                    f"{chapter.title!r} at {chapter.start_ms / 1000:.3f} s.",
                )
            ]
    return []


def sidecar_problems(path: Path, chapters: Sequence[Chapter]) -> list[Problem]:
    """The ``<stem>.chapters.json`` beside ``path``, when there is one."""
    sidecar = path.with_name(path.stem + ".chapters.json")
    try:
        with sidecar.open("rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
    except OSError:
        return []
    if len(data) > MAX_JSON_BYTES:
        return [problem("unreadable", f"{sidecar.name}: over {MAX_JSON_BYTES} bytes.")]
    return json_problems(data, chapters, source=sidecar.name)
