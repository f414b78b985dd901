"""Engine registry (names to factories, imported only when chosen) and engine choice.

``choose_engine`` resolves ``auto`` and keeps an episode on the engine that
built it; it knows nothing of files or settings: the caller says which engine
(if any) the previous output recorded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from narrator.engines import voicestore
from narrator.engines.base import Engine, SectionRef
from narrator.errors import EngineUnavailable, InputError
from narrator.model import Audio, WordTiming

__all__ = [
    "Audio",
    "BUILTIN",
    "Engine",
    "SectionRef",
    "WordTiming",
    "choose_engine",
    "engine_names",
    "get_engine",
    "profile_of",
]

Note = Callable[[str], None]

BUILTIN: dict[str, str] = {
    "edge": "narrator.engines.edge:create",
    "espeak": "narrator.engines.espeak:create",
    "gtts": "narrator.engines.google:create",
    "piper": "narrator.engines.piper:create",
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


def _module(name: str) -> tuple[ModuleType, str]:
    """The module that implements engine ``name`` and its factory's name.

    Raises:
        InputError: no engine has that name.
        EngineUnavailable: its module cannot be imported.
    """
    registry = {**BUILTIN, **_entry_points()}
    target = registry.get(name)
    if target is None:
        raise InputError(
            f"unknown engine {name!r}; choose one of: {', '.join(sorted(registry))}."
        )
    module_name, _, attr = target.partition(":")
    try:
        return importlib.import_module(module_name), attr
    except ImportError as exc:
        raise EngineUnavailable(f"engine {name!r} cannot be imported: {exc}") from exc


def profile_of(name: str) -> str:
    """The normalization profile of engine ``name``, without creating the engine.

    An engine module declares it once, as ``PROFILE``, and its engine class
    says ``profile = PROFILE``, so ``sections --spoken`` shows the text a build
    sends. A plugin that declares none gets the gTTS one.

    Raises:
        InputError: no engine has that name.
        EngineUnavailable: its module cannot be imported.
    """
    module, _ = _module(name)
    return str(getattr(module, "PROFILE", "gtts"))


def get_engine(name: str, options: Mapping[str, str] | None = None) -> Engine:
    """Create the engine called ``name``.

    Raises:
        InputError: no engine has that name.
        EngineUnavailable: the engine cannot run here.
    """
    module, attr = _module(name)
    factory: Callable[[Mapping[str, str]], Engine] = getattr(module, attr)
    return factory(dict(options or {}))


def choose_engine(
    name: str,
    options: Mapping[str, str],
    *,
    pinned: str | None,
    output_path: Path,
    pinned_voice: str | None = None,
    note: Note | None = None,
) -> Engine:
    """Create the engine for a build, resolving ``auto`` and pinning.

    An episode is never mixed: with ``auto``, an output that exists keeps the
    engine (and, unless ``--voice`` says otherwise, the voice) recorded in its
    tags; if that engine is not available now the build stops (switching is a
    deliberate ``--engine``). A new output gets an installed French Piper
    voice, else gTTS when its endpoint answers a short probe, else espeak-ng.

    Raises:
        EngineUnavailable: the pinned engine cannot run now.
        InputError: unknown engine name or bad engine option.
    """
    say = note or (lambda _msg: None)
    if name != "auto":
        return get_engine(name, options)
    if pinned:
        return _pinned(pinned, options, pinned_voice, output_path, say)
    piper = _installed_piper(options)
    if piper is not None:
        say(f"engine auto: piper (the installed voice {piper.voice})")
        return piper
    try:
        google: Engine | None = get_engine("gtts", options)
    except (EngineUnavailable, InputError):
        google = None
    if google is not None and google.probe():
        say("engine auto: gtts (Google's speech endpoint answered)")
        return google
    say("engine auto: espeak (Google's speech endpoint did not answer; offline voice)")
    return get_engine("espeak", options)


def _pinned(
    pinned: str,
    options: Mapping[str, str],
    voice: str | None,
    output_path: Path,
    say: Note,
) -> Engine:
    """The engine (and voice) the existing output was built with, if it can run.

    Raises:
        EngineUnavailable: it cannot run here, or is not reachable now.
    """
    if voice and not options.get("voice"):
        options = {**options, "voice": voice}
    try:
        engine = get_engine(pinned, options)
    except EngineUnavailable as exc:
        raise EngineUnavailable(
            f"{output_path} was built with {pinned}, which cannot run here "
            f"({exc}); pass --engine NAME to switch on purpose (every section "
            "is re-synthesized)."
        ) from exc
    if not engine.probe():
        raise EngineUnavailable(
            f"{output_path} was built with {pinned}, which is not reachable now; "
            "retry later, or pass --engine espeak to switch on purpose "
            "(every section is re-synthesized)."
        )
    say(f"engine auto: {pinned} (the engine {output_path.name} was built with)")
    return engine


def _installed_piper(options: Mapping[str, str]) -> Engine | None:
    """A Piper engine on the best installed French voice, None if there is none.

    A ``--voice`` meant for another engine (``fr`` for espeak) is not a Piper
    voice: the installed one is used instead.
    """
    if not voicestore.installed("fr"):
        return None
    try:
        return get_engine("piper", options)
    except InputError:
        return get_engine("piper", {k: v for k, v in options.items() if k != "voice"})
