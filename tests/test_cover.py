"""Cover art: Apple's rules enforced with a fix in the message; generated art."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from narrator.container.cover import generate_cover, validate_cover
from narrator.errors import InputError


def _image(mode: str, size: tuple[int, int], fmt: str, colour: object = None) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour if colour is not None else 0).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")]
)
def test_valid_rgb_square_cover_returns_its_mime(fmt: str, mime: str) -> None:
    data = _image("RGB", (1400, 1400), fmt, (10, 120, 200))
    assert validate_cover(data, path="cover") == mime


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_image("RGB", (1600, 1400), "JPEG"), ["1600x1400", "square"]),
        (_image("RGB", (1000, 1000), "PNG"), ["1000x1000", "1400", "3000"]),
        (_image("RGB", (3200, 3200), "JPEG"), ["3200x3200", "Resize"]),
        (_image("CMYK", (1400, 1400), "JPEG"), ["CMYK", "RGB"]),
        (_image("RGBA", (1400, 1400), "PNG"), ["alpha", "RGB"]),
        (_image("P", (1400, 1400), "PNG"), ["palette", "RGB"]),
        (_image("L", (1400, 1400), "PNG"), ["greyscale", "RGB"]),
        (_image("RGB", (1400, 1400), "GIF"), ["GIF", "JPEG or PNG"]),
        (b"not an image at all", ["not a readable image"]),
    ],
    ids=[
        "not-square",
        "too-small",
        "too-large",
        "cmyk",
        "alpha",
        "palette",
        "grey",
        "gif",
        "garbage",
    ],
)
def test_invalid_cover_is_refused_naming_file_and_rule(
    data: bytes, words: list[str]
) -> None:
    with pytest.raises(InputError) as caught:
        validate_cover(data, path="art/cover.png")
    message = str(caught.value)
    assert message.startswith("art/cover.png: ")
    for word in words:
        assert word in message
    assert caught.value.exit_code == 2


def test_truncated_jpeg_is_refused() -> None:
    data = _image("RGB", (1400, 1400), "JPEG", (200, 30, 30))
    with pytest.raises(InputError, match="not a readable image"):
        validate_cover(data[: len(data) // 3], path="half.jpg")


def test_generated_cover_is_a_valid_3000px_rgb_jpeg_under_1mb() -> None:
    data = generate_cover(
        "Économie de l’IA : ce que change « GPT-4 » pour les PME & leurs salariés 🚀",
        "Résumés à écouter",
    )
    assert validate_cover(data, path="generated") == "image/jpeg"
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (3000, 3000)
        assert image.mode == "RGB"
    assert len(data) < 1_000_000


def _background(data: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        pixel = image.convert("RGB").getpixel((5, 5))
    assert isinstance(pixel, tuple)
    return (pixel[0], pixel[1], pixel[2])


def test_colours_follow_the_podcast_name() -> None:
    a1 = generate_cover("Épisode 1", "Les Chroniques", size=1400)
    a2 = generate_cover("Un tout autre titre", "Les Chroniques", size=1400)
    b = generate_cover("Épisode 1", "Autre émission", size=1400)
    assert _background(a1) == pytest.approx(_background(a2), abs=3)
    assert _background(a1) != pytest.approx(_background(b), abs=3)


def test_title_text_is_drawn_and_contrasts_with_the_background() -> None:
    blank = generate_cover("", None, size=1400)
    titled = generate_cover("Un titre assez long pour deux lignes", None, size=1400)
    with Image.open(io.BytesIO(titled)) as image:
        grey = image.convert("L")
        # White title text on a dark background: many near-white pixels.
        bright = sum(grey.histogram()[230:])
        dark = grey.getpixel((5, 5))
    with Image.open(io.BytesIO(blank)) as image:
        blank_bright = sum(image.convert("L").histogram()[230:])
    assert isinstance(dark, int) and dark < 80
    assert bright > blank_bright + 5_000
