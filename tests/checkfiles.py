"""Files made the way other tools make them, for ``narrator check``'s tests.

ffmpeg (narrator.ffmpeg's binary) encodes, mutagen tags, Pillow draws: each
helper breaks one rule or none, so a test can say which rule fires.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from pathlib import Path

from mutagen.id3 import APIC, CHAP, CTOC, ID3, TIT2, TXXX, CTOCFlags
from PIL import Image

from narrator.ffmpeg import ffmpeg_exe

NO_OFFSET = 0xFFFFFFFF


def ffmpeg(*args: str) -> None:
    proc = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def cbr_mp3(path: Path, seconds: float = 3.0) -> Path:
    """A CBR MP3 as ffmpeg writes it: an ID3v2.4 tag and an Info header."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f=440:d={seconds}:r=44100",
        "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(path),
    )  # fmt: skip
    return path


def vbr_mp3(path: Path, *, xing: bool) -> Path:
    """LAME VBR (-q:a 4) over silence then noise, with or without its Xing header."""
    ffmpeg(
        "-f", "lavfi", "-i",
        "aevalsrc=if(lt(t\\,1.5)\\,0\\,random(0)-0.5):d=3:s=44100",
        "-ac", "1", "-c:a", "libmp3lame", "-q:a", "4",
        "-write_xing", "1" if xing else "0", str(path),
    )  # fmt: skip
    return path


def add_chapters(
    path: Path,
    spans: Sequence[tuple[str, int, int]],
    *,
    toc: Sequence[str] | None = None,
    version: int = 3,
) -> None:
    """CHAP frames (ids ch0, ch1...) and, unless ``toc`` is (), a top-level CTOC."""
    tags = ID3(path)
    for i, (title, start, end) in enumerate(spans):
        tags.add(
            CHAP(
                element_id=f"ch{i}",
                start_time=start,
                end_time=end,
                start_offset=NO_OFFSET,
                end_offset=NO_OFFSET,
                sub_frames=[TIT2(encoding=3, text=[title])],
            )
        )
    ids = [f"ch{i}" for i in range(len(spans))] if toc is None else list(toc)
    if ids:
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=["Chapitres"])],
            )
        )
    tags.save(path, v2_version=version)


def add_cover(path: Path, data: bytes, mime: str = "image/jpeg") -> None:
    tags = ID3(path)
    tags.add(APIC(encoding=3, mime=mime, type=3, desc="cover", data=data))
    tags.save(path, v2_version=3)


def add_guid(path: Path, guid: str) -> None:
    tags = ID3(path)
    tags.add(TXXX(encoding=3, desc="NARRATOR_GUID", text=[guid]))
    tags.save(path, v2_version=3)


def image(
    size: tuple[int, int] = (1400, 1400), mode: str = "RGB", fmt: str = "JPEG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "#3366aa" if mode == "RGB" else 128).save(buffer, fmt)
    return buffer.getvalue()


def noise_png(side: int = 1400) -> bytes:
    """A valid square RGB PNG far over the byte limit (noise does not compress)."""
    import os

    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buffer, "PNG"
    )
    return buffer.getvalue()
