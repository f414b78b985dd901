"""`narrator watch`: a real process rebuilding a real episode on every save.

The watcher runs as `python -m narrator watch` with the hidden `--max-builds`,
so it ends on its own; the test reads its lines as they come and edits the
document the way users and editors do (in place, or temp file + rename).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import DATA, decode_stats

pytestmark = pytest.mark.slow

COURT = DATA / "parse" / "court.md"
LINE_TIMEOUT_S = 120  # a hang fails the test instead of blocking the suite
DEBOUNCE_S = 1.0  # for the debounce test; the others use 0.2


class Watcher:
    """A `narrator watch` process and the lines it prints (stdout and stderr)."""

    def __init__(self, cwd: Path, *args: object) -> None:
        env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "narrator", "watch", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            text=True,
            encoding="utf-8",
        )
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next(self) -> str:
        """The next build or error line, without its HH:MM:SS stamp."""
        while True:
            try:
                line = self._lines.get(timeout=LINE_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(f"watch printed nothing new; so far: {self.seen}")
            if line is None:
                pytest.fail(f"watch ended early; it printed: {self.seen}")
            self.seen.append(line)
            if line.startswith("watching "):
                continue
            if line.startswith("{"):  # --json: one bare JSON object per build
                return line
            stamp, _, rest = line.partition(" ")
            assert len(stamp) == 8 and stamp.count(":") == 2, line
            return rest

    def finish(self) -> int:
        """Wait for the exit that --max-builds causes; return the exit code."""
        try:
            return self.proc.wait(timeout=LINE_TIMEOUT_S)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def copy_court(tmp_path: Path) -> Path:
    doc = tmp_path / "doc.md"
    doc.write_text(COURT.read_text(encoding="utf-8"), encoding="utf-8")
    return doc


def edit_in_place(doc: Path, old: str, new: str) -> None:
    text = doc.read_text(encoding="utf-8")
    assert old in text
    doc.write_text(text.replace(old, new), encoding="utf-8")


def atomic_save(doc: Path, text: str) -> None:
    """What editors do: write a temporary file beside it, then rename over it."""
    tmp = doc.with_name(f".{doc.name}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, doc)


def watch_args(doc: Path, out: Path, max_builds: int, debounce: float) -> list:
    return [
        doc,
        "-o",
        out,
        "--engine",
        "espeak",
        "--max-builds",
        max_builds,
        "--interval",
        0.05,
        "--debounce",
        debounce,
    ]


def test_builds_at_start_then_on_each_kind_of_save(
    tmp_path: Path, cache_dir: Path
) -> None:
    doc = copy_court(tmp_path)
    out = tmp_path / "out" / "doc.mp3"
    watcher = Watcher(tmp_path, *watch_args(doc, out, 4, 0.2))
    try:
        first = watcher.next()
        assert first.startswith(f"built {out}: 3 synthesized ("), first
        assert first.split("), ")[1].startswith("0 reused")
        assert out.is_file()

        inode = doc.stat().st_ino
        edit_in_place(doc, "ressource **rare**", "ressource **très rare**")
        assert doc.stat().st_ino == inode
        second = watcher.next()
        assert second.startswith(
            f'rebuilt {out}: 1 synthesized ("Le calcul"), 2 reused'
        )

        text = doc.read_text(encoding="utf-8").replace("Merci", "Merci beaucoup")
        atomic_save(doc, text)
        assert doc.stat().st_ino != inode
        third = watcher.next()
        assert third.startswith(
            f'rebuilt {out}: 1 synthesized ("Conclusion"), 2 reused'
        )

        # The lexicon beside the document is watched too.
        lexicon = doc.with_name("narrator.toml")
        lexicon.write_text('[lexicon]\n"Bienvenue" = "Bienvenu"\n', encoding="utf-8")
        fourth = watcher.next()
        assert fourth.startswith(
            f'rebuilt {out}: 1 synthesized ("Introduction"), 2 reused'
        ), fourth
        assert watcher.finish() == 0
    finally:
        watcher.close()
    stats = decode_stats(out)
    assert stats["returncode"] == 0 and not stats["warnings"]


def test_an_invalid_save_reports_and_keeps_watching(
    tmp_path: Path, cache_dir: Path
) -> None:
    doc = copy_court(tmp_path)
    good = doc.read_text(encoding="utf-8")
    out = tmp_path / "doc.mp3"
    watcher = Watcher(tmp_path, *watch_args(doc, out, 3, 0.2), "--json")
    try:
        first = json.loads(watcher.next())
        assert first["sections_synthesized"] == 3
        built = out.read_bytes()

        atomic_save(doc, "")
        error = watcher.next()
        assert error.startswith("error: ") and "doc.md" in error, error
        assert "Traceback" not in "\n".join(watcher.seen)
        assert out.read_bytes() == built  # the previous episode is intact

        atomic_save(doc, good.replace("Bienvenue", "Bonjour et bienvenue"))
        third = json.loads(watcher.next())
        assert third["up_to_date"] is False
        assert third["sections_synthesized"] == 1
        assert third["synthesized_titles"] == ["Introduction"]
        assert [c["title"] for c in third["chapters"]] == [
            "Introduction",
            "Le calcul",
            "Conclusion",
        ]
        assert watcher.finish() == 0
    finally:
        watcher.close()


def test_quick_saves_make_one_rebuild(tmp_path: Path, cache_dir: Path) -> None:
    """Two saves within the debounce window: one rebuild that has both edits.

    Were they rebuilt separately, the second line would name one section only
    (with --debounce 0 this test fails).
    """
    doc = copy_court(tmp_path)
    out = tmp_path / "doc.mp3"
    watcher = Watcher(tmp_path, *watch_args(doc, out, 3, DEBOUNCE_S))
    try:
        assert watcher.next().startswith("built ")
        edit_in_place(doc, "Bienvenue", "Bonjour")
        # Long enough for the watcher to poll (and see) the first save many
        # times, well inside the debounce window.
        time.sleep(0.3)
        edit_in_place(doc, "ressource **rare**", "ressource **précieuse**")
        second = watcher.next()
        assert second.startswith(
            f'rebuilt {out}: 2 synthesized ("Introduction", "Le calcul"), 1 reused'
        ), second
        edit_in_place(doc, "Merci", "Merci encore")
        third = watcher.next()
        assert third.startswith(f'rebuilt {out}: 1 synthesized ("Conclusion")'), third
        assert watcher.finish() == 0
    finally:
        watcher.close()
