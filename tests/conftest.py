from __future__ import annotations

import ipaddress
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from narrator.ffmpeg import ffmpeg_exe

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "tests" / "data" / "seed" / "000_4308e03e8e9adbfa.txt"
DATA = Path(__file__).resolve().parent / "data"

# A show's podcast.toml as a publisher writes it (the feed, site and MP4 tests).
PODCAST_CONFIG = """\
title = "Résumés à écouter"
author = "Anne Dupont"
email = "anne@example.org"
description = "Des résumés lus & commentés."
category = "Education"
explicit = false
link = "https://example.org/"
"""

SEED_TITLES = [
    "Résumé bref",
    "Introduction aux grands enjeux de l'IA",
    "L'impact global sur la technologie",
    "Le développement des conversations IA",
    "La question des ressources et du calcul",
    "Le défi de la croissance des utilisateurs",
    "Les implications scientifiques et sociétales",
    "La question de l'infrastructure et des acteurs majeurs",
    "Le modèle non lucratif et la vision d'Open AI",
    "L'impact sur le web et les créateurs",
    "Le futur et les générations à venir",
]


@pytest.fixture
def seed_path() -> Path:
    if not SEED.is_file():
        pytest.fail(
            f"the reference seed is missing: {SEED} (expected in tests/data/seed/)"
        )
    return SEED


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(path))
    return path


def ffmetadata(path: Path) -> str:
    """ffmpeg's own parser: the file's metadata and chapters as FFMETADATA text."""
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "ffmetadata",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode("utf-8")


def ffmpeg_chapters(path: Path) -> list[dict[str, object]]:
    """Chapters in the order ffmpeg lists them: title, start and end in ms."""
    text = ffmetadata(path)
    chapters = []
    for block in text.split("[CHAPTER]")[1:]:
        fields = dict(re.findall(r"^(\w+)=(.*)$", block, flags=re.M))
        num, den = (int(x) for x in fields["TIMEBASE"].split("/"))
        scale = 1000 * num / den
        chapters.append(
            {
                "title": fields.get("title", ""),
                "start_ms": int(fields["START"]) * scale,
                "end_ms": int(fields["END"]) * scale,
            }
        )
    return chapters


def decode_stats(path: Path) -> dict[str, object]:
    """Decode the whole file with ffmpeg: sample count, rate, and error lines."""
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-v",
            "warning",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "pipe:1",
        ],
        capture_output=True,
        check=False,
    )
    info = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        check=False,
    ).stderr.decode()
    rate = int(re.search(r"(\d+) Hz", info).group(1))
    m = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", info)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return {
        "returncode": proc.returncode,
        "samples": len(proc.stdout) // 2,
        "rate": rate,
        "decoded_s": len(proc.stdout) / 2 / rate,
        "reported_s": duration,
        "warnings": proc.stderr.decode(errors="replace").strip(),
    }


class NetworkBlocked(OSError):
    """A test tried to reach a host that is not this machine."""


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and the like
    host = str(address[0])
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _guarded(connect: Any) -> Any:
    def guarded_connect(self: socket.socket, address: object) -> Any:
        if not _is_local(address):
            raise NetworkBlocked(f"tests must not touch the network: {address!r}")
        return connect(self, address)

    return guarded_connect


def _resolver(getaddrinfo: Any) -> Any:
    """No name lookups either: DNS is the network too (and may hang here)."""

    def local_only(host: object, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost") and not _is_local((str(host),)):
            raise NetworkBlocked(f"tests must not look up names: {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    return local_only


@pytest.fixture(autouse=True)
def _own_user_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test never reads or writes the real user cache or data folders: a build
    that forgets its cache_dir would otherwise share (and reuse) one across runs."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the network: `auto` resolves to espeak unless a test says
    otherwise, any gTTS request goes to a closed port on this machine, and a
    connection to any other host fails at once (``NetworkBlocked``)."""
    monkeypatch.setenv("NARRATOR_ENGINE", "espeak")
    monkeypatch.setenv("NARRATOR_GTTS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(socket.getaddrinfo))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's Chromium and chromedriver for the browser tests.

    Missing, they fail the run under CI (CI=true), where the browser tests must
    run, and skip it elsewhere with the command that installs them.
    """
    import os
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    missing = " and ".join(
        name
        for name, found in (("chromium", browser), ("chromedriver", driver))
        if not found
    )
    message = (
        f"{missing} not found: install them with "
        "`sudo apt-get install chromium chromium-driver` (scripts/test does it "
        "when it can)"
    )
    if os.environ.get("CI", "").lower() in {"true", "1"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ffprobe() -> str:
    """Debian's ffprobe, the independent reader of the M4A/M4B tests.

    The bundled ffmpeg has no ffprobe. Missing, it fails the run under CI
    (CI=true) and skips the test elsewhere with the command that installs it.
    """
    import os
    import shutil

    found = shutil.which("ffprobe")
    if found:
        return found
    message = (
        "ffprobe not found: install it with `sudo apt-get install ffmpeg` "
        "(scripts/test does it when it can)"
    )
    if os.environ.get("CI", "").lower() in {"true", "1"}:
        pytest.fail(message)
    pytest.skip(message)
