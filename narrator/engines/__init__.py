"""Engine registry: names to factories, imported only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from narrator.engines.base import Audio, Engine, SectionRef, WordTiming
from narrator.errors import EngineUnavailable, InputError

__all__ = [
    "Audio",
    "BUILTIN",
    "Engine",
    "SectionRef",
    "WordTiming",
    "engine_names",
    "get_engine",
]

BUILTIN: dict[str, str] = {
    "edge": "narrator.engines.edge:create",
    "espeak": "narrator.engines.espeak:create",
    "gtts": "narrator.engines.google:create",
}


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    found: dict[str, str] = {}
    for ep in entry_points(group="narrator.engines"):
        if ep.name in BUILTIN or ep.name in found:
            raise InputError(
                f"engine name {ep.name!r} is registered twice; uninstall one plugin."
            )
        found[ep.name] = ep.value
    return found


def engine_names() -> list[str]:
    return sorted({**BUILTIN, **_entry_points()})


def get_engine(name: str, options: Mapping[str, str] | None = None) -> Engine:
    """Create the engine called ``name``.

    Raises:
        InputError: no engine has that name.
        EngineUnavailable: the engine cannot run here.
    """
    registry = {**BUILTIN, **_entry_points()}
    target = registry.get(name)
    if target is None:
        raise InputError(
            f"unknown engine {name!r}; choose one of: {', '.join(sorted(registry))}."
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} cannot be imported: {exc}") from exc
    factory: Callable[[Mapping[str, str]], Engine] = getattr(module, attr)
    return factory(dict(options or {}))
