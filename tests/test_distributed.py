"""``narrator batch --scheduler``: the same batch on a real Dask LocalCluster.

Each test starts a LocalCluster of two single-threaded worker processes on
127.0.0.1 (their scratch space under the test's tmp_path) and runs real
espeak-ng, ffmpeg and mutagen on the workers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from narrator.build.batch import run_batch
from narrator.build.distributed import (
    DaskRunner,
    SectionWork,
    fingerprint,
    produce_remote,
)
from narrator.build.pipeline import build
from narrator.build.schedule import Progress
from narrator.cli import main
from narrator.config import Settings
from narrator.container.tags import read_episode
from narrator.errors import WorkerMismatch

from .conftest import DATA, SEED

distributed = pytest.importorskip("distributed")

STEMS = ["000_4308e03e8e9adbfa", "01_climat", "02_sommeil", "03_jardin"]


@pytest.fixture
def small_show(tmp_path: Path) -> Path:
    """The three small summaries of tests/data/batch/ (and its podcast.toml)."""
    folder = tmp_path / "show"
    shutil.copytree(DATA / "batch", folder)
    return folder


@pytest.fixture
def show(small_show: Path) -> Path:
    """With the reference summary: 19 sections, a few seconds of work."""
    shutil.copy(SEED, small_show)
    return small_show


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        local_directory=str(tmp_path / "dask"),
    ) as running:
        yield running


def run_cli(*args: str | Path) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args])


def chapters(path: Path) -> list[tuple[str, int]]:
    return [(c.title, c.end_ms - c.start_ms) for c in read_episode(path).chapters]


def assert_same_chapters(ours: Path, reference: Path) -> None:
    """Same titles, lengths within one MP3 frame (26 ms): espeak-ng's output
    varies by a few samples from call to call, and so a section's frame count."""
    a, b = chapters(ours), chapters(reference)
    assert [t for t, _ in a] == [t for t, _ in b]
    assert all(abs(x - y) <= 27 for (_, x), (_, y) in zip(a, b, strict=True))


def test_a_dask_batch_builds_what_a_local_batch_builds(
    small_show: Path,
    tmp_path: Path,
    cache_dir: Path,
    cluster: distributed.LocalCluster,
) -> None:
    local_out = tmp_path / "local"
    result = run_batch(
        small_show,
        Settings(engine="espeak", cache_dir=tmp_path / "local-cache"),
        outdir=local_out,
    )
    assert result.failed == 0
    (small_show / "04_vide.txt").write_text("", encoding="utf-8")  # a bad document
    out = tmp_path / "dask"
    args = ("batch", small_show, "-o", out, "--engine", "espeak", "--json")
    run = run_cli(*args, "--scheduler", cluster.scheduler_address)
    assert run.exit_code == 1, run.stderr
    data = json.loads(run.stdout)
    assert (data["built"], data["failed"]) == (3, 1)
    assert [Path(e["source"]).name for e in data["episodes"] if e["error"]] == [
        "04_vide.txt"
    ]
    assert "04_vide.txt" in run.stderr
    assert data["workers"] >= 1
    for stem in STEMS[1:]:
        assert_same_chapters(out / f"{stem}.mp3", local_out / f"{stem}.mp3")
    # The client stored what the workers sent: a local build reuses all of it.
    again = build(
        small_show / "01_climat.md",
        Settings(
            engine="espeak", output_path=tmp_path / "again.mp3", cache_dir=cache_dir
        ),
    )
    assert (again.sections_synthesized, again.sections_reused) == (0, 3)


def test_a_worker_killed_mid_run_costs_only_its_task(
    show: Path,
    tmp_path: Path,
    cache_dir: Path,
    cluster: distributed.LocalCluster,
) -> None:
    runner = DaskRunner(cluster.scheduler_address)
    pids: dict[str, int] = runner.client.run(os.getpid)
    killed: list[str] = []

    def kill_one(event: Progress) -> None:
        # After the third section: kill a worker that has already done work,
        # while the others are still queued or running.
        if event.done == 3 and not killed:
            victim = sorted(runner.used)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    try:
        result = run_batch(
            show,
            Settings(engine="espeak", cache_dir=cache_dir),
            outdir=tmp_path / "out",
            runner=runner,
            report=kill_one,
        )
    finally:
        runner.close()
    assert killed
    assert result.failed == 0, [e.error for e in result.episodes]
    assert result.built == 4
    assert result.workers >= 2
    for episode in result.episodes:
        expected = run_cli("sections", episode.source, "--json")
        titles = [row["title"] for row in json.loads(expected.stdout)]
        assert [c.title for c in read_episode(episode.output).chapters] == titles


def test_a_worker_with_another_narrator_is_refused(
    small_show: Path,
    tmp_path: Path,
    cache_dir: Path,
    cluster: distributed.LocalCluster,
) -> None:
    def other_version() -> None:
        import narrator

        narrator.__version__ = "9.9.9"

    with distributed.Client(cluster.scheduler_address) as client:
        client.run(other_version)
        # The task itself refuses too (a worker that joins after the check).
        version, code = fingerprint()
        work = SectionWork(version, code, "espeak", {}, {}, None, Settings())
        with pytest.raises(WorkerMismatch, match="9.9.9"):
            client.submit(produce_remote, work, pure=False).result()
    run = run_cli(
        "batch",
        small_show,
        "-o",
        tmp_path / "out",
        "--engine",
        "espeak",
        "--scheduler",
        cluster.scheduler_address,
    )
    assert run.exit_code == 1
    assert "runs narrator 9.9.9" in run.stderr
    assert "install the same narrator on every worker" in run.stderr
    assert not (tmp_path / "out").exists()
