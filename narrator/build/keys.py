"""The values a build is planned in, and the keys it recognises its work by.

A plan (``BuildPlan``) says everything a build will do before any audio is
made: each section keyed (``SectionPlan``: its clip by engine and texts, its
segment by clip and layout), what the audio stage needs of the settings
(``Mastering``), what writing the file needs of them (``Writing``), and what
the MP3 already at the output recorded (``PreviousBuild``: its build key, its
engine, its guid). ``SegmentRecord`` is a produced segment as the cache holds
it, ``Extras`` what a build makes besides its sections.

These values sit below the modules that make and use them (``plan``,
``produce``, ``commit``): each of those imports this one and none imports
another of them, so every build module stays within two imports of the
lower packages.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from narrator.cache import Cache, Entry, make_key
from narrator.config import Pauses, container_of
from narrator.container import mp4tags
from narrator.container.tags import (
    TXXX_ENGINE,
    TXXX_GUID,
    TXXX_SOURCE,
    TXXX_TITLE,
    TXXX_VOICE,
    read_extra,
)
from narrator.engines.base import Engine
from narrator.errors import ConfigError, NarratorError
from narrator.model import ChapterPicture, Document, EpisodeInfo, Utterance

CLIP_FORMAT = "pcm_s16le/mono/trimmed-v1"


@dataclass(frozen=True)
class SectionPlan:
    """One section of a build, keyed: what it will say and where it is cached."""

    index: int
    title: str
    utterances: tuple[Utterance, ...]
    clip_key: str
    segment_key: str
    cached: bool  # the clip is in the cache: no synthesis needed
    last: bool = False  # the episode's last section: its tail is the episode's end
    # Its chapter's picture and URL (``build.pictures``): in no key but the
    # build key, so a new picture retags without synthesizing.
    picture: ChapterPicture | None = None
    url: str | None = None
    # Names the last clip made for a section of this title with this voice (the
    # cache's ``latest`` kind): an edited section takes its unchanged utterances
    # from there and synthesizes only the others.
    latest_key: str = ""

    @property
    def action(self) -> str:
        return "reuse" if self.cached else "synthesize"

    @property
    def characters(self) -> int:
        """How long the section takes to produce, roughly: its characters."""
        return sum(len(u.text) for u in self.utterances)


@dataclass(frozen=True)
class SegmentRecord:
    """A segment as its cache entry holds it: where its frames are and what they are.

    ``spans`` are the (start, end) samples of each utterance inside the segment.
    """

    entry_path: Path
    payload_offset: int
    size_bytes: int
    frames: int
    samples: int
    spans: tuple[tuple[int, int], ...]
    crc16: int | None = None
    synthesized: bool = False
    spoken: int = 0  # utterances the engine synthesized for it (the rest reused)
    # AAC segments: the samples that are not silence (``container.aac``).
    sound: tuple[int, int] | None = None

    @staticmethod
    def meta(
        frames: int,
        samples: int,
        crc16: int | None,
        spans: Sequence[Sequence[int]],
        sound: tuple[int, int] | None = None,
    ) -> dict[str, object]:
        """The cache entry's metadata for a segment (what ``from_entry`` reads).

        ``frames`` counts MP3 frames, or AAC access units.
        """
        meta: dict[str, object] = {
            "frames": frames,
            "samples": samples,
            "crc16": crc16,
            "utterances": [list(s) for s in spans],
        }
        if sound is not None:
            meta["sound"] = list(sound)
        return meta

    @classmethod
    def from_entry(cls, entry: Entry, synthesized: bool = False) -> SegmentRecord:
        meta = entry.meta
        spans = cast("list[list[int]]", meta["utterances"])
        sound = cast("list[int] | None", meta.get("sound"))
        return cls(
            entry_path=entry.path,
            payload_offset=entry.payload_offset,
            size_bytes=entry.payload_bytes,
            frames=int(cast(int, meta["frames"])),
            samples=int(cast(int, meta["samples"])),
            spans=tuple((int(a), int(b)) for a, b in spans),
            crc16=cast("int | None", meta.get("crc16")),
            synthesized=synthesized,
            sound=(int(sound[0]), int(sound[1])) if sound else None,
        )

    def reused(self) -> SegmentRecord:
        """This record for another section with the same segment: not synthesized."""
        return replace(self, synthesized=False, spoken=0)


@dataclass(frozen=True)
class Extras:
    """What a build makes besides its sections: the generated cover, the jingles."""

    cover: bytes | None
    intro: SegmentRecord | None
    outro: SegmentRecord | None


@dataclass(frozen=True)
class Mastering:
    """What the audio stage needs of the settings, and nothing else.

    The preset names the MP3 format, the loudness target and the ceiling
    (``audio.render.PRESETS``); ``loudness_lufs`` overrides its target.
    """

    preset: str
    pauses: Pauses
    loudness_lufs: float | None
    codec: str = "mp3"  # or "aac": the encoder of every segment


@dataclass(frozen=True)
class Writing:
    """What putting the episode together and writing it needs of the settings."""

    intro_path: Path | None
    outro_path: Path | None
    id3_version: int
    sidecars: bool
    force: bool  # rebuild even when up to date
    lock_dir: Path | None
    container: str = "mp3"  # "m4a", "m4b": AAC in MP4 (config.FORMATS)
    # The audio file the sidecars name (``fileName``): the first of the
    # formats built together, which share their sidecars.
    sidecar_name: str | None = None


@dataclass(frozen=True)
class PreviousBuild:
    """What the MP3 already at the output says about the build that wrote it."""

    extra: Mapping[str, str]  # its TXXX frames

    def get(self, key: str) -> str | None:
        return self.extra.get(key) or None


@dataclass(frozen=True)
class BuildPlan:
    """Everything a build will do, decided before any audio is made."""

    source_path: Path
    output_path: Path
    document: Document
    engine: Engine
    sections: tuple[SectionPlan, ...]
    info: EpisodeInfo
    build_key: str
    cache: Cache
    previous: PreviousBuild | None  # what the MP3 already at the output says
    mastering: Mastering
    params: Mapping[str, object]  # every rendering parameter in a segment's key
    writing: Writing
    jobs: int  # sections produced at a time
    # Sections made speakable while planning, stored when the plan is run.
    speech: tuple[tuple[str, bytes], ...] = ()
    # Chapter pictures prepared while planning, stored likewise.
    pictures: tuple[tuple[str, bytes], ...] = ()


def read_previous(output_path: Path) -> PreviousBuild | None:
    """The previous build's TXXX frames (not its cover or transcript); None if none."""
    if not output_path.is_file():
        return None
    try:
        if container_of(output_path) != "mp3":
            return PreviousBuild(mp4tags.read_extra(output_path))
        return PreviousBuild(read_extra(output_path))
    except NarratorError:
        return None


def pinned(previous: PreviousBuild | None) -> tuple[str | None, str | None]:
    """The engine and voice the previous build recorded (``auto`` keeps them)."""
    if previous is None:
        return None, None
    return previous.get(TXXX_ENGINE), previous.get(TXXX_VOICE)


def episode_guid(previous: PreviousBuild | None, source_name: str, title: str) -> str:
    """The episode's guid: kept across regenerations of the same episode.

    "Same" means the same source file name or the same title, so renaming the
    file or retitling the episode keeps it; another document written over the
    output gets a new one.
    """
    if previous is None:
        return str(uuid.uuid4())
    guid = previous.get(TXXX_GUID)
    other_source = previous.get(TXXX_SOURCE) not in (None, source_name)
    if other_source and previous.get(TXXX_TITLE) != title:
        guid = None
    return guid or str(uuid.uuid4())


def file_digest(path: Path) -> str:
    """SHA-256 of a file read in chunks.

    Raises:
        ConfigError: the file cannot be read.
    """
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}.") from exc
    return h.hexdigest()


def plan_sections(
    prepared: Sequence[tuple[str, tuple[Utterance, ...]]],
    identity: Mapping[str, str],
    params: Mapping[str, object],
    cache: Cache,
) -> tuple[SectionPlan, ...]:
    """Key each section: its clip by engine and texts, its segment by clip + layout."""
    sections = []
    last = len(prepared) - 1
    for i, (title, utterances) in enumerate(prepared):
        clip_key = make_key(
            {
                "kind": "clip",
                "engine": dict(identity),
                "format": CLIP_FORMAT,
                "texts": [u.text for u in utterances],
            }
        )
        segment_key = make_key(
            {
                "kind": "segment",
                "clip": clip_key,
                "params": dict(params),
                "pauses_after": [u.pause for u in utterances],
                "last": i == last,
            }
        )
        latest_key = make_key(
            {
                "kind": "latest",
                "engine": dict(identity),
                "format": CLIP_FORMAT,
                "title": title,
            }
        )
        cached = cache.has("clips", clip_key)
        sections.append(
            SectionPlan(
                i,
                title,
                utterances,
                clip_key,
                segment_key,
                cached,
                last=i == last,
                latest_key=latest_key,
            )
        )
    return tuple(sections)
