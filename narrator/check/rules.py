"""The rule registry: every pitfall ``narrator check`` knows, by id.

Each rule names the apps it breaks (from their issue threads, see
docs/ARCHITECTURE.md) and how to fix it, naming narrator's option where one
exists, so a report reads the same whatever module found the problem. The
ids are part of the ``--json`` interface: keep them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Rule:
    """A pitfall: how bad, for whom, and what to do."""

    id: str
    severity: Severity
    apps: tuple[str, ...]
    fix: str


@dataclass(frozen=True)
class Problem:
    """One rule broken by one file, with what was found."""

    rule: str
    severity: Severity
    message: str
    apps: tuple[str, ...]
    fix: str

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "apps": list(self.apps),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Report:
    """What was checked (a file or a URL), as what, and what was found."""

    path: str
    kind: str  # "mp3", "mp4", "feed", "chapters", "unknown"
    problems: tuple[Problem, ...]

    def failed(self) -> bool:
        """A problem that counts: an error or a warning, not an info note."""
        return any(p.severity != "info" for p in self.problems)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "problems": [p.to_json() for p in self.problems],
        }


# The largest embedded cover we accept. Apple sets no byte limit, but players
# decode embedded art whole and some stall or drop big APICs (Voice#508). 1 MB
# leaves room for a well-compressed 3000 px JPEG (narrator's own drawn cover
# weighs about 350 kB) and flags uncompressed or photographic PNG art.
MAX_COVER_BYTES = 1_000_000
# Apple's artwork sizes: container.cover's, repeated here because importing
# it would put the check's deepest import chain over its limit (a test keeps
# the two equal).
MIN_COVER_PX = 1400
MAX_COVER_PX = 3000
# Apple's chapter view broke on longer ID3v2.4 chapter titles (radio-t#211).
MAX_V24_TITLE_CHARS = 51
# A chapter may end this far past the audio (frame rounding) before it counts.
END_SLACK_MS = 100

_ALL_APPS = ("Apple Podcasts", "Overcast", "Pocket Casts", "AntennaPod")

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "chapters-no-ctoc",
            "error",
            ("Overcast", "BookPlayer", "Apple Podcasts"),
            "Add a top-level CTOC frame listing every CHAP; narrator build "
            "always writes one.",
        ),
        Rule(
            "id3v24-long-chapter-title",
            "warning",
            ("Apple Podcasts",),
            "Write ID3v2.3 (narrator build --id3 2.3, the default) or shorten "
            f"chapter titles to {MAX_V24_TITLE_CHARS} characters.",
        ),
        Rule(
            "vbr-no-xing",
            "error",
            _ALL_APPS,
            "Write a Xing/Info header (ffmpeg -write_xing 1, LAME's default) or "
            "encode CBR: narrator build writes CBR with an Info header.",
        ),
        Rule(
            "cover-format",
            "error",
            ("Apple Podcasts", "Spotify"),
            "Use a JPEG or PNG cover (narrator build --cover FILE.jpg).",
        ),
        Rule(
            "cover-not-square",
            "error",
            ("Apple Podcasts", "Spotify"),
            "Crop the cover square (narrator build --cover FILE).",
        ),
        Rule(
            "cover-pixels",
            "error",
            ("Apple Podcasts",),
            "Resize the cover to 1400-3000 px a side (3000 is best).",
        ),
        Rule(
            "cover-not-rgb",
            "error",
            ("Apple Podcasts",),
            "Convert the cover to RGB (no CMYK, greyscale, palette or alpha).",
        ),
        Rule(
            "cover-too-large",
            "warning",
            ("Voice", "AntennaPod", "Pocket Casts"),
            f"Recompress the cover under {MAX_COVER_BYTES // 1000} kB (a JPEG at "
            "quality 85-90).",
        ),
        Rule(
            "chapters-out-of-order",
            "error",
            _ALL_APPS,
            "List chapters in time order; narrator build writes them so.",
        ),
        Rule(
            "chapters-overlap",
            "error",
            _ALL_APPS,
            "End each chapter where the next starts.",
        ),
        Rule(
            "chapters-past-end",
            "error",
            _ALL_APPS,
            "End the last chapter at the audio's end; rebuild with narrator build.",
        ),
        Rule(
            "chapters-json-mismatch",
            "warning",
            ("Podcast Addict", "AntennaPod", "Podverse", "Apple Podcasts"),
            "Write the chapters JSON from the same timeline as the file "
            "(narrator build writes both; publish the pair together).",
        ),
        Rule(
            "mp4-one-chapter-format",
            "warning",
            ("Apple Podcasts", "Apple Books", "AntennaPod", "BookPlayer"),
            "Write both chapter formats (Nero chpl and a QuickTime chapter track, "
            "tref/chap): narrator build --format m4b, or ffmpeg's ipod muxer.",
        ),
        Rule(
            "mp4-duration",
            "warning",
            ("Apple Podcasts", "Apple Books", "Pocket Casts"),
            "Hide the encoder priming with an edit list matching iTunSMPB "
            "(narrator build --format m4a|m4b writes both).",
        ),
        Rule(
            "enclosure-length",
            "error",
            ("Apple Podcasts", "Spotify", "Overcast"),
            "Set the enclosure length to the file's size in bytes; "
            "narrator publish does.",
        ),
        Rule(
            "enclosure-type",
            "error",
            ("Apple Podcasts", "Spotify"),
            "Set the enclosure type to the file's MIME type: audio/mpeg for MP3, "
            "audio/mp4 for M4A and M4B (as narrator publish writes).",
        ),
        Rule(
            "enclosure-missing",
            "error",
            _ALL_APPS,
            "Put the episode file the feed names beside the feed (or pass --root).",
        ),
        Rule(
            "guid-changed",
            "error",
            _ALL_APPS,
            "Keep an episode's guid across versions of the feed (apps list a new "
            "guid as a new episode); narrator publish keeps the episode's "
            "NARRATOR_GUID.",
        ),
        Rule(
            "guid-duplicate",
            "error",
            _ALL_APPS,
            "Give every item its own guid.",
        ),
        Rule(
            "transcript-type",
            "warning",
            ("Podverse", "Apple Podcasts", "AntennaPod"),
            "Type SRT transcripts application/x-subrip and WebVTT text/vtt; "
            "narrator publish does.",
        ),
        Rule(
            "unreadable",
            "error",
            _ALL_APPS,
            "Replace the file: it cannot be read as what its name says.",
        ),
        Rule(
            "not-checked",
            "info",
            (),
            "Pass --fetch to fetch and check files the feed names by URL.",
        ),
    )
}


def problem(rule_id: str, message: str) -> Problem:
    """The problem of rule ``rule_id`` with what was found in ``message``."""
    rule = RULES[rule_id]
    return Problem(rule.id, rule.severity, message, rule.apps, rule.fix)
