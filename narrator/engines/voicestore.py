"""The Piper voice store: the catalogue, the installed models, their hashes.

The Piper engine and the engine registry read it (which voice to load, whether
one is installed for ``--engine auto``, the model's SHA-256 for the clip cache
key); ``build.voices`` lists, installs and removes voices on top of it, never
the reverse. The catalogue of the voices narrator knows is shipped in
``narrator/data/voices.json``. Installed voices live in
``<data dir>/voices/NAME/`` (``NAME.onnx`` + ``NAME.onnx.json``); the data dir
is ``$NARRATOR_DATA_DIR``, else the platform's user data directory. A voice's
``.onnx.json`` config is read here too, so that an install can check it
without loading the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from narrator.config import environment
from narrator.engines.phonemes import BOS, EOS, PAD
from narrator.errors import InputError

__all__ = [
    "Catalogue",
    "CatalogueFile",
    "CatalogueVoice",
    "PiperConfig",
    "Voice",
    "catalogue",
    "data_dir",
    "file_sha256",
    "find_installed",
    "installed",
    "is_voice_name",
    "piper_voices",
    "read_config",
    "remember_sha256",
    "speaks",
    "voices_dir",
]

PIPER = "piper"
READ_CHUNK = 1 << 16  # bytes read at a time when hashing or copying a model
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


@dataclass(frozen=True)
class Voice:
    """One voice as ``narrator voices`` lists it (the store makes the Piper ones,
    ``build.voices`` the other engines')."""

    engine: str
    name: str
    language: str
    gender: str | None
    offline: bool
    installed: bool
    size_bytes: int | None = None
    installable: bool = False
    path: Path | None = None  # the model file of an installed Piper voice
    note: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "name": self.name,
            "language": self.language,
            "gender": self.gender,
            "offline": self.offline,
            "installed": self.installed,
            "size_bytes": self.size_bytes,
            "installable": self.installable,
            "path": str(self.path) if self.path else None,
            "note": self.note,
        }


def speaks(voice: Voice, language: str) -> bool:
    """Say whether ``voice`` speaks ``language`` ("fr" covers fr-FR, fr-CA...)."""
    prefix = language.lower()
    code = voice.language.lower()
    return code == prefix or code.startswith(prefix + "-")


def is_voice_name(name: str) -> bool:
    """Say whether ``name`` can name an installed voice (and its folder)."""
    return _NAME.fullmatch(name) is not None


# -- places ----------------------------------------------------------------


def data_dir() -> Path:
    """narrator's data directory: $NARRATOR_DATA_DIR, else the user data dir.

    Raises:
        ConfigError: a NARRATOR_* variable is invalid.
    """
    configured = environment().data_dir
    if configured is not None:
        return configured
    import platformdirs

    return Path(platformdirs.user_data_dir("narrator", appauthor=False))


def voices_dir() -> Path:
    return data_dir() / "voices"


# -- the catalogue -----------------------------------------------------------


@dataclass(frozen=True)
class CatalogueFile:
    """One file of a catalogue voice: where it is below the base URL, and what
    it must be (size and SHA-256, from the official repository)."""

    name: str
    url_path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CatalogueVoice:
    name: str
    language: str
    gender: str | None
    quality: str
    sample_rate: int
    speakers: int
    license: str
    model: CatalogueFile
    config: CatalogueFile
    rank: int  # 0 is the best French voice

    @property
    def size_bytes(self) -> int:
        return self.model.size + self.config.size


@dataclass(frozen=True)
class Catalogue:
    base_url: str
    voices: dict[str, CatalogueVoice]


@cache
def catalogue() -> Catalogue:
    """The Piper voices narrator knows, from ``narrator/data/voices.json``."""
    text = resources.files("narrator").joinpath("data/voices.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    voices: dict[str, CatalogueVoice] = {}
    for rank, (name, entry) in enumerate(raw["piper"].items()):
        files = {
            kind: CatalogueFile(
                name=f"{name}{suffix}",
                url_path=str(entry[kind]["path"]),
                size=int(entry[kind]["size"]),
                sha256=str(entry[kind]["sha256"]),
            )
            for kind, suffix in (("model", ".onnx"), ("config", ".onnx.json"))
        }
        voices[name] = CatalogueVoice(
            name=name,
            language=str(entry["language"]),
            gender=entry.get("gender"),
            quality=str(entry["quality"]),
            sample_rate=int(entry["sample_rate"]),
            speakers=int(entry["speakers"]),
            license=str(entry["license"]),
            model=files["model"],
            config=files["config"],
            rank=rank,
        )
    return Catalogue(base_url=str(raw["base_url"]), voices=voices)


# -- installed voices ------------------------------------------------------------


def piper_voices() -> list[Voice]:
    """Every Piper voice: the catalogue's, best first, then those installed from
    a file."""
    known = catalogue().voices
    out: list[Voice] = []
    for name, entry in sorted(known.items(), key=lambda item: item[1].rank):
        model = find_installed(name)
        out.append(
            Voice(
                engine=PIPER,
                name=name,
                language=entry.language,
                gender=entry.gender,
                offline=True,
                installed=model is not None,
                size_bytes=entry.size_bytes,
                installable=True,
                path=model,
                note=f"{entry.quality}, {entry.sample_rate} Hz, {entry.license}",
            )
        )
    for name in _installed_names():
        if name in known:
            continue
        model = find_installed(name)
        if model is None:
            continue
        config = Path(f"{model}.json")
        size = model.stat().st_size + config.stat().st_size
        out.append(
            Voice(
                engine=PIPER,
                name=name,
                language=_config_language(config),
                gender=None,
                offline=True,
                installed=True,
                size_bytes=size,
                installable=False,
                path=model,
                note="installed from a file",
            )
        )
    return out


def installed(language: str = "fr") -> list[Voice]:
    """The installed Piper voices speaking ``language``, best first.

    For ``--engine auto`` and a Piper engine without ``--voice``: the first one
    is the voice to use (an empty list means no Piper voice).
    """
    return [v for v in piper_voices() if v.installed and speaks(v, language)]


def _installed_names() -> list[str]:
    root = voices_dir()
    try:
        entries = sorted(p.name for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    return [name for name in entries if is_voice_name(name)]


def _config_language(config: Path) -> str:
    try:
        raw = json.loads(config.read_text("utf-8"))
        code = (raw.get("language") or {}).get("code") or raw["espeak"]["voice"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "unknown"
    return str(code).replace("_", "-")


def find_installed(name: str) -> Path | None:
    """The model file of installed voice ``name``, or None."""
    if not is_voice_name(name):
        return None
    model = voices_dir() / name / f"{name}.onnx"
    if model.is_file() and Path(f"{model}.json").is_file():
        return model
    return None


# -- a voice's config ----------------------------------------------------------


@dataclass(frozen=True)
class PiperConfig:
    """What narrator reads from a voice's ``.onnx.json``."""

    sample_rate: int
    espeak_voice: str
    noise_scale: float
    length_scale: float
    noise_w: float
    phoneme_id_map: Mapping[str, tuple[int, ...]]
    num_speakers: int
    speaker_id_map: Mapping[str, int]
    language: str
    # The speaker a multi-speaker voice speaks with when none is chosen (the
    # top-level "default_speaker_id", as piper-tts reads it).
    default_speaker_id: int = 0


def read_config(path: Path) -> PiperConfig:
    """Read and check a Piper voice config.

    Raises:
        InputError: the file is missing, not JSON, or lacks what inference needs.
    """
    try:
        raw = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"piper: cannot read the voice config {path}: {exc}") from exc
    except ValueError as exc:
        raise InputError(f"piper: {path} is not valid JSON ({exc}).") from exc
    try:
        config = _parse_config(raw, path)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            f"piper: {path} is not a Piper voice config (missing or bad {exc})."
        ) from exc
    if not 4000 <= config.sample_rate <= 96000:
        raise InputError(f"piper: {path}: sample rate {config.sample_rate} is absurd.")
    if config.num_speakers > 1 and not (
        0 <= config.default_speaker_id < config.num_speakers
    ):
        raise InputError(
            f"piper: {path}: default_speaker_id {config.default_speaker_id} is not "
            f"one of its {config.num_speakers} speakers."
        )
    return config


def _parse_config(raw: Any, path: Path) -> PiperConfig:
    """The config's fields; a missing or mistyped one raises what Python does
    (``read_config`` names it)."""
    phoneme_type = raw.get("phoneme_type", "espeak")
    if phoneme_type != "espeak":
        raise InputError(
            f"piper: {path}: phoneme_type {phoneme_type!r} is not supported "
            "(narrator phonemizes with espeak-ng)."
        )
    inference = raw.get("inference") or {}
    id_map = {
        str(symbol): tuple(int(i) for i in ids)
        for symbol, ids in raw["phoneme_id_map"].items()
    }
    for required in (PAD, BOS, EOS):
        if required not in id_map:
            raise InputError(
                f"piper: {path}: phoneme_id_map has no {required!r} symbol."
            )
    language = (raw.get("language") or {}).get("code") or raw["espeak"]["voice"]
    return PiperConfig(
        sample_rate=int(raw["audio"]["sample_rate"]),
        espeak_voice=str(raw["espeak"]["voice"]),
        noise_scale=float(inference.get("noise_scale", 0.667)),
        length_scale=float(inference.get("length_scale", 1.0)),
        noise_w=float(inference.get("noise_w", 0.8)),
        phoneme_id_map=id_map,
        num_speakers=int(raw.get("num_speakers", 1)),
        speaker_id_map={
            str(k): int(v) for k, v in (raw.get("speaker_id_map") or {}).items()
        },
        language=str(language).replace("_", "-"),
        default_speaker_id=int(raw.get("default_speaker_id") or 0),
    )


# -- hashing -------------------------------------------------------------------

_hash_lock = threading.Lock()
_hashes: dict[tuple[str, int, int], str] = {}


def _hash_index() -> Path:
    return data_dir() / "model-hashes.json"


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, computed once per (path, size, mtime).

    A Piper model is 30-80 MB: hashing it on every build would cost about a
    second, so digests are remembered in memory and in the data directory.
    A file that changes gets a new size or mtime, hence a new digest.
    """
    resolved = path.resolve()
    st = resolved.stat()
    key = (str(resolved), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key in _hashes:
            return _hashes[key]
        index = _read_index()
        stored = index.get(key[0])
        if (
            isinstance(stored, dict)
            and stored.get("size") == st.st_size
            and stored.get("mtime_ns") == st.st_mtime_ns
            and isinstance(stored.get("sha256"), str)
        ):
            _hashes[key] = stored["sha256"]
            return _hashes[key]
    digest = _sha256_of(resolved)
    remember_sha256(resolved, st.st_size, st.st_mtime_ns, digest)
    return digest


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_index() -> dict[str, Any]:
    try:
        raw = json.loads(_hash_index().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def remember_sha256(path: Path, size: int, mtime_ns: int, digest: str) -> None:
    """Record the digest of ``path`` at this size and mtime (an install has just
    computed it while copying), in memory and in the data directory's index."""
    with _hash_lock:
        _hashes[(str(path), size, mtime_ns)] = digest
        index = _read_index()
        index[str(path)] = {"size": size, "mtime_ns": mtime_ns, "sha256": digest}
        # Forget files that are gone, so the index does not grow forever.
        index = {k: v for k, v in index.items() if Path(k).exists()}
        target = _hash_index()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=target.parent, prefix=".hashes-", delete=False
            ) as tmp:
                json.dump(index, tmp)
            os.replace(tmp.name, target)
        except OSError:
            pass  # a cache: failing to write it only costs a re-hash later
