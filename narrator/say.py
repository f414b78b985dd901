"""One phrase to an MP3: the `narrator say` quick listen, on the build's own path.

It goes through the same normalization, engine, mastering and encoder as a
build (one section, no chapters file), so what you hear is what a build says.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from narrator.errors import InputError


def say_text(
    text: str,
    output_path: Path,
    *,
    engine: str = "espeak",
    options: Mapping[str, str] | None = None,
    lexicon_path: Path | None = None,
    preset_name: str = "phone",
) -> tuple[str, float]:
    """Synthesize ``text`` to ``output_path``; return (spoken text, duration in s).

    Raises:
        NarratorError: empty text, engine or audio failure.
    """
    from narrator.audio import PRESETS, SegmentLayout, make_clip, render_clip
    from narrator.config import Pauses
    from narrator.engines import SectionRef, get_engine
    from narrator.model import Chapter, EpisodeInfo
    from narrator.mp3 import EncodedSegment, encode_segment, splice
    from narrator.speech import load_lexicon, normalize, split_sentences
    from narrator.tags import render_id3

    if not text.strip():
        raise InputError("nothing to say: give a non-empty phrase.")
    lexicon = load_lexicon(lexicon_path) if lexicon_path is not None else {}
    eng = get_engine(engine, options or {})
    sentences = [s for s in split_sentences(text.strip()) if s.strip()] or [
        text.strip()
    ]
    spoken = [normalize(s, engine=eng.profile, lexicon=lexicon) for s in sentences]
    audios = eng.synthesize(spoken, section=SectionRef(0, sentences[0]))
    clip = make_clip(audios)
    preset = PRESETS[preset_name]
    pauses = Pauses()
    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{output_path.parent}: cannot create the folder: {exc.strerror}."
        ) from exc
    raw = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:8]}.frames")
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")
    try:
        layout = SegmentLayout()
        kinds = ["sentence"] * (len(spoken) - 1) + ["end"]
        encoded = encode_segment(
            render_clip(
                clip,
                kinds,
                preset,
                pauses,
                lead_ms=100,
                tail_ms=300,
                target_lufs=None,
                layout=layout,
            ),
            preset.fmt,
            raw,
        )
        duration_ms = int(encoded.samples * 1000 / preset.fmt.sample_rate)
        id3 = render_id3(
            EpisodeInfo(title=text[:100]), [Chapter(text[:100], 0, duration_ms)]
        )
        with tmp.open("wb") as f:
            splice(
                [
                    EncodedSegment(
                        raw,
                        encoded.frames,
                        encoded.samples,
                        encoded.size_bytes,
                        crc16=encoded.crc16,
                    )
                ],
                preset.fmt,
                f,
                id3=id3,
            )
        os.replace(tmp, output_path)
    finally:
        for p in (raw, tmp):
            with contextlib.suppress(OSError):
                p.unlink()
    return " ".join(spoken), encoded.samples / preset.fmt.sample_rate
