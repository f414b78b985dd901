"""Every engine's voices, and the Piper voices a user installs.

Listing is cheap and offline: espeak's French voices come from the data that
espeakng-loader ships, Edge's and gTTS's are static lists (asking the services
would need the network), Piper's come from the catalogue shipped in
``narrator/data/voices.json`` plus whatever is installed. Installed Piper voices
live in ``<data dir>/voices/NAME/`` (``NAME.onnx`` + ``NAME.onnx.json``); the
data dir is ``$NARRATOR_DATA_DIR``, else the platform's user data directory.

An install is all or nothing: files are downloaded (or copied) into a hidden
folder beside the target, checked against the catalogue's size and SHA-256,
and the folder is renamed into place, so an interrupted or failed install
leaves nothing that looks installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from narrator.config import environment
from narrator.engines.piper import read_config
from narrator.errors import InputError, VoiceInstallError

__all__ = [
    "CatalogueFile",
    "CatalogueVoice",
    "ENGINES",
    "Voice",
    "catalogue",
    "data_dir",
    "file_sha256",
    "find_installed",
    "install",
    "installed_voices",
    "list_voices",
    "remove",
    "voices_dir",
]

ENGINES = ("espeak", "edge", "gtts", "piper")
PIPER = "piper"
MANIFEST = "voice.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_CHUNK = 1 << 16

# Microsoft Edge's French neural voices (name, language, gender). Static: the
# service's list needs the network, and these are the ones narrator documents.
EDGE_VOICES = (
    ("fr-FR-DeniseNeural", "fr-FR", "F"),
    ("fr-FR-HenriNeural", "fr-FR", "M"),
    ("fr-FR-EloiseNeural", "fr-FR", "F"),
    ("fr-FR-VivienneMultilingualNeural", "fr-FR", "F"),
    ("fr-FR-RemyMultilingualNeural", "fr-FR", "M"),
    ("fr-CA-SylvieNeural", "fr-CA", "F"),
    ("fr-CA-ThierryNeural", "fr-CA", "M"),
    ("fr-CA-AntoineNeural", "fr-CA", "M"),
    ("fr-CA-JeanNeural", "fr-CA", "M"),
    ("fr-BE-CharlineNeural", "fr-BE", "F"),
    ("fr-BE-GerardNeural", "fr-BE", "M"),
    ("fr-CH-ArianeNeural", "fr-CH", "F"),
    ("fr-CH-FabriceNeural", "fr-CH", "M"),
)
# gTTS has one French voice; the Google domain (--gtts-tld) picks the accent.
GTTS_VOICES = (("fr", "fr-FR", "fr"), ("fr-ca", "fr-CA", "ca"))


@dataclass(frozen=True)
class Voice:
    """One voice as ``narrator voices`` lists it."""

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


# -- places ----------------------------------------------------------------


def data_dir() -> Path:
    """narrator's data directory: $NARRATOR_DATA_DIR, else the user data dir."""
    configured = environment().data_dir
    if configured is not None:
        return configured
    import platformdirs

    return Path(platformdirs.user_data_dir("narrator", appauthor=False))


def voices_dir() -> Path:
    return data_dir() / "voices"


# -- the catalogue -----------------------------------------------------------


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


# -- listing ------------------------------------------------------------------


def list_voices(engine: str | None = None) -> list[Voice]:
    """Every voice of ``engine`` (all engines when None), French first.

    Raises:
        InputError: unknown engine name.
    """
    if engine is not None and engine not in ENGINES:
        raise InputError(
            f"voices: unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}."
        )
    listers: dict[str, Callable[[], list[Voice]]] = {
        "espeak": _espeak_voices,
        "edge": _edge_voices,
        "gtts": _gtts_voices,
        "piper": _piper_voices,
    }
    out: list[Voice] = []
    for name in ENGINES:
        if engine is None or engine == name:
            out.extend(listers[name]())
    return out


def installed_voices(engine: str = PIPER, language: str = "fr") -> list[Voice]:
    """Installed voices of ``engine`` speaking ``language``, best first.

    For ``--engine auto``: ``installed_voices("piper", "fr")[0].name`` is the
    voice to pass as ``--voice`` (an empty list means no Piper voice). Only
    Piper voices are installed; other engines give every offline voice.
    """
    prefix = language.lower()
    return [
        v
        for v in list_voices(engine)
        if v.installed
        and v.offline
        and (
            v.language.lower() == prefix or v.language.lower().startswith(prefix + "-")
        )
    ]


def _espeak_voices() -> list[Voice]:
    found: list[Voice] = []
    try:
        import espeakng_loader

        lang_dir = Path(espeakng_loader.get_data_path()) / "lang"
        files = sorted(lang_dir.glob("*/fr*"))
    except (ImportError, OSError, RuntimeError):
        files = []
    for path in files:
        languages = []
        label = ""
        try:
            for line in path.read_text("utf-8", "replace").splitlines():
                key, _, value = line.strip().partition(" ")
                if key == "language":
                    languages.append(value.split()[0])
                elif key == "name":
                    label = value.strip()
        except OSError:
            continue
        code = path.name.lower()
        region = code.split("-")[1].upper() if "-" in code else "FR"
        found.append(
            Voice(
                engine="espeak",
                name=code,
                language=f"fr-{region}",
                gender=None,
                offline=True,
                installed=True,
                note=label,
            )
        )
    if not found:  # the data is missing: list what espeak is asked for anyway
        found.append(Voice("espeak", "fr", "fr-FR", None, True, False))
    return found


def _edge_voices() -> list[Voice]:
    return [
        Voice("edge", name, language, gender, offline=False, installed=False)
        for name, language, gender in EDGE_VOICES
    ]


def _gtts_voices() -> list[Voice]:
    return [
        Voice(
            "gtts",
            name,
            language,
            "F",
            offline=False,
            installed=False,
            note=f"--gtts-tld {tld}",
        )
        for name, language, tld in GTTS_VOICES
    ]


def _piper_voices() -> list[Voice]:
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


def _installed_names() -> list[str]:
    root = voices_dir()
    try:
        entries = sorted(p.name for p in root.iterdir() if p.is_dir())
    except OSError:
        return []
    return [name for name in entries if _NAME.fullmatch(name)]


def _config_language(config: Path) -> str:
    try:
        raw = json.loads(config.read_text("utf-8"))
        code = (raw.get("language") or {}).get("code") or raw["espeak"]["voice"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "unknown"
    return str(code).replace("_", "-")


def find_installed(name: str) -> Path | None:
    """The model file of installed voice ``name``, or None."""
    if not _NAME.fullmatch(name):
        return None
    model = voices_dir() / name / f"{name}.onnx"
    if model.is_file() and Path(f"{model}.json").is_file():
        return model
    return None


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
    _remember(resolved, st.st_size, st.st_mtime_ns, digest)
    return digest


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_index() -> dict[str, Any]:
    try:
        raw = json.loads(_hash_index().read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _remember(path: Path, size: int, mtime_ns: int, digest: str) -> None:
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


# -- install and remove -----------------------------------------------------------

Progress = Callable[[str, int, int], None]  # file name, bytes done, bytes total


@dataclass(frozen=True)
class Installed:
    name: str
    model: Path
    already: bool = False  # it was installed before; nothing was downloaded


def install(
    name: str,
    *,
    source: Path | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
    timeout_s: float = 30.0,
) -> Installed:
    """Install Piper voice ``name`` from the catalogue or from a local model.

    Downloads from ``base_url``, else ``$NARRATOR_VOICES_URL``, else the
    catalogue's official base URL. With ``source`` (a ``.onnx`` file with its
    ``.onnx.json`` beside it) nothing is downloaded; a name that is in the
    catalogue must then match the catalogue's size and SHA-256.

    Raises:
        InputError: bad name, unknown voice, missing or mismatched local file.
        VoiceInstallError: download failed, incomplete or with the wrong hash.
    """
    _check_name(name)
    entry = catalogue().voices.get(name)
    if source is None and entry is None:
        raise InputError(
            f"voices: {name!r} is not in narrator's catalogue; see `narrator voices "
            "--engine piper`, or install a local model with --from MODEL.onnx."
        )
    existing = find_installed(name)
    if existing is not None and source is None and not force:
        return Installed(name, existing, already=True)
    root = voices_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=root))
    try:
        if source is not None:
            digests = _copy_local(name, source, staging, entry)
        else:
            assert entry is not None
            digests = _download(entry, staging, base_url, progress, timeout_s)
        (staging / MANIFEST).write_text(
            json.dumps(
                {
                    "name": name,
                    "engine": PIPER,
                    "source": "file" if source is not None else "catalogue",
                    "sha256": digests,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        _swap_into_place(staging, root / name)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    model = root / name / f"{name}.onnx"
    st = model.stat()
    _remember(model.resolve(), st.st_size, st.st_mtime_ns, digests[model.name])
    return Installed(name, model)


def remove(name: str) -> Path:
    """Remove installed voice ``name``; return the folder it was in.

    Raises:
        InputError: no voice of that name is installed.
    """
    _check_name(name)
    target = voices_dir() / name
    if not target.is_dir():
        raise InputError(
            f"voices: {name!r} is not installed; `narrator voices --engine piper` "
            "lists the installed ones."
        )
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.removed-", dir=target.parent))
    os.replace(target, trash / name)
    shutil.rmtree(trash, ignore_errors=True)
    return target


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InputError(
            f"voices: {name!r} is not a voice name (letters, digits, _ . + -)."
        )


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, replacing an older install atomically
    enough: the old folder is moved aside first and deleted after."""
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    try:
        os.replace(staging, target)
    except OSError:
        if old is not None:
            os.replace(old / target.name, target)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _copy_local(
    name: str, source: Path, staging: Path, entry: CatalogueVoice | None
) -> dict[str, str]:
    model = source.expanduser()
    config = Path(f"{model}.json")
    if not model.is_file():
        raise InputError(f"voices: {model}: no such model file.")
    if model.suffix != ".onnx":
        raise InputError(f"voices: {model}: give the voice's .onnx model file.")
    if not config.is_file():
        raise InputError(
            f"voices: {config}: the model's config is missing; a Piper voice is "
            "MODEL.onnx with MODEL.onnx.json beside it."
        )
    read_config(config)  # a broken config fails now, not at the first build
    digests: dict[str, str] = {}
    pairs = ((model, f"{name}.onnx", "model"), (config, f"{name}.onnx.json", "config"))
    for src, dest_name, kind in pairs:
        digest, size = _copy_hashing(src, staging / dest_name)
        if entry is not None:
            expected: CatalogueFile = getattr(entry, kind)
            if size != expected.size or digest != expected.sha256:
                raise InputError(
                    f"voices: {src} is not the catalogue's {expected.name} "
                    f"(size {size} vs {expected.size}, SHA-256 {digest[:12]}… vs "
                    f"{expected.sha256[:12]}…); install it under another name."
                )
        digests[dest_name] = digest
    return digests


def _copy_hashing(src: Path, dest: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with src.open("rb") as fin, dest.open("wb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            fout.write(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _download(
    entry: CatalogueVoice,
    staging: Path,
    base_url: str | None,
    progress: Progress | None,
    timeout_s: float,
) -> dict[str, str]:
    import requests

    base = base_url or environment().voices_url or catalogue().base_url
    if not base.endswith("/"):
        base += "/"
    digests: dict[str, str] = {}
    with requests.Session() as session:
        # The small config first: a wrong mirror fails before 60 MB of model.
        for item in (entry.config, entry.model):
            url = base + item.url_path
            digests[item.name] = _fetch(
                session, url, item, staging / item.name, progress, timeout_s
            )
    return digests


def _fetch(
    session: Any,
    url: str,
    item: CatalogueFile,
    dest: Path,
    progress: Progress | None,
    timeout_s: float,
) -> str:
    import requests

    h = hashlib.sha256()
    done = 0
    try:
        with session.get(url, stream=True, timeout=timeout_s) as reply:
            if reply.status_code != 200:
                reason = f" {reply.reason}" if reply.reason else ""
                raise VoiceInstallError(
                    f"voices: cannot download {item.name}: HTTP "
                    f"{reply.status_code}{reason} from {url}."
                )
            with dest.open("wb") as out:
                for chunk in _chunks(reply):
                    h.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if done > item.size:
                        break
                    if progress is not None:
                        progress(item.name, done, item.size)
    except requests.Timeout as exc:
        raise VoiceInstallError(
            f"voices: {url} did not answer within {timeout_s:g} s; check the "
            "network and retry (nothing was installed)."
        ) from exc
    except requests.exceptions.ChunkedEncodingError as exc:
        raise VoiceInstallError(
            f"voices: the download of {item.name} was interrupted (the connection "
            f"closed before the end of {item.size} bytes); retry (nothing was "
            "installed)."
        ) from exc
    except requests.ConnectionError as exc:
        if done:
            raise VoiceInstallError(
                f"voices: the download of {item.name} was interrupted after "
                f"{done} of {item.size} bytes; retry (nothing was installed)."
            ) from exc
        raise VoiceInstallError(
            f"voices: cannot reach {url} ({type(exc).__name__}); check the network, "
            "or install a downloaded copy with --from MODEL.onnx."
        ) from exc
    except requests.RequestException as exc:
        raise VoiceInstallError(
            f"voices: the download of {item.name} failed after {done} of "
            f"{item.size} bytes ({type(exc).__name__}); retry (nothing was installed)."
        ) from exc
    if done != item.size:
        raise VoiceInstallError(
            f"voices: {item.name}: got {done} bytes, the catalogue says {item.size}; "
            "the download was cut short or the mirror serves another file "
            "(nothing was installed)."
        )
    digest = h.hexdigest()
    if digest != item.sha256:
        raise VoiceInstallError(
            f"voices: {item.name}: SHA-256 {digest} does not match the catalogue's "
            f"{item.sha256}; the file is corrupt or not the published one "
            "(nothing was installed)."
        )
    return digest


def _chunks(reply: Any) -> Iterator[bytes]:
    for chunk in reply.iter_content(chunk_size=_CHUNK):
        if chunk:
            yield bytes(chunk)
