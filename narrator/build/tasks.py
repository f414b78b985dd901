"""A batch's sections as tasks: one segment for every document that needs it.

``batch`` plans every document first, then produces each distinct segment once
(``SectionTask``) through a ``Runner``: threads here, or Dask workers
(``distributed``); ``batch.produce_task`` does one here. Kept apart from
``produce`` so that a runner depends on the task's shape only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from narrator.build.keys import BuildPlan, SectionPlan, SegmentRecord
from narrator.errors import NarratorError

__all__ = ["Outcome", "Runner", "SectionTask"]


@dataclass(frozen=True)
class SectionTask:
    """One segment to produce, for every document section that needs it.

    Identical sections (same segment key) across a batch are produced once.
    ``options`` are the engine options the plan's engine was made with: a
    worker elsewhere makes the same engine from them.
    """

    key: str
    plan: BuildPlan  # the first document that needs it: its engine and cache
    section: SectionPlan
    options: Mapping[str, str]
    users: tuple[tuple[int, int], ...]  # (document, section index) pairs
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


Outcome = SegmentRecord | NarratorError


class Runner(Protocol):
    """Produces segments, yielding each task as soon as it is done (any order)."""

    def run(
        self, tasks: Sequence[SectionTask]
    ) -> Iterator[tuple[SectionTask, Outcome]]:
        """Every task once, with its record or the error that stopped it."""
        ...

    def workers(self) -> int:
        """How many workers did work."""
        ...
