"""MP4 boxes (ISO/IEC 14496-12 atoms), read without loading the file.

The one reader of MP4 structure in the project: the M4A/M4B writer checks
what ffmpeg muxed (``moov/udta/chpl``, the chapter track's ``tref/chap``, the
edit list), ``narrator check`` inspects any MP4 with it, and the tests walk
files with it. It reads headers only and seeks over payloads, so a file of
any length costs a few reads per box; a box whose size runs past its parent,
or a tree deeper than :data:`MAX_DEPTH`, is an :class:`~narrator.errors.AudioError`
(a damaged or hostile file), never a crash or a loop.

Box layout: a 32-bit big-endian size and a four-character type; size 1 means
a 64-bit size follows, size 0 means "to the end of the parent". ``meta`` is a
full box (4 bytes of version and flags before its children) in ISO files but
a plain container in QuickTime ``udta``; the two are told apart by peeking.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from narrator.errors import AudioError

# Boxes whose payload is a sequence of child boxes. ``stsd`` and ``dref`` hold
# an entry count first (handled in CHILD_OFFSET); sample entries are not walked.
CONTAINERS = frozenset(
    {
        "moov", "trak", "mdia", "minf", "stbl", "udta", "edts", "dinf", "tref",
        "ilst", "meta", "moof", "traf", "mvex", "sinf", "schi", "gmhd", "stsd",
        "dref",
    }
)  # fmt: skip
# Bytes between a container's header and its first child.
CHILD_OFFSET = {"stsd": 8, "dref": 8}
MAX_DEPTH = 16
HEADER = struct.Struct(">I4s")
MP4_SUFFIXES = frozenset({".m4a", ".m4b", ".mp4"})


@dataclass(frozen=True)
class Box:
    """One box: where it sits in the file and what it holds.

    ``offset`` is the first byte of the header, ``start`` the first byte of
    the payload, ``end`` one past its last byte; ``path`` names it from the
    top, e.g. ``moov/udta/chpl``.
    """

    type: str
    path: str
    offset: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.offset

    def payload(self, handle: BinaryIO, limit: int = 1 << 20) -> bytes:
        """The payload's bytes, refused above ``limit`` (boxes read whole are small)."""
        length = self.end - self.start
        if length > limit:
            raise AudioError(
                f"MP4 box {self.path} holds {length} bytes, more than {limit}"
            )
        handle.seek(self.start)
        data = handle.read(length)
        if len(data) != length:
            raise AudioError(f"MP4 box {self.path} is cut short")
        return data


def walk(handle: BinaryIO) -> Iterator[Box]:
    """Every box of the file, depth first, parents before their children."""
    handle.seek(0, 2)
    total = handle.tell()
    yield from _children(handle, 0, total, "", 0)


def walk_path(path: Path) -> list[Box]:
    """Every box of the file at ``path`` (see :func:`walk`)."""
    with path.open("rb") as handle:
        return list(walk(handle))


def find(boxes: list[Box], path: str) -> list[Box]:
    """The boxes at ``path`` (``moov/trak/tref/chap``), in file order."""
    return [box for box in boxes if box.path == path]


def is_mp4(handle: BinaryIO) -> bool:
    """Whether the file starts like an ISO base media file (an ``ftyp`` box)."""
    handle.seek(0)
    head = handle.read(8)
    return len(head) == 8 and head[4:8] == b"ftyp"


def is_mp4_file(path: Path) -> bool:
    """Whether ``path`` is to be read as an MP4: named .m4a, .m4b or .mp4, or
    starting with ``ftyp`` whatever its name.

    By name first, so that a damaged M4B is reported as an MP4 that cannot be
    read rather than as a bad MP3. An unreadable file is not an MP4 here; its
    reader says why.
    """
    if path.suffix.lower() in MP4_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return is_mp4(handle)
    except OSError:
        return False


def _children(
    handle: BinaryIO, start: int, end: int, parent: str, depth: int
) -> Iterator[Box]:
    if depth > MAX_DEPTH:
        raise AudioError(f"MP4 boxes nest deeper than {MAX_DEPTH} under {parent}")
    position = start
    while end - position >= HEADER.size:
        box = _read_header(handle, position, end, parent)
        yield box
        if box.type in CONTAINERS:
            first = box.start + CHILD_OFFSET.get(box.type, 0)
            if box.type == "meta" and _is_full_box(handle, box):
                first += 4
            yield from _children(handle, first, box.end, box.path, depth + 1)
        position = box.end


def _read_header(handle: BinaryIO, position: int, end: int, parent: str) -> Box:
    handle.seek(position)
    size, raw = HEADER.unpack(handle.read(HEADER.size))
    kind = raw.decode("latin-1")
    start = position + HEADER.size
    if size == 1:
        large = handle.read(8)
        if len(large) != 8:
            raise AudioError(f"MP4 box {kind!r} at {position} is cut short")
        size = struct.unpack(">Q", large)[0]
        start += 8
    elif size == 0:
        size = end - position
    path = f"{parent}/{kind}" if parent else kind
    if size < start - position or position + size > end:
        raise AudioError(
            f"MP4 box {path} at byte {position} runs past its parent ({size} bytes)"
        )
    return Box(kind, path, position, start, position + size)


def _is_full_box(handle: BinaryIO, box: Box) -> bool:
    """ISO ``meta`` starts with version/flags; QuickTime's starts with a child box."""
    if box.end - box.start < 12:
        return False
    handle.seek(box.start)
    head = handle.read(12)
    return head[4:8] != b"hdlr" and head[:4] == b"\0\0\0\0"
