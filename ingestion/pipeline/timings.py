"""Seconds spent per step of a batch, summed under a label (the batch's ``stage_seconds``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Timings(dict[str, float]):
    """Label -> seconds, summed as steps end (from any thread), to the millisecond."""

    def add(self, label: str, seconds: float) -> None:
        self[label] = round(self.get(label, 0.0) + seconds, 3)

    def lap(self, label: str, *, since: float) -> float:
        """Add the time since ``since`` to ``label``; return the time now."""
        now = time.perf_counter()
        self.add(label, now - since)
        return now

    @contextmanager
    def timed(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(label, time.perf_counter() - started)
