"""A feed read as untrusted XML: bounded in size, no entities, no external anything.

A feed comes from anywhere, so the parser is defusedxml's: an entity
declaration (the "billion laughs" bomb, an external entity reading
``/etc/passwd`` or a URL) is refused, not expanded, and no DTD or external
resource is fetched. The bytes are capped before parsing, so a huge file
costs at most :data:`MAX_FEED_BYTES` of memory.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from narrator.errors import InputError

# Apple refuses feeds over 512 MB; real ones are well under a few MB. 20 MiB
# holds thousands of items with their show notes.
MAX_FEED_BYTES = 20 << 20


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refused over ``limit``.

    Raises:
        InputError: the file cannot be read or is too large.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc}).") from exc
    if len(data) > limit:
        raise InputError(f"{path}: the {what} is over {limit} bytes; not read.")
    return data


def parse_feed(data: bytes, source: str) -> ET.Element:
    """The root of the feed in ``data``, parsed with entities refused.

    Raises:
        InputError: not well-formed XML, or it declares entities.
    """
    if len(data) > MAX_FEED_BYTES:
        raise InputError(
            f"{source}: the feed is over {MAX_FEED_BYTES} bytes; not read."
        )
    try:
        root: ET.Element = fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise InputError(
            f"{source}: the feed declares entities or external references "
            f"({type(exc).__name__}); refused as unsafe XML."
        ) from exc
    except ET.ParseError as exc:
        raise InputError(f"{source}: not well-formed XML ({exc}).") from exc
    return root
