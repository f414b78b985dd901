"""Content-addressed cache of what a build makes, so a rebuild makes only what changed.

These kinds of entries live side by side:

* ``clips``: the utterances of one section as the engine spoke them (trimmed
  16-bit PCM, and the engine's word timings when it gives them). Keyed by the
  engine identity and the exact text sent to it, so an entry is shared by every
  document that says the same thing with the same voice.
* ``segments``: one section mastered and encoded to raw CBR MP3 frames, keyed
  by its clip key and every rendering parameter. Reusing them is what makes a
  one-section edit re-encode one section.
* ``covers``: generated cover art (drawing 3000 px costs ~0.5 s).
* ``speech``: one section made speakable (its utterances), keyed by the
  section, the normalization profile, the lexicon and the normalizer's own
  code, so a rebuild normalizes only the sections that changed.
* ``pictures``: a chapter's picture made ready for the tag (upright JPEG).
* ``latest``: no payload; names the last clip made for a section of a title
  with a voice, and the digest of each of its texts, so an edited section
  copies its unchanged utterances from it and synthesizes only the others.
* ``voices`` (a folder per voice, not entries): Piper voices cut in parts by
  ``engines.piper_session``, cut again when missing. ``info`` counts them and
  ``prune`` removes them like entries, by their last use.

Every entry is one file: magic, header length, JSON header (payload length and
sha256, metadata), payload. Writes go to a temporary file that is renamed into
place, so a crash never leaves a half-written entry; reads verify length and
checksum and treat a damaged entry as a miss, and so does every reader of an
entry whose file vanished or was replaced by something else (a folder): the
build makes it again.

The cache is shared: several builds, and a user pruning it. A running build
registers itself (``builds/<pid>-<start>.json``, holding an ``flock`` on it for
as long as it runs: the proof it is alive, which a reused pid cannot fake). A
prune spares what running builds may hold: the scratch files and the entries
used since the oldest running build started (every entry a build reads is
touched), as git's gc keeps recent objects. A registration whose lock is free
belongs to a dead process and is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from narrator import running
from narrator.errors import NarratorError
from narrator.running import RunningBuild

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_MAGIC = b"NRC1"
_KINDS = ("clips", "segments", "covers", "speech", "pictures", "latest")
# Piper voices cut in parts (engines/piper_session): a folder per voice, not an
# entry; its parts.json is touched at each use, which is what prune reads.
_VOICES = "voices"
_VOICE_USE = "parts.json"
_TMP_MAX_AGE_S = 24 * 3600
_BUILDS = "builds"
# A build's start is the wall clock; file times are the kernel's coarser one.
_CLOCK_SLACK_S = 1.0


def default_cache_dir() -> Path:
    """The user's cache directory (NARRATOR_CACHE_DIR is read by ``config``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("narrator", appauthor=False))


def make_key(payload: Mapping[str, object]) -> str:
    """Hash canonical JSON of ``payload`` together with the cache format version."""
    blob = json.dumps(
        {"v": CACHE_VERSION, **payload},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _check_payload(f: BinaryIO, size: int, sha256: str) -> None:
    """Read the payload from ``f``'s position and check its length and hash."""
    digest = hashlib.sha256()
    remaining = size
    while remaining:
        chunk = f.read(min(remaining, 1 << 20))
        if not chunk:
            raise ValueError("truncated payload")
        digest.update(chunk)
        remaining -= len(chunk)
    if f.read(1):
        raise ValueError("trailing bytes")
    if digest.hexdigest() != sha256:
        raise ValueError("checksum mismatch")


@dataclass(frozen=True)
class Entry:
    """A verified cache entry: its metadata and where its payload lies."""

    path: Path
    meta: Mapping[str, object]
    payload_offset: int
    payload_bytes: int
    sha256: str = ""

    def read_payload(self) -> bytes:
        """The payload as the file holds it now.

        Raises:
            OSError: the file vanished or is no longer a file.
        """
        with self.path.open("rb") as f:
            f.seek(self.payload_offset)
            return f.read(self.payload_bytes)


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed, and what it kept for running builds."""

    removed: int
    freed_bytes: int
    kept: int = 0
    kept_bytes: int = 0
    builds: int = 0  # running builds at the time


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    by_kind: Mapping[str, int]


class Cache:
    """The on-disk cache under ``root``."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, kind: str, key: str) -> Path:
        if kind not in _KINDS:
            raise ValueError(f"unknown cache kind {kind!r}")
        return self.root / kind / key[:2] / f"{key}.nrc"

    def _ensure(self) -> None:
        try:
            for kind in _KINDS:
                (self.root / kind).mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NarratorError(
                f"cannot create the cache directory {self.root}: {exc.strerror}; "
                "choose another with --cache-dir or NARRATOR_CACHE_DIR."
            ) from exc

    def has(self, kind: str, key: str) -> bool:
        """Cheap existence test (no verification), for dry runs and plans."""
        return self._path(kind, key).is_file()

    def get(
        self, kind: str, key: str, *, verify: bool = True, touch: bool = True
    ) -> Entry | None:
        """Return the verified entry, or None when missing or damaged.

        ``verify=False`` checks the header and the length but skips hashing the
        payload, for an entry whose payload was verified moments ago.
        ``touch=False`` leaves its last-use time alone (a dry run changes nothing).
        """
        path = self._path(kind, key)
        try:
            with path.open("rb") as f:
                head = f.read(8)
                if len(head) != 8 or head[:4] != _MAGIC:
                    raise ValueError("bad magic")
                (header_len,) = struct.unpack("<I", head[4:])
                header = json.loads(f.read(header_len).decode("utf-8"))
                size = int(header["payload_bytes"])
                if header.get("key") != key:
                    raise ValueError("key mismatch")
                if verify:
                    _check_payload(f, size, str(header["sha256"]))
                elif os.fstat(f.fileno()).st_size != 8 + header_len + size:
                    raise ValueError("wrong length")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
            log.warning("cache entry %s is damaged (%s); it will be rebuilt", path, exc)
            _remove(path)
            return None
        if touch:
            try:
                os.utime(path)  # last use: prune --older-than, running builds
            except OSError:
                pass
        sha = str(header.get("sha256", ""))
        return Entry(path, header.get("meta", {}), 8 + header_len, size, sha)

    def get_bytes(self, kind: str, key: str, *, touch: bool = True) -> bytes | None:
        """The entry's payload, verified, or None when missing or damaged.

        Read in one go: the entry may vanish (a prune) or be replaced (another
        build) between ``get`` and the read, and the bytes must be the ones
        the header describes.
        """
        entry = self.get(kind, key, verify=False, touch=touch)
        if entry is None:
            return None
        try:
            data = entry.read_payload()
        except OSError:
            return None
        if len(data) != entry.payload_bytes:
            return None
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            return None
        return data

    def put(
        self,
        kind: str,
        key: str,
        payload: bytes | None = None,
        meta: Mapping[str, object] | None = None,
        *,
        payload_path: Path | None = None,
        parts: Sequence[bytes | memoryview] | None = None,
    ) -> Entry:
        """Store an entry atomically, from bytes, parts (written in order, never
        joined in memory) or a file (streamed)."""
        self._ensure()
        chunks = _payload_chunks(payload, payload_path, parts)
        digest = hashlib.sha256()
        size = 0
        for chunk in chunks():
            digest.update(chunk)
            size += len(chunk)
        header = json.dumps(
            {
                "v": CACHE_VERSION,
                "kind": kind,
                "key": key,
                "payload_bytes": size,
                "sha256": digest.hexdigest(),
                "created": time.time(),
                "meta": dict(meta or {}),
            },
            ensure_ascii=False,
        ).encode("utf-8")
        final = self._path(kind, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC + struct.pack("<I", len(header)) + header)
                for chunk in chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            _replace_entry(Path(tmp_name), final)
        except BaseException:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
            raise
        sha = digest.hexdigest()
        return Entry(final, dict(meta or {}), 8 + len(header), size, sha)

    def tmp_dir(self) -> Path:
        """A scratch directory on the cache's filesystem (for atomic renames)."""
        self._ensure()
        return self.root / "tmp"

    def _files(self) -> Iterator[tuple[str, Path]]:
        for kind in _KINDS:
            base = self.root / kind
            if base.is_dir():
                for path in base.glob("*/*.nrc"):
                    yield kind, path

    def _voices(self) -> Iterator[tuple[Path, float, int]]:
        """Each cut voice's folder, when it was last used, and its bytes."""
        base = self.root / _VOICES
        if not base.is_dir():
            return
        for folder in base.iterdir():
            try:
                files = [f.stat() for f in folder.iterdir()] if folder.is_dir() else []
                used = (folder / _VOICE_USE).stat().st_mtime
            except OSError:  # half-written, or gone meanwhile: as old as can be
                used = 0.0
            yield folder, used, sum(st.st_size for st in files)

    def info(self) -> CacheInfo:
        entries = 0
        size = 0
        by_kind = dict.fromkeys((*_KINDS, _VOICES), 0)
        for kind, path in self._files():
            try:
                size += path.stat().st_size
            except OSError:
                continue
            entries += 1
            by_kind[kind] += 1
        for _folder, _used, nbytes in self._voices():
            entries += 1
            by_kind[_VOICES] += 1
            size += nbytes
        return CacheInfo(self.root, entries, size, by_kind)

    def prune(
        self, *, older_than_days: float | None = None, everything: bool = False
    ) -> PruneResult:
        """Remove entries unused for ``older_than_days`` (or all), sparing what
        running builds may hold: entries used since the oldest one started (or
        since the prune started), and their scratch files.
        """
        if not everything and older_than_days is None:
            raise ValueError("prune needs older_than_days or everything")
        started = time.time()
        cutoff = started - (older_than_days or 0) * 86400
        builds = self.running_builds()
        spare = _spare_after(builds, started)
        removed = freed = kept = kept_bytes = 0
        for _kind, path in self._files():
            try:
                st = path.stat()
                if not (everything or st.st_mtime < cutoff):
                    continue
                if st.st_mtime >= spare:
                    kept += 1
                    kept_bytes += st.st_size
                    continue
                path.unlink()
                removed += 1
                freed += st.st_size
            except OSError:
                continue
        for folder, used, nbytes in self._voices():
            if not (everything or used < cutoff):
                continue
            if used >= spare:  # a running build may be loading it
                kept += 1
                kept_bytes += nbytes
                continue
            _remove(folder)
            removed += 1
            freed += nbytes
        self.clean_tmp(max_age_s=0 if everything else _TMP_MAX_AGE_S)
        return PruneResult(removed, freed, kept, kept_bytes, len(builds))

    def clean_tmp(self, *, max_age_s: float = _TMP_MAX_AGE_S) -> None:
        """Delete scratch files left by killed builds.

        A file younger than the oldest running build (or than this call) may
        be one it is writing: it stays.
        """
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return
        started = time.time()
        cutoff = min(started - max_age_s, _spare_after(self.running_builds(), started))
        for path in tmp.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue

    # -- running builds -----------------------------------------------------------

    def running(self) -> contextlib.AbstractContextManager[None]:
        """Register this process as a running build while the block runs."""
        return running.registered(self.root / _BUILDS)

    def running_builds(self) -> list[RunningBuild]:
        """The builds registered and alive; dead ones' registrations are removed."""
        return running.alive(self.root / _BUILDS)


def _spare_after(builds: Sequence[RunningBuild], started: float) -> float:
    """Files used at or after this time may belong to a running build."""
    if not builds:
        return started  # a build that starts while we prune
    return min(started, min(b.start for b in builds) - _CLOCK_SLACK_S)


def _remove(path: Path) -> None:
    """Delete a damaged entry, a folder where a file should be included."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        pass


def _replace_entry(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` over ``final``, clearing a folder found in its place.

    Raises:
        NarratorError: something other than an entry is there and stays.
    """
    try:
        os.replace(tmp, final)
        return
    except OSError as exc:
        if not final.is_dir():
            raise
        _remove(final)
        try:
            os.replace(tmp, final)
        except OSError:
            raise NarratorError(
                f"{final}: a folder is where a cache entry belongs and cannot be "
                f"removed ({exc.strerror}); delete it, or prune the cache."
            ) from exc


def _payload_chunks(
    payload: bytes | None,
    payload_path: Path | None,
    parts: Sequence[bytes | memoryview] | None,
) -> Callable[[], Iterable[bytes | memoryview]]:
    """What ``Cache.put`` stores, as chunks it can go through twice (once for
    the digest in the header, once to write): a file is streamed each time."""
    if parts is not None:
        return lambda: parts
    if payload is not None:
        return lambda: (payload,)
    if payload_path is not None:
        source = payload_path

        def read() -> Iterator[bytes]:
            with source.open("rb") as src:
                yield from iter(lambda: src.read(1 << 20), b"")

        return read
    raise ValueError("put needs payload or payload_path")
