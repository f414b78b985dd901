"""Every engine's voices, and the Piper voices a user installs.

Listing is cheap and offline: espeak's French voices come from the data that
espeakng-loader ships, Edge's and gTTS's are static lists (asking the services
would need the network), Piper's come from the voice store
(``engines.voicestore``: the catalogue shipped in ``narrator/data/voices.json``
plus whatever is installed, in ``<data dir>/voices/NAME/``).

An install is all or nothing: files are downloaded (or copied) into a hidden
folder beside the target, checked against the catalogue's size and SHA-256,
and the folder is renamed into place, so an interrupted or failed install
leaves nothing that looks installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.config import environment
from narrator.engines import voicestore
from narrator.engines.voicestore import PIPER, CatalogueFile, CatalogueVoice, Voice
from narrator.errors import InputError, VoiceInstallError

__all__ = [
    "ENGINES",
    "install",
    "installed_voices",
    "list_voices",
    "remove",
]

ENGINES = ("espeak", "edge", "gtts", "piper")
MANIFEST = "voice.json"

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
        "piper": voicestore.piper_voices,
    }
    out: list[Voice] = []
    for name in ENGINES:
        if engine is None or engine == name:
            out.extend(listers[name]())
    return out


def installed_voices(engine: str = PIPER, language: str = "fr") -> list[Voice]:
    """Installed voices of ``engine`` speaking ``language``, best first.

    Any engine's, as ``narrator voices`` lists them: only Piper voices are
    installed, other engines give every offline voice (the engines themselves
    ask ``engines.voicestore.installed`` for Piper's).
    """
    return [
        v
        for v in list_voices(engine)
        if v.installed and v.offline and voicestore.speaks(v, language)
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
    entry = voicestore.catalogue().voices.get(name)
    if source is None and entry is None:
        raise InputError(
            f"voices: {name!r} is not in narrator's catalogue; see `narrator voices "
            "--engine piper`, or install a local model with --from MODEL.onnx."
        )
    existing = voicestore.find_installed(name)
    if existing is not None and source is None and not force:
        return Installed(name, existing, already=True)
    root = voicestore.voices_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=root))
    try:
        if source is not None:
            digests = _copy_local(name, source, staging, entry)
        else:
            assert entry is not None
            digests = _download(entry, staging, base_url, progress, timeout_s)
        _write_manifest(staging, name, source is not None, digests)
        _swap_into_place(staging, root / name)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    model = root / name / f"{name}.onnx"
    st = model.stat()
    voicestore.remember_sha256(
        model.resolve(), st.st_size, st.st_mtime_ns, digests[model.name]
    )
    return Installed(name, model)


def remove(name: str) -> Path:
    """Remove installed voice ``name``; return the folder it was in.

    Raises:
        InputError: no voice of that name is installed.
    """
    _check_name(name)
    target = voicestore.voices_dir() / name
    if not target.is_dir():
        raise InputError(
            f"voices: {name!r} is not installed; `narrator voices --engine piper` "
            "lists the installed ones."
        )
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.removed-", dir=target.parent))
    os.replace(target, trash / name)
    shutil.rmtree(trash, ignore_errors=True)
    return target


def _write_manifest(
    staging: Path, name: str, from_file: bool, digests: dict[str, str]
) -> None:
    """Say in the voice's folder where it came from and what its files hash to."""
    (staging / MANIFEST).write_text(
        json.dumps(
            {
                "name": name,
                "engine": PIPER,
                "source": "file" if from_file else "catalogue",
                "sha256": digests,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def _check_name(name: str) -> None:
    if not voicestore.is_voice_name(name):
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
    voicestore.read_config(config)  # a broken config fails now, not at the first build
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
        while chunk := fin.read(voicestore.READ_CHUNK):
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

    base = base_url or environment().voices_url or voicestore.catalogue().base_url
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
    return _checked(item, done, h.hexdigest())


def _checked(item: CatalogueFile, size: int, digest: str) -> str:
    """The digest of a downloaded file that is the catalogue's.

    Raises:
        VoiceInstallError: its size or SHA-256 is not the catalogue's.
    """
    if size != item.size:
        raise VoiceInstallError(
            f"voices: {item.name}: got {size} bytes, the catalogue says {item.size}; "
            "the download was cut short or the mirror serves another file "
            "(nothing was installed)."
        )
    if digest != item.sha256:
        raise VoiceInstallError(
            f"voices: {item.name}: SHA-256 {digest} does not match the catalogue's "
            f"{item.sha256}; the file is corrupt or not the published one "
            "(nothing was installed)."
        )
    return digest


def _chunks(reply: Any) -> Iterator[bytes]:
    for chunk in reply.iter_content(chunk_size=voicestore.READ_CHUNK):
        if chunk:
            yield bytes(chunk)
