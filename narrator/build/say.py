"""One phrase to an MP3: the `narrator say` quick listen, on the build's own path.

The phrase becomes a one-section document without a heading and goes through
``pipeline.plan_episode`` and ``pipeline.run_plan`` like any summary: the same
normalization, engine, caches, mastering, encoder and writer, so what you
hear is what a build says (and saying it again costs nothing).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from narrator.config import Settings
from narrator.errors import InputError


def say_text(text: str, settings: Settings) -> tuple[str, float]:
    """Synthesize ``text`` to ``settings.output_path``; return (spoken text, seconds).

    Raises:
        NarratorError: empty text, engine or audio failure.
    """
    from narrator.build.pipeline import plan_episode, run_plan
    from narrator.model import Document, Paragraph, Section
    from narrator.text.sections import first_words

    phrase = " ".join(text.split())
    if not phrase:
        raise InputError("nothing to say: give a non-empty phrase.")
    section = Section(first_words(phrase), (Paragraph(phrase),), has_heading=False)
    settings = replace(settings, title=phrase[:100], sidecars=False)
    # The lexicon of a narrator.toml in the current folder applies, as it
    # would to a summary saved there.
    plan = plan_episode(Path("say.txt"), Document((section,)), settings)
    result = run_plan(plan, settings)
    spoken = " ".join(u.text for sp in plan.sections for u in sp.utterances)
    return spoken, result.duration_s
