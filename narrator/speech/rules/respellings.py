"""Words given a spoken form by a lexicon: the user's, then the built-in one.

Both put their spoken form in the pass's vault, so no later rule rewrites it:
a user entry is final by promise, and a respelling ("Google" -> "Gougueule")
is French-phonetic text that the acronym or number rules must not read again.
"""

from __future__ import annotations

import re
from functools import lru_cache

from narrator.speech.builtin_lexicon import builtin, user_pattern, whole_word_pattern
from narrator.speech.rules.base import Pass


def user_lexicon(text: str, run: Pass) -> str:
    """The user lexicon first: literal, whole-word, case-sensitive keys; a key
    with spaces also matches across any run of whitespace."""
    if not run.lexicon:
        return text
    items = tuple(sorted((k, v) for k, v in run.lexicon.items() if k.strip()))
    pattern = user_pattern(items)
    if pattern is None:
        return text
    table = dict(items)
    spaced = {" ".join(k.split()): v for k, v in items}
    return pattern.sub(
        lambda m: run.vault.put(
            table.get(m.group()) or spaced.get(" ".join(m.group().split()), "")
        ),
        text,
    )


@lru_cache(maxsize=1)
def _brands() -> tuple[re.Pattern[str], dict[str, str]]:
    """Compile the built-in respellings once, on first use."""
    table = {" ".join(k.split()): v for k, v in builtin().respell.items()}
    return whole_word_pattern(list(table)) or re.compile(r"(?!)"), table


def brands(text: str, run: Pass) -> str:
    """English names respelled for a voice that reads them as French (espeak)."""
    if not run.profile.respell_brands:
        return text
    pattern, table = _brands()
    return pattern.sub(
        lambda m: run.vault.put(table[" ".join(m.group().split())]), text
    )
