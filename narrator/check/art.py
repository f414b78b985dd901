"""The cover rules: Apple's artwork requirements, and the weight of embedded art.

Only the image's header is read (Pillow's ``open`` decodes no pixels), so a
check costs the same for any cover.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from narrator.check.rules import (
    MAX_COVER_BYTES,
    MAX_COVER_PX,
    MIN_COVER_PX,
    Problem,
    problem,
)


def cover_problems(data: bytes, *, where: str = "the embedded cover") -> list[Problem]:
    """What Apple (square RGB JPEG/PNG of 1400-3000 px) and players object to."""
    try:
        with warnings.catch_warnings():
            # A huge image is a finding (its size below), not a warning on stderr.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, mode, (width, height) = image.format or "?", image.mode, image.size
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
    ) as exc:
        return [problem("cover-format", f"{where} is not a readable image ({exc}).")]
    found: list[Problem] = []
    if fmt not in ("JPEG", "PNG"):
        found.append(problem("cover-format", f"{where} is a {fmt} image."))
    if width != height:
        found.append(problem("cover-not-square", f"{where} is {width} x {height} px."))
    if not MIN_COVER_PX <= max(width, height) <= MAX_COVER_PX:
        found.append(
            problem(
                "cover-pixels",
                f"{where} is {width} x {height} px, not {MIN_COVER_PX}-{MAX_COVER_PX}.",
            )
        )
    if mode != "RGB":
        found.append(problem("cover-not-rgb", f"{where} is in mode {mode}."))
    if len(data) > MAX_COVER_BYTES:
        found.append(
            problem(
                "cover-too-large",
                f"{where} weighs {len(data)} bytes (over {MAX_COVER_BYTES}).",
            )
        )
    return found
