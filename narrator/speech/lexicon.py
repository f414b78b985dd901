"""User pronunciation lexicons: TOML files of ``written = "spoken"`` pairs.

The built-in French lexicon is ``builtin_lexicon.py``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from narrator.errors import ConfigError


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
