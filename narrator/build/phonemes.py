"""The sections as a Piper voice hears them (``narrator sections --phonemes``).

A word that sounds wrong is easier to fix when its phonemes are in front of
the user: this previews each utterance as the build sends it (the user lexicon
applied), then phonemizes it exactly as the Piper engine does, without loading
the model.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from narrator.build.plan import Preview, preview_sections
from narrator.engines import piper
from narrator.engines.voicestore import read_config
from narrator.errors import EngineUnavailable, InputError

__all__ = ["preview_phonemes"]


def preview_phonemes(
    source_path: Path,
    voice: str | None = None,
    lexicon_path: Path | None = None,
) -> Preview:
    """The sections with the Piper profile and, for each utterance, the IPA
    phonemes of each inference. ``voice`` is what ``build --voice`` takes;
    None is the installed default.

    Raises:
        SummaryError: the document cannot be read.
        ConfigError: a lexicon file is missing or invalid.
        InputError: no such voice, none installed, or a bad voice config.
        EngineUnavailable: libespeak-ng cannot be loaded.
    """
    try:
        model, _ = piper.resolve_voice(voice)
    except EngineUnavailable as exc:  # the user must install or name a voice
        raise InputError(str(exc)) from exc
    config = read_config(Path(f"{model}.json"))
    preview = preview_sections(source_path, piper.PROFILE, lexicon_path)
    shown = []
    for section in preview.sections:
        said = section.spoken.utterances if section.spoken is not None else ()
        phonemes = tuple(tuple(piper.inference_phonemes(u.text, config)) for u in said)
        shown.append(replace(section, phonemes=phonemes))
    return Preview(preview.title, tuple(shown))
