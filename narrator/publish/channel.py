"""The podcast's channel settings: ``podcast.toml``, its checks and its starter.

``narrator publish`` reads the file (plus command-line overrides) on every
run; ``narrator init-podcast`` writes the commented starter. A typo here
would silently give a show without a category, so every key is checked.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from narrator.atomic import write_bytes_atomic
from narrator.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

# Apple Podcasts top-level categories; a typo here means no category at all.
APPLE_CATEGORIES = (
    "Arts",
    "Business",
    "Comedy",
    "Education",
    "Fiction",
    "Government",
    "Health & Fitness",
    "History",
    "Kids & Family",
    "Leisure",
    "Music",
    "News",
    "Religion & Spirituality",
    "Science",
    "Society & Culture",
    "Sports",
    "Technology",
    "True Crime",
    "TV & Film",
)

_REQUIRED = ("title", "author", "email", "description", "category", "explicit", "link")
_OPTIONAL = ("language", "image", "subcategory", "guid")


@dataclass(frozen=True)
class PodcastConfig:
    """Channel metadata, from ``podcast.toml`` plus command-line overrides.

    ``image`` is a URL or a path relative to the feed's URL. ``guid`` pins the
    ``podcast:guid`` so the show keeps its identity if the feed moves.
    """

    title: str
    author: str
    email: str
    description: str
    category: str
    explicit: bool
    link: str
    language: str = "fr"
    image: str | None = None
    subcategory: str | None = None
    guid: str | None = None


def load_podcast_config(
    path: Path, overrides: Mapping[str, str] | None = None
) -> PodcastConfig:
    """Read ``podcast.toml`` and apply overrides (e.g. ``--title``).

    Keys may be at the top level or in a ``[podcast]`` table.

    Raises:
        ConfigError: the file is missing or not TOML, a required key is
            missing, or a value has the wrong type or an unknown category.
    """
    overrides = dict(overrides or {})
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: podcast configuration not found; create it with "
            f"`narrator init-podcast {path}` and fill in the values."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    table = raw.get("podcast", raw) if isinstance(raw.get("podcast"), dict) else raw

    known = set(_REQUIRED) | set(_OPTIONAL)
    for key in sorted(set(table) - known):
        logger.warning("%s: unknown key %r ignored", path, key)
    for key in sorted(set(overrides) - known):
        raise ConfigError(
            f"unknown podcast setting {key!r}; use one of {sorted(known)}."
        )

    values: dict[str, object] = {}
    for key in known:
        if key in overrides and overrides[key] is not None:
            values[key] = _from_text(key, overrides[key], source="option")
        elif key in table:
            values[key] = _checked(key, table[key], source=str(path))
    for key in _REQUIRED:
        if key not in values or values[key] == "":
            raise ConfigError(
                f"{path}: missing required key {key!r}; add `{key} = ...` "
                "(see `narrator init-podcast` for a commented example)."
            )
    category = str(values["category"])
    if category not in APPLE_CATEGORIES:
        raise ConfigError(
            f"{path}: category {category!r} is not an Apple Podcasts category; "
            f"use one of: {', '.join(APPLE_CATEGORIES)}."
        )
    email = str(values["email"])
    if "@" not in email:
        raise ConfigError(f"{path}: email {email!r} is not an e-mail address.")
    # Each value was checked against its key's type by _checked/_from_text.
    return PodcastConfig(**cast("dict[str, Any]", values))


def _checked(key: str, value: object, *, source: str) -> object:
    if key == "explicit":
        if not isinstance(value, bool):
            raise ConfigError(
                f"{source}: explicit must be true or false, not {value!r}."
            )
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {key} must be a string, not {value!r}.")
    return value.strip()


def _from_text(key: str, value: str, *, source: str) -> object:
    if key == "explicit":
        lowered = value.strip().lower()
        if lowered in {"true", "yes", "1"}:
            return True
        if lowered in {"false", "no", "0"}:
            return False
        raise ConfigError(f"{source}: explicit must be true or false, not {value!r}.")
    return value.strip()


def starter_config() -> str:
    """Return a commented ``podcast.toml`` for ``narrator init-podcast``."""
    categories = "\n".join(f"#   {c}" for c in APPLE_CATEGORIES)
    return f"""\
# Podcast channel settings for `narrator publish`.
# Every key without a default is required. Values are TOML strings
# ("...") except explicit, which is true or false.

title = "Mon podcast"
author = "Prénom Nom"
# Shown to directories (itunes:owner), not to listeners.
email = "podcast@example.org"
description = "Des résumés lus à voix haute, un épisode par document."
# The show's web page.
link = "https://example.org/"
# ISO 639-1 language code.
language = "fr"
# Apple Podcasts category, exactly one of:
{categories}
category = "Education"
# Optional Apple subcategory, e.g. "Courses" under Education.
# subcategory = "Courses"
explicit = false
# Optional: square JPEG/PNG, 1400-3000 px, as a URL or a path relative to
# the feed. Without it, the first episode's cover is used.
# image = "cover.jpg"
# Optional: pin podcast:guid (a UUID) so the show keeps its identity if the
# feed moves; by default it is derived from the feed URL.
# guid = "..."
"""


def config_with_image(config: PodcastConfig, image_url: str | None) -> PodcastConfig:
    """Return the config with its image replaced (an absolute URL or None)."""
    return replace(config, image=image_url)


def refuse_placeholders(config: PodcastConfig, config_path: Path) -> None:
    """Refuse to publish the starter file's sample show (title, author, e-mail...).

    Raises:
        ConfigError: a key still holds the value ``init-podcast`` wrote.
    """
    starter = tomllib.loads(starter_config())
    left = [
        key
        for key in ("title", "author", "email", "description")
        if getattr(config, key) == starter.get(key)
    ]
    if left:
        raise ConfigError(
            f"{config_path}: {', '.join(left)} still hold the starter's sample values; "
            "describe your show there before publishing."
        )


def init_podcast(path: Path, *, force: bool = False) -> Path:
    """Write the commented starter ``podcast.toml`` for ``narrator init-podcast``.

    Raises:
        InputError: the file exists and ``force`` is false.
    """
    if path.exists() and not force:
        raise InputError(f"{path}: already exists; edit it, or pass --force.")
    write_bytes_atomic(path, starter_config().encode("utf-8"))
    return path


__all__ = [
    "init_podcast",
    "refuse_placeholders",
    "APPLE_CATEGORIES",
    "PodcastConfig",
    "config_with_image",
    "load_podcast_config",
    "starter_config",
]
