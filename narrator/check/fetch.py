"""Fetching what a feed names by URL, only with ``--fetch``: timeouts, a size cap.

``urllib`` with an explicit timeout per read and a byte cap counted as the
body streams in: a server that sends forever or stalls costs at most the
cap or the timeout. Only http and https are fetched (no ``file:``, which
would read this machine's files on a feed's say).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from narrator.errors import InputError

TIMEOUT_S = 15.0
MAX_MEDIA_BYTES = 1 << 30  # an episode: a long audiobook at 128 kbps
_CHUNK = 1 << 16


def fetch_to(url: str, folder: Path, limit: int | None = None) -> Path:
    """The body of ``url`` saved in ``folder`` under the URL's file name.

    ``limit`` defaults to :data:`MAX_MEDIA_BYTES`.

    Raises:
        InputError: not http(s), unreachable, an HTTP error, or over ``limit``.
    """
    # Here, not at the top: urllib.request pulls in http.client and ssl, ~20 ms
    # (python -X importtime) of the check every build runs on its own output
    # (check.feed imports this module), which never fetches.
    import urllib.error
    import urllib.request

    limit = MAX_MEDIA_BYTES if limit is None else limit
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InputError(f"{url}: only http and https URLs are fetched.")
    name = Path(parts.path).name or "download"
    target = Path(tempfile.mkdtemp(dir=folder)) / name
    request = urllib.request.Request(url, headers={"User-Agent": "narrator-check"})
    try:
        with (
            urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer,
            target.open("wb") as out,
        ):
            total = 0
            while chunk := answer.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise InputError(f"{url}: over {limit} bytes; not fetched.")
                out.write(chunk)
    except InputError:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise InputError(f"{url}: cannot fetch it ({exc}).") from exc
    return target
