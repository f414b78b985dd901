"""A chapter's picture: any image Pillow reads, made a JPEG players show.

Apple's chapter artwork and the Podcasting 2.0 ``img`` are shown at a few
hundred pixels; a photo straight from a camera is megabytes in every CHAP
frame. So each picture is turned upright (its EXIF orientation applied),
flattened to RGB (transparency on white), scaled down to at most
``MAX_PICTURE_PX`` on its long side, and saved as a baseline JPEG. No I/O:
bytes in, bytes out (``build.pictures`` reads the files and caches this).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["MAX_PICTURE_PX", "PICTURE_VERSION", "PictureError", "prepare_picture"]

MAX_PICTURE_PX = 1400
JPEG_QUALITY = 85
# Bump when the output of prepare_picture changes for the same input.
PICTURE_VERSION = 1
# A decompression bomb is refused before it is decoded: memory stays bounded
# (a 50 Mpx PNG decodes to 200 MB of RGBA; a phone's 48 Mpx photo fits).
MAX_SOURCE_PIXELS = 50_000_000


class PictureError(ValueError):
    """The bytes are not an image Pillow can read whole."""


def prepare_picture(data: bytes) -> bytes:
    """Return ``data`` as an upright RGB JPEG, at most 1400 px on its long side.

    Raises:
        PictureError: not a readable image (unknown format, truncated, too big).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                if width * height > MAX_SOURCE_PIXELS:
                    raise PictureError(f"{width}x{height} pixels is too large")
                # A JPEG decodes straight at a fraction of its size (1/2..1/8)
                # still at least MAX_PICTURE_PX: less memory, less time.
                opened.draft("RGB", (MAX_PICTURE_PX, MAX_PICTURE_PX))
                opened.load()  # a truncated file fails here
                image = ImageOps.exif_transpose(opened)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        if isinstance(exc, PictureError):
            raise
        raise PictureError(str(exc) or type(exc).__name__) from exc
    image = _flatten(image)
    image.thumbnail((MAX_PICTURE_PX, MAX_PICTURE_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")
