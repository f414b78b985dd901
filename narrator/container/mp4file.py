"""The MP4 around the joined AAC: chapters for ffmpeg's muxer, then the boxes finished.

ffmpeg's ``ipod`` muxer copies the access units and writes both chapter
formats from an ffmetadata file (``render_ffmetadata``): a QuickTime chapter
text track referenced by the audio track's ``tref/chap``, and Nero's
``moov/udta/chpl``. Copying ADTS it cannot know the encoder's priming, so
``finish`` writes what it must into the ``moov`` box it left at the end of
the file:

* the audio track's edit list (``edts/elst``): one edit that skips the
  encoder's priming samples and lasts exactly the audio, and the movie's and the
  track's durations (``mvhd``, ``tkhd``) equal to it, so ffprobe, Chromium and
  Apple's players report the audio's duration;
* the last access unit's duration in ``stts`` (and ``mdhd``) cut to the audio
  it holds, as ffmpeg does when it encodes itself;
* ``chpl`` again, because ffmpeg cuts its titles at 255 bytes in the middle of
  a UTF-8 character (mutagen then refuses the whole file): titles are cut at a
  character boundary instead (the text track keeps them whole).

``moov`` is the file's last box, so rewriting it moves no audio and no chunk
offset changes. Box positions come from ``container.boxes``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from narrator import ffmpeg
from narrator.container import boxes
from narrator.errors import AudioError

CHPL_TITLE_BYTES = 255
# AAC-LC's access unit (``container.aac.UNIT_SAMPLES``; not imported from
# there, which would put this module one level deeper on the build's chain).
UNIT_SAMPLES = 1024
_MAX_MOOV_BYTES = 256 << 20


def _escape(value: str) -> str:
    """ffmetadata's escaping: ``=``, ``;``, ``#``, ``\\`` and newlines."""
    out = value.replace("\\", "\\\\")
    for char in "=;#":
        out = out.replace(char, "\\" + char)
    return out.replace("\n", "\\\n")


def chapters_in_samples(
    titles: Sequence[str], starts: Sequence[int], duration: int, sample_rate: int
) -> str:
    """The ffmetadata of chapters starting at ``starts`` (samples), exactly."""
    lines = [";FFMETADATA1"]
    ends = [*starts[1:], duration]
    for title, start, end in zip(titles, starts, ends, strict=True):
        lines += [
            "[CHAPTER]",
            f"TIMEBASE=1/{sample_rate}",
            f"START={start}",
            f"END={end}",
            f"title={_escape(title)}",
        ]
    return "\n".join(lines) + "\n"


def mux(adts_path: Path, metadata: str, out_path: Path, *, sample_rate: int) -> None:
    """Mux the joined units and the chapters into ``out_path`` (ffmpeg, copying).

    Raises:
        AudioError: ffmpeg fails.
    """
    meta_path = out_path.with_name(out_path.name + ".ffmeta")
    meta_path.write_text(metadata, encoding="utf-8")
    try:
        ffmpeg.mux_mp4(adts_path, meta_path, out_path, sample_rate=sample_rate)
    finally:
        meta_path.unlink(missing_ok=True)


def cut_title(title: str, limit: int = CHPL_TITLE_BYTES) -> bytes:
    """``title`` in UTF-8, cut to ``limit`` bytes at a character boundary."""
    data = title.encode("utf-8")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", "ignore").encode("utf-8")


@dataclass(frozen=True)
class _Edit:
    box: boxes.Box
    payload: bytes


def _u32(value: int) -> bytes:
    if not 0 <= value < 1 << 32:
        raise AudioError(f"an MP4 duration of {value} does not fit 32 bits")
    return struct.pack(">I", value)


def _set_duration(payload: bytes, kind: str, value: int) -> bytes:
    """``payload`` of an mvhd, tkhd or mdhd with its duration set to ``value``."""
    version = payload[0]
    at = {"mvhd": (16, 24), "mdhd": (16, 24), "tkhd": (20, 28)}[kind][version]
    if version == 1:
        return payload[:at] + struct.pack(">Q", value) + payload[at + 8 :]
    return payload[:at] + _u32(value) + payload[at + 4 :]


def _timescale(payload: bytes) -> int:
    at = 20 if payload[0] == 1 else 12
    return int(struct.unpack(">I", payload[at : at + 4])[0])


def _stts(units: int, media_samples: int) -> bytes:
    last = media_samples - (units - 1) * UNIT_SAMPLES
    if not 0 < last <= UNIT_SAMPLES:
        raise AudioError(f"{units} access units cannot hold {media_samples} samples")
    entries = [(units - 1, UNIT_SAMPLES), (1, last)] if last < UNIT_SAMPLES else []
    if not entries:
        entries = [(units, UNIT_SAMPLES)]
    body = b"".join(struct.pack(">II", n, d) for n, d in entries if n)
    return bytes(4) + struct.pack(">I", len(body) // 8) + body


def _chpl(payload: bytes, titles: Sequence[str]) -> bytes:
    """Nero chapters again, with ffmpeg's starts and titles cut at characters."""
    count = payload[8]
    if count != len(titles):
        raise AudioError(f"ffmpeg wrote {count} Nero chapters for {len(titles)}")
    out = bytearray(payload[:9])
    pos = 9
    for title in titles:
        out += payload[pos : pos + 8]
        pos += 8 + 1 + payload[pos + 8]
        data = cut_title(title)
        out += bytes([len(data)]) + data
    return bytes(out)


def _audio_track(found: list[boxes.Box]) -> boxes.Box:
    """The track that refers to the chapter track: the audio."""
    for chap in boxes.find(found, "moov/trak/tref/chap"):
        for trak in boxes.find(found, "moov/trak"):
            if trak.start <= chap.offset < trak.end:
                return trak
    raise AudioError("ffmpeg wrote no chapter track reference (tref/chap)")


def _inside(found: list[boxes.Box], parent: boxes.Box, path: str) -> boxes.Box:
    for box in boxes.find(found, path):
        if parent.start <= box.offset < parent.end:
            return box
    raise AudioError(f"ffmpeg wrote no {path} in the audio track")


def _edits(
    found: list[boxes.Box],
    moov: bytes,
    base: int,
    *,
    units: int,
    duration: int,
    priming: int,
    titles: Sequence[str],
) -> list[_Edit]:
    def payload(box: boxes.Box) -> bytes:
        return moov[box.start - base : box.end - base]

    trak = _audio_track(found)
    mvhd = boxes.find(found, "moov/mvhd")[0]
    mdhd = _inside(found, trak, "moov/trak/mdia/mdhd")
    rate = _timescale(payload(mdhd))
    movie = _timescale(payload(mvhd))
    if movie != rate:
        raise AudioError(f"the MP4's movie timescale {movie} is not the rate {rate}")
    tkhd = _inside(found, trak, "moov/trak/tkhd")
    elst = _inside(found, trak, "moov/trak/edts/elst")
    stts = _inside(found, trak, "moov/trak/mdia/minf/stbl/stts")
    media = priming + duration
    edit = (
        bytes(4) + _u32(1) + _u32(duration) + _u32(priming) + struct.pack(">I", 1 << 16)
    )
    edits = [
        _Edit(mvhd, _set_duration(payload(mvhd), "mvhd", duration)),
        _Edit(tkhd, _set_duration(payload(tkhd), "tkhd", duration)),
        _Edit(elst, edit),
        _Edit(mdhd, _set_duration(payload(mdhd), "mdhd", media)),
        _Edit(stts, _stts(units, media)),
    ]
    for chpl in boxes.find(found, "moov/udta/chpl"):
        edits.append(_Edit(chpl, _chpl(payload(chpl), titles)))
    return edits


def finish(
    path: Path, *, units: int, duration: int, priming: int, titles: Sequence[str]
) -> None:
    """Write the edit list, the durations and the Nero titles into ``path``'s moov.

    ``units`` access units hold ``priming`` samples the edit skips, then
    ``duration`` samples of audio.

    Raises:
        AudioError: the file is not the MP4 ffmpeg's muxer writes (moov last,
            one audio track with a chapter reference, an edit list).
    """
    found = boxes.walk_path(path)
    top = [b for b in found if "/" not in b.path]
    if not top or top[-1].type != "moov":
        raise AudioError(f"{path.name}: the MP4's moov box is not at its end")
    moov_box = top[-1]
    if moov_box.size > _MAX_MOOV_BYTES:
        raise AudioError(f"{path.name}: moov of {moov_box.size} bytes is too large")
    with path.open("r+b") as handle:
        handle.seek(moov_box.offset)
        moov = bytearray(handle.read(moov_box.size))
        edits = _edits(
            found,
            bytes(moov),
            moov_box.offset,
            units=units,
            duration=duration,
            priming=priming,
            titles=titles,
        )
        for edit in sorted(edits, key=lambda e: e.box.offset, reverse=True):
            _replace(moov, found, moov_box.offset, edit)
        handle.seek(moov_box.offset)
        handle.write(moov)
        handle.truncate()


def _replace(moov: bytearray, found: list[boxes.Box], base: int, edit: _Edit) -> None:
    """Replace a box's payload in ``moov``, growing or shrinking its ancestors."""
    box = edit.box
    delta = len(edit.payload) - (box.end - box.start)
    moov[box.start - base : box.end - base] = edit.payload
    if not delta:
        return
    for outer in found:
        if outer.offset <= box.offset and box.end <= outer.end:
            at = outer.offset - base
            if outer.start - outer.offset != 8:
                raise AudioError(f"MP4 box {outer.path} has a 64-bit size")
            size = struct.unpack(">I", moov[at : at + 4])[0] + delta
            moov[at : at + 4] = _u32(size)
