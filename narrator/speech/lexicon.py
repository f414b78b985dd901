"""Pronunciation lexicons: the built-in French one and user TOML files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from narrator.errors import ConfigError

Lexicon = Mapping[str, str]  # written form -> spoken form, user-supplied

BUILTIN_PATH = Path(__file__).resolve().parents[1] / "data" / "lexicon_fr.toml"


def load_user_lexicon(source_path: Path, lexicon_path: Path | None) -> dict[str, str]:
    """The user lexicon: ``[lexicon]`` of narrator.toml beside the document, then
    the ``--lexicon`` file on top.

    Raises:
        ConfigError: a lexicon file is missing or invalid.
    """
    lexicon: dict[str, str] = {}
    beside = source_path.parent / "narrator.toml"
    if beside.is_file():
        lexicon.update(load_lexicon(beside))
    if lexicon_path is not None:
        if not lexicon_path.is_file():
            raise ConfigError(f"{lexicon_path}: no such lexicon file.")
        lexicon.update(load_lexicon(lexicon_path))
    return lexicon


def load_lexicon(path: Path) -> dict[str, str]:
    """Read a TOML lexicon of ``written = "spoken"`` pairs.

    Accept either a top-level table of pairs, or a ``[lexicon]`` table inside a
    ``narrator.toml`` (other top-level tables are then ignored).

    Raises:
        ConfigError: the file cannot be read, is not valid TOML, or holds a
            value that is not a string.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the lexicon ({exc.strerror or exc}); check the path."
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the lexicon is not UTF-8 text; save it as UTF-8."
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts "(at line N, column M)" in its message
        raise ConfigError(f"{path}: invalid TOML: {exc}; fix the file.") from exc
    if "lexicon" in data:
        table = data["lexicon"]
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: [lexicon] must be a table of written = spoken pairs."
            )
    else:
        # A plain lexicon file: top-level pairs; tables (other settings of a
        # narrator.toml without [lexicon]) are not lexicon entries.
        table = {k: v for k, v in data.items() if not isinstance(v, dict)}
    result: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{path}: lexicon entry {key!r} must be a string "
                f"(got {type(value).__name__}); quote the spoken form."
            )
        if key.strip():
            result[key] = value
    return result


@dataclass(frozen=True)
class Builtin:
    """The built-in lexicon: espeak respellings and acronyms read as words."""

    respell: Mapping[str, str]
    words: Mapping[str, str]
    spell: frozenset[str]


@lru_cache(maxsize=1)
def builtin() -> Builtin:
    """Load narrator/data/lexicon_fr.toml once."""
    text = BUILTIN_PATH.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    respell = dict(data.get("respell", {}))
    # A lower-case key also matches its capitalised form ("podcast", "Podcast").
    for key, value in list(respell.items()):
        if key[:1].islower():
            respell.setdefault(key[:1].upper() + key[1:], value[:1].upper() + value[1:])
    return Builtin(
        respell=respell,
        words=dict(data.get("words", {})),
        spell=frozenset(data.get("spell", {}).get("acronyms", [])),
    )


def whole_word_pattern(keys: list[str]) -> re.Pattern[str] | None:
    """Compile keys into one whole-word, case-sensitive alternation.

    Longer keys win over their prefixes; a space in a key matches any run of
    whitespace so "Sam Altman" also matches across a line break.
    """
    keys = sorted({k for k in keys if k.strip()}, key=len, reverse=True)
    if not keys:
        return None
    parts = [r"\s+".join(re.escape(w) for w in k.split()) for k in keys]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


@lru_cache(maxsize=32)
def user_pattern(items: tuple[tuple[str, str], ...]) -> re.Pattern[str] | None:
    """Compile (and cache) the pattern of a user lexicon."""
    return whole_word_pattern([k for k, _ in items])
