"""Cover art: validate a user's image against Apple's rules, or draw one.

Apple Podcasts wants square art of 1400 to 3000 px, JPEG or PNG, in the RGB
colour space. ``validate_cover`` checks exactly that and says how to fix the
file. ``generate_cover`` draws a 3000 x 3000 JPEG with the podcast and
episode titles; its colours come from a hash of the podcast name, so every
episode of one show shares a palette.

Pillow's built-in font has no accented letters, so the package ships DejaVu
Sans subset to Latin scripts (``narrator/data``, Bitstream Vera licence).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
import unicodedata
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from narrator.errors import InputError

MIN_COVER_PX = 1400
MAX_COVER_PX = 3000
_MIMES = {"JPEG": "image/jpeg", "PNG": "image/png"}

_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
_BOLD_FONT = "DejaVuSans-Bold-Latin.ttf"
_REGULAR_FONT = "DejaVuSans-Latin.ttf"
# Wrap at ordinary spaces only; no-break spaces tie French punctuation.
_BREAKABLE = re.compile(r"[ \t\r\n]+")


def validate_cover(data: bytes, *, path: str) -> str:
    """Check cover art against Apple's rules and return its MIME type.

    Raises:
        InputError: the data is not a JPEG or PNG image, is not square, is
            outside 1400-3000 px, or is not plain RGB.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or "unknown"
            mode = image.mode
            width, height = image.size
            image.load()  # a truncated file fails here, not on the host
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable image ({exc}); cover art must be a JPEG or "
            "PNG file."
        ) from exc
    if fmt not in _MIMES:
        raise InputError(
            f"{path}: is a {fmt} image; cover art must be JPEG or PNG. "
            "Convert it, e.g. save it as JPEG."
        )
    if width != height:
        raise InputError(
            f"{path}: is {width}x{height} px; cover art must be square. "
            "Crop it to a square."
        )
    if not MIN_COVER_PX <= width <= MAX_COVER_PX:
        raise InputError(
            f"{path}: is {width}x{height} px; cover art must be between "
            f"{MIN_COVER_PX} and {MAX_COVER_PX} px on a side (3000 preferred). "
            "Resize it."
        )
    if mode != "RGB":
        raise InputError(f"{path}: {_mode_problem(mode)}")
    return _MIMES[fmt]


def _mode_problem(mode: str) -> str:
    if mode == "CMYK":
        what = "uses the CMYK colour space"
    elif mode in {"RGBA", "LA", "PA"} or mode.endswith("A"):
        what = f"has an alpha channel (mode {mode})"
    elif mode == "P":
        what = "is a palette image"
    elif mode in {"L", "1"}:
        what = "is greyscale"
    else:
        what = f"uses colour mode {mode}"
    return (
        f"{what}; cover art must be RGB without transparency. Export it as an "
        "RGB JPEG (or flatten it onto a background and save as RGB PNG)."
    )


def generate_cover(title: str, podcast: str | None, *, size: int = 3000) -> bytes:
    """Draw square cover art with the podcast and episode titles, as JPEG.

    The same podcast name always gives the same colours; the episode title
    is set as large as fits in at most six lines.
    """
    seed = hashlib.sha256((podcast or title).strip().casefold().encode()).digest()
    hue = seed[0] / 255
    dark = _hsv(hue, 0.55, 0.26)
    deep = _hsv((hue + 0.08) % 1.0, 0.65, 0.12)
    accent = _hsv((hue + 0.5) % 1.0, 0.55, 0.95)

    image = _gradient(size, dark, deep)
    draw = ImageDraw.Draw(image)
    margin = round(size * 0.09)
    text_width = size - 2 * margin

    # Podcast name: small caps line with an accent bar above it.
    y = margin
    bar_height = max(4, size // 120)
    draw.rectangle((margin, y, margin + size // 6, y + bar_height), fill=accent)
    y += bar_height + round(size * 0.035)
    if podcast:
        small = _font(_REGULAR_FONT, round(size * 0.045))
        name = _fit_line(_printable(podcast, small).upper(), small, text_width)
        draw.text((margin, y), name, font=small, fill=(235, 235, 235))

    # Episode title: as large as fits between the header and the waveform.
    top = margin + round(size * 0.2)
    bottom = size - margin - round(size * 0.16)
    lines, big = _fit_block(title, text_width, bottom - top, size)
    line_height = _line_height(big)
    block = line_height * len(lines)
    y = top + (bottom - top - block) // 2
    for line in lines:
        draw.text((margin, y), line, font=big, fill=(255, 255, 255))
        y += line_height

    _waveform(draw, seed, margin, size - margin, size, accent)

    out = io.BytesIO()
    # No optimize=True: its Huffman pass holds every DCT coefficient of the
    # 3000 px image in memory (~27 MB, the peak of a cold build) for a file
    # about 15 % smaller.
    image.save(out, format="JPEG", quality=88, optimize=False, progressive=False)
    return out.getvalue()


# --- drawing helpers -----------------------------------------------------


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _gradient(
    size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> Image.Image:
    """A vertical gradient, drawn as one column stretched sideways.

    Compositing two full-size images through a mask peaked at ~130 MB for a
    3000 px cover; this holds a single RGB image (27 MB).
    """
    column = Image.new("RGB", (1, size))
    last = max(1, size - 1)
    column.putdata(
        [
            tuple(
                round(t + (b - t) * y / last) for t, b in zip(top, bottom, strict=True)
            )
            for y in range(size)
        ]
    )
    return column.resize((size, size), Image.Resampling.NEAREST)


@cache
def _font(name: str, px: int) -> ImageFont.FreeTypeFont:
    # A plain path: importlib.resources fails when an editable install makes
    # narrator a namespace package.
    return ImageFont.truetype(str(_DATA_DIR / name), px)


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.08)


def _printable(text: str, font: ImageFont.FreeTypeFont) -> str:
    """Drop characters the font lacks (emoji...) instead of drawing boxes."""
    text = _tie_french_punctuation(unicodedata.normalize("NFC", text))
    probe = font.font_variant(size=24)
    missing = _glyph_pixels(probe, "\uffff")
    kept = [c for c in text if c.isspace() or _glyph_pixels(probe, c) != missing]
    return " ".join(_BREAKABLE.split("".join(kept))).strip()


def _tie_french_punctuation(text: str) -> str:
    """Keep « », : ; ? ! on the line of the word they belong to."""
    text = " ".join(_BREAKABLE.split(text.strip()))
    text = re.sub(r"« ", "«\u00a0", text)
    return re.sub(r" ([»:;?!])", "\u00a0\\1", text)


def _glyph_pixels(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    canvas = Image.new("L", (48, 48))
    ImageDraw.Draw(canvas).text((8, 8), char, font=font, fill=255)
    return canvas.tobytes()


def _wrap_px(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _fit_line(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "\u2026") > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _fit_block(
    title: str, width: int, height: int, size: int
) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """Pick the largest font size whose wrapped title fits the box."""
    px = round(size * 0.11)
    smallest = round(size * 0.04)
    while True:
        font = _font(_BOLD_FONT, px)
        text = _printable(title, font) or "\u2026"
        lines = _wrap_px(text, font, width)
        fits = all(font.getlength(line) <= width for line in lines)
        if (fits and len(lines) <= 6 and _line_height(font) * len(lines) <= height) or (
            px <= smallest
        ):
            break
        px = max(smallest, round(px * 0.92))
    if len(lines) > 6:
        lines = lines[:5] + [_fit_line(" ".join(lines[5:]), font, width)]
    lines = [_fit_line(line, font, width) for line in lines]
    return lines, font


def _waveform(
    draw: ImageDraw.ImageDraw,
    seed: bytes,
    left: int,
    right: int,
    size: int,
    colour: tuple[int, int, int],
) -> None:
    """Draw a row of rounded bars, like a sound wave, from the name's hash."""
    bars = 32
    pitch = (right - left) / bars
    bar_width = max(2, round(pitch * 0.55))
    baseline = size - round(size * 0.15)
    max_height = round(size * 0.09)
    for i in range(bars):
        level = 0.2 + 0.8 * (seed[(i + 1) % len(seed)] / 255)
        height = max(bar_width, round(max_height * level))
        x = round(left + i * pitch)
        draw.rounded_rectangle(
            (x, baseline - height // 2, x + bar_width, baseline + height // 2),
            radius=bar_width // 2,
            fill=colour,
        )
