"""Locate ffmpeg: the binary bundled by imageio-ffmpeg, or a system one.

A system ffmpeg is preferred only when NARRATOR_FFMPEG names it, so a build
does not silently change with whatever happens to be on PATH.
"""

from __future__ import annotations

import functools
import os
import shutil

from narrator.errors import AudioError


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg binary to use.

    Raises:
        AudioError: no ffmpeg could be found.
    """
    override = os.environ.get("NARRATOR_FFMPEG")
    if override:
        found = shutil.which(override)
        if not found:
            raise AudioError(
                f"NARRATOR_FFMPEG={override!r} is not an executable; fix or unset it."
            )
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AudioError(
            "imageio-ffmpeg is not installed; reinstall narrator with pip."
        ) from exc
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # pragma: no cover - a broken install
        raise AudioError(
            f"the bundled ffmpeg is missing ({exc}); reinstall imageio-ffmpeg."
        ) from exc
