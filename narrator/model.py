"""Frozen values passed between the steps of a build. No I/O here."""

from __future__ import annotations

import io
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paragraph:
    """One paragraph or bullet line of a section, Markdown already stripped."""

    text: str
    bullet: bool = False
    line: int = 0  # 1-based line in the source file, 0 when unknown


@dataclass(frozen=True)
class Section:
    """A section of the document: it becomes one chapter of the episode.

    ``title`` names the chapter (tags, sidecars, feed). When the document gave
    the section a heading, ``has_heading`` is true and the title is that
    heading, spoken before the text. Otherwise the title is made from the
    first words of the text and is never spoken: a listener hears only the
    document's own words, once.
    """

    title: str
    paragraphs: tuple[Paragraph, ...]
    line: int = 0  # 1-based line of the heading (or first paragraph), 0 if unknown
    has_heading: bool = True
    # Lines of the section without a word (emoji, symbols): not paragraphs,
    # never spoken, kept so that the speech report counts what they held.
    signs: tuple[str, ...] = ()
    # Markdown only, never spoken: the images (target as written, alt text)
    # and the link targets of the section, in order. The first image becomes
    # the chapter's picture, the first web link its URL (``build.pictures``).
    images: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def characters(self) -> int:
        """Characters of written text, the spoken heading included."""
        heading = len(self.title) if self.has_heading else 0
        return heading + sum(len(p.text) for p in self.paragraphs)


@dataclass(frozen=True)
class Document:
    """A parsed summary: sections in order plus optional front matter."""

    sections: tuple[Section, ...]
    title: str | None = None  # front matter title, else a single leading '#' heading
    meta: Mapping[str, str] = field(default_factory=dict, hash=False)
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Utterance:
    """One unit sent to an engine: a title or a sentence.

    ``text`` is exactly what the engine receives (normalized), ``display`` the
    written form shown in transcripts, ``pause`` the kind of pause after it:
    "title", "sentence", "paragraph" or "end" (last of the section).
    """

    text: str
    display: str
    pause: str


@dataclass(frozen=True)
class ChapterPicture:
    """A chapter's picture: a JPEG, the file name it has beside the episode
    (``<stem>.ch<N>.jpg``) and the document's alt text for it."""

    name: str
    data: bytes = field(repr=False)
    alt: str = ""


@dataclass(frozen=True)
class Chapter:
    """A chapter in ms from the start of the file (ID3 CHAP times are ms)."""

    title: str
    start_ms: int
    end_ms: int
    picture: ChapterPicture | None = None
    url: str | None = None  # the section's first web link


@dataclass(frozen=True)
class Cue:
    """One transcript cue: a sentence as it was synthesized."""

    start_ms: int
    end_ms: int
    text: str
    chapter: int  # 0-based index of the chapter it belongs to


@dataclass(frozen=True)
class Timeline:
    """Chapters and cues of a finished episode, from real sample counts."""

    chapters: tuple[Chapter, ...]
    cues: tuple[Cue, ...]
    duration_ms: int


@dataclass(frozen=True)
class EpisodeInfo:
    """What the tags say about the episode."""

    title: str
    author: str | None = None
    podcast: str | None = None
    date: str | None = None  # YYYY-MM-DD
    episode: int | None = None
    description: str | None = None
    language: str = "fra"  # ISO 639-2, for TLAN
    transcript: str = ""  # full spoken text, for USLT
    cover: bytes | None = None
    cover_mime: str | None = None


@dataclass(frozen=True)
class EpisodeTags:
    """Tags and stream facts read back from an episode file, MP3 or MP4.

    Here rather than in ``container.tags`` so that both mutagen modules
    (``tags`` for ID3, ``mp4tags`` for MP4) can return it: ``mp4tags``
    importing ``tags`` would put the deepest import chain over its limit.
    Fields an MP4 has no place for stay empty (``toc``, ``id3_version``,
    ``language``, ``has_info_header``).
    """

    title: str | None
    author: str | None
    podcast: str | None
    date: str | None
    episode: str | None
    description: str | None
    language: str | None
    chapters: tuple[Chapter, ...]
    toc: tuple[str, ...]  # child IDs of the top-level CTOC
    toc_flags: int | None
    extra: Mapping[str, str] = field(default_factory=dict)
    cover_mime: str | None = None
    cover_bytes: int = 0
    cover: bytes | None = field(default=None, repr=False)  # the front cover itself
    transcript_chars: int = 0
    id3_version: str = ""
    duration_s: float = 0.0
    bitrate_kbps: int = 0
    bitrate_mode: str = ""
    sample_rate: int = 0
    channels: int = 0
    has_info_header: bool = False
    container: str = "mp3"  # mp3, m4a (podcast) or m4b (audiobook)
    codec: str = "MP3"


@dataclass(frozen=True)
class WordTiming:
    """Where one spoken word sits in its utterance's audio, as the engine says."""

    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Audio:
    """Encoded audio as an engine produced it, with word timings when known."""

    data: bytes
    format: str  # "wav" or "mp3"
    words: tuple[WordTiming, ...] = ()

    @classmethod
    def from_pcm(
        cls,
        pcm: bytes,
        sample_rate: int,
        channels: int = 1,
        words: tuple[WordTiming, ...] = (),
    ) -> Audio:
        """Wrap signed 16-bit little-endian PCM in a WAV container."""
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm)
        return cls(buf.getvalue(), "wav", words)
