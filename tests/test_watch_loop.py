"""The watch loop on its own (``narrator.build.watch``): the rebuild is a
function, the outcomes are callbacks; tests/test_watch.py runs the command."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from narrator.build.watch import fingerprint, watch, watched_paths
from narrator.errors import SummaryError


def test_the_input_comes_first_then_its_settings_then_the_files_given(
    tmp_path: Path,
) -> None:
    doc, cover = tmp_path / "doc.md", tmp_path / "cover.png"
    assert watched_paths(doc, None, cover, None) == [
        doc,
        tmp_path / "narrator.toml",
        cover,
    ]


def test_an_edit_that_keeps_size_and_time_still_changes_the_fingerprint(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("## Un\n\nabc\n")
    stat = doc.stat()
    before = fingerprint([doc, tmp_path / "narrator.toml"])
    assert before[1] is None  # missing
    doc.write_text("## Un\n\nabd\n")
    os.utime(doc, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint([doc, tmp_path / "narrator.toml"]) != before


def test_a_failed_rebuild_is_handed_over_and_watching_goes_on(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    events: list[str] = []
    missing, failed = threading.Event(), threading.Event()
    results = iter([SummaryError("nothing to say", path=str(doc)), "episode"])

    def rebuild() -> str:
        outcome = next(results)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def on_missing() -> None:
        events.append("missing")
        missing.set()

    def on_failed(exc: Exception) -> None:
        events.append(f"failed: {exc}")
        failed.set()

    def edit() -> None:  # the input appears, then is saved again after the error
        assert missing.wait(10)
        doc.write_text("## Un\n\nabc\n")
        assert failed.wait(10)
        doc.write_text("## Un\n\nabcd\n")

    writer = threading.Thread(target=edit)
    writer.start()
    watch(
        watched_paths(doc),
        rebuild,
        interval=0.02,
        debounce=0.05,
        max_builds=2,
        on_missing=on_missing,
        on_built=lambda r, first, took: events.append(f"{r} first={first}"),
        on_failed=on_failed,
    )
    writer.join()
    assert events == [
        "missing",
        f"failed: {doc}: nothing to say",
        "episode first=True",  # the first build that worked
    ]


def test_ctrl_c_ends_the_watch(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("## Un\n\nabc\n")

    def interrupted() -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        watch(
            [doc],
            interrupted,
            interval=0.01,
            debounce=0.0,
            on_missing=lambda: None,
            on_built=lambda r, first, took: None,
            on_failed=lambda exc: None,
        )
