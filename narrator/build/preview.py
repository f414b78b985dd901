"""The sections of a document, previewed: what `narrator sections` shows.

The parse as a build sees it and, with an engine's profile, the text each
section sends (the user lexicon applied) and what it leaves out, without
reading or writing the cache; with a Piper voice (``preview_phonemes``), each
utterance's phonemes as the engine sends them, so a user can see why a word
sounds wrong and write a lexicon entry (the voice's config is read, its model
is not loaded). Apart from ``plan`` because no build needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from narrator.build.plan import read_document, section_warnings
from narrator.engines import piper
from narrator.engines.voicestore import read_config
from narrator.errors import EngineUnavailable, InputError
from narrator.model import Section
from narrator.speech import normalize
from narrator.speech.lexicon import load_user_lexicon

__all__ = ["Preview", "SectionPreview", "preview_phonemes", "preview_sections"]


@dataclass(frozen=True)
class SectionPreview:
    """One section as the parse found it and, when asked, as the engine hears it."""

    number: int  # 1-based
    section: Section
    spoken: normalize.SpokenSection | None = None  # with a profile: what is sent
    # With a Piper voice: per utterance, the phonemes of each inference.
    phonemes: tuple[tuple[str, ...], ...] | None = None

    def to_json(self) -> dict[str, object]:
        section = self.section
        body = " ".join(p.text for p in section.paragraphs)
        row: dict[str, object] = {
            "index": self.number,
            "title": section.title,
            "heading": section.has_heading,
            "line": section.line,
            "paragraphs": len(section.paragraphs),
            "characters": section.characters,
            "preview": body[:80] + ("…" if len(body) > 80 else ""),
        }
        if self.spoken is not None:
            # One line per engine text: the heading, then each sentence.
            texts = [u.text for u in self.spoken.utterances]
            row["spoken"] = "\n".join(texts)
            row["utterances"] = texts
            # Characters not spoken, every kind together; what they were, as
            # written (the first few runs); and how many of each script or kind.
            row["left_out"] = self.spoken.left_out_count
            row["left_out_text"] = list(self.spoken.left_out_items)
            row["left_out_kinds"] = dict(self.spoken.dropped)
        if self.phonemes is not None:
            # phonemes[i] belongs to utterances[i]: one string per inference.
            row["phonemes"] = [list(said) for said in self.phonemes]
        return row


@dataclass(frozen=True)
class Preview:
    """A document's sections, to check the parse before synthesizing."""

    title: str | None
    sections: tuple[SectionPreview, ...]
    # With a profile: what a build would warn about (`section_warnings`).
    warnings: tuple[str, ...] = ()

    def to_json(self) -> list[dict[str, object]]:
        return [s.to_json() for s in self.sections]


def preview_sections(
    source_path: Path,
    profile: str | None = None,
    lexicon_path: Path | None = None,
) -> Preview:
    """The sections of the summary at ``source_path``; with an engine's
    ``profile``, each made speakable as a build sends it (the user lexicon
    applied, no cache read or written).

    Raises:
        SummaryError: the document cannot be read.
        ConfigError: a lexicon file is missing or invalid.
    """
    document = read_document(source_path)
    spoken: Sequence[normalize.SpokenSection | None] = [None] * len(document.sections)
    if profile is not None:
        lexicon = load_user_lexicon(source_path, lexicon_path)
        spoken = [
            normalize.speak_section(s, engine=profile, lexicon=lexicon)
            for s in document.sections
        ]
    previews = tuple(
        SectionPreview(i, section, said)
        for i, (section, said) in enumerate(
            zip(document.sections, spoken, strict=True), start=1
        )
    )
    warnings = [
        warning
        for p in previews
        if p.spoken is not None
        for warning in section_warnings(p.number, p.section, p.spoken)
    ]
    return Preview(document.title, previews, tuple(warnings))


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
