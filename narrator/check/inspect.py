"""What ``narrator check`` was given, told apart by its first bytes, and checked.

A file is an MP3 (an ID3v2 tag or a frame sync), an MP4 (an ``ftyp`` box)
or a feed (XML); a folder is every such file in it (not below), each
checked once even when a feed in the folder names it too. Input named on
the command line that cannot be read is an :class:`~narrator.errors.InputError`
(exit 2); a file inside a folder or named by a feed that cannot be read is
an ``unreadable`` problem of the report (exit 1), so one bad file does not
hide the others' reports.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from narrator.check.feed import Context, Media, check_feed
from narrator.check.mp3 import check_mp3
from narrator.check.mp4 import check_mp4
from narrator.check.rules import Report, problem
from narrator.container import mp4tags, tags
from narrator.container.frames import parse_header
from narrator.errors import InputError, NarratorError

MEDIA_SUFFIXES = frozenset({".mp3", ".m4a", ".m4b", ".mp4"})
FEED_SUFFIXES = frozenset({".xml", ".rss"})


def sniff(path: Path) -> str:
    """ "mp3", "m4a", "m4b", "feed" or "unknown", from the first bytes.

    Raises:
        InputError: the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc}).") from exc
    if head[4:8] == b"ftyp":
        return "m4b" if path.suffix.lower() == ".m4b" or b"M4B " in head else "m4a"
    if head[:3] == b"ID3" or parse_header(head, 0) is not None:
        return "mp3"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "feed"
    return "unknown"


def check_media(path: Path) -> Media:
    """The report of one MP3 or MP4, with its chapters and guid for the feed.

    Raises:
        InputError: not an MP3 or MP4, or it cannot be read as one.
    """
    kind = sniff(path)
    try:
        if kind == "mp3":
            problems = check_mp3(path)
            chapters, _ = tags.read_chapters(path)
            guid = tags.read_extra(path).get(tags.TXXX_GUID)
        elif kind in ("m4a", "m4b"):
            problems = check_mp4(path)
            chapters, _ = mp4tags.read_chapters(path)
            guid = mp4tags.read_extra(path).get(tags.TXXX_GUID)
        else:
            raise InputError(f"{path}: not an MP3, M4A or M4B file.")
    except InputError:
        raise
    except NarratorError as exc:
        raise InputError(str(exc)) from exc
    report = Report(str(path), "mp3" if kind == "mp3" else "mp4", tuple(problems))
    return Media(report, kind, chapters, guid)


def check_path(
    path: Path, *, root: Path | None = None, fetch: bool = False
) -> list[Report]:
    """The reports of a file, a feed or a folder (see the module's docstring).

    Raises:
        InputError: ``path`` cannot be read as any of them.
    """
    if path.is_dir():
        return _check_folder(path, root, fetch)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder.")
    kind = sniff(path)
    if kind == "feed":
        return _check_one_feed(path, root, fetch)
    if kind == "unknown":
        raise InputError(
            f"{path}: not an MP3, M4A/M4B or RSS feed; narrator check reads those."
        )
    return [check_media(path).report]


def check_published(feed_path: Path, episodes: Iterable[Path]) -> list[Report]:
    """The feed's rules, and the files of the items of ``episodes`` only.

    What ``publish`` checks after writing: one episode's files, not every
    episode's the feed has held.

    Raises:
        InputError: the feed cannot be read.
    """
    only = frozenset(p.name for p in episodes)
    return _check_one_feed(feed_path, None, False, only)


def _check_one_feed(
    path: Path, root: Path | None, fetch: bool, only: frozenset[str] | None = None
) -> list[Report]:
    with tempfile.TemporaryDirectory(prefix="narrator-check-") as tmp:
        context = Context(
            feed_dir=path.parent,
            root=root,
            fetch_dir=Path(tmp) if fetch else None,
            check_media=check_media,
            only=only,
        )
        return check_feed(path, context)


def _check_folder(folder: Path, root: Path | None, fetch: bool) -> list[Report]:
    entries = sorted(p for p in folder.iterdir() if p.is_file())
    reports: list[Report] = []
    for entry in [p for p in entries if p.suffix.lower() in FEED_SUFFIXES]:
        try:
            reports += _check_one_feed(entry, root, fetch)
        except InputError as exc:
            reports.append(_unreadable(entry, "feed", exc))
    seen = {Path(r.path).resolve() for r in reports if r.kind != "feed"}
    for entry in [p for p in entries if p.suffix.lower() in MEDIA_SUFFIXES]:
        if entry.resolve() in seen:
            continue
        try:
            reports.append(check_media(entry).report)
        except InputError as exc:
            reports.append(_unreadable(entry, "unknown", exc))
    return reports


def _unreadable(path: Path, kind: str, exc: Exception) -> Report:
    return Report(str(path), kind, (problem("unreadable", str(exc)),))
