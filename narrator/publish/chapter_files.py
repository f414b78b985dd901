"""The chapter pictures of an episode, published beside it under --base-url.

A build writes each chapter's picture beside the episode (``<stem>.ch<N>.jpg``)
and names it in the chapters JSON by its file name (``img``). A podcast app
reads ``img`` as a URL, so publishing writes the chapters JSON again with
each ``img`` under --base-url, and the pictures with it, in the feed's
folder and in the same staged set as the feed (``transaction``): a reader
never sees a chapters JSON naming a picture that is not there. The build
counts both forms of the JSON as the same sidecar
(``container.sidecars.sidecars_digest``), so publishing leaves the episode
up to date.

The chapters of the feed item take each picture's URL, and the chapter's
``url`` when the tags gave none (an M4A/M4B's chapters carry no link).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

from narrator.container.sidecars import chapter_images, sidecar_paths
from narrator.publish.items import FeedChapter

__all__ = ["published_chapters"]

logger = logging.getLogger(__name__)

# What a chapter picture's file name may be: one name, no folder, a JPEG.
_PICTURE_NAME = re.compile(r"[^/\\\0]+\.jpg")


def published_chapters(
    audio_path: Path, base: str, chapters: tuple[FeedChapter, ...]
) -> tuple[tuple[FeedChapter, ...], dict[str, bytes]]:
    """The item's chapters with their pictures' URLs, and the files to write
    beside the feed: the pictures and the chapters JSON naming them by URL.

    Nothing when the episode's chapters JSON names no picture. A picture it
    names that is not beside the episode is left out, with a warning.
    """
    json_path = sidecar_paths(audio_path).chapters_json
    try:
        data = json_path.read_bytes()
    except OSError:
        return chapters, {}
    images = chapter_images(data)
    if not any(images):
        return chapters, {}
    doc = json.loads(data)
    rows: list[dict[str, object]] = doc["chapters"]
    files: dict[str, bytes] = {}
    for row, image in zip(rows, images, strict=True):
        if not image:
            continue
        name = unquote(image.rsplit("/", 1)[-1])
        picture = audio_path.parent / name
        try:
            if not _PICTURE_NAME.fullmatch(name) or name.startswith("."):
                raise FileNotFoundError(name)
            files[name] = picture.read_bytes()
            row["img"] = urljoin(base, quote(name))
        except OSError:
            logger.warning(
                "%s: chapter picture %s is missing; not published", json_path, name
            )
            del row["img"]
    files[json_path.name] = (
        json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    ).encode("utf-8")
    if len(rows) != len(chapters):
        return chapters, files  # not this episode's chapters: the feed keeps its own
    with_media = tuple(
        replace(
            chapter,
            image_url=str(row["img"]) if "img" in row else None,
            url=chapter.url or (str(row["url"]) if row.get("url") else None),
        )
        for chapter, row in zip(chapters, rows, strict=True)
    )
    return with_media, files
