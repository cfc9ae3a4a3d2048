"""A job's slow work on a worker thread, its progress relayed as job updates.

The video model and the encoder report progress through callbacks deep inside their loops; a
job runs them on a worker thread and relays their progress as job updates (at most a few per
second), while cancellation reaches them through the same check the runner uses.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from core.progress import Progress, ProgressCallback
from studio.jobs import JobUpdate

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROGRESS_INTERVAL_SECONDS = 0.5

_DONE = object()

StopCheck = Callable[[], bool]


def run_reporting(
    work: Callable[[ProgressCallback, StopCheck], T],
    *,
    interval: float = PROGRESS_INTERVAL_SECONDS,
) -> Generator[Progress, None, T]:
    """Run `work(progress, stopped)` on a thread; yield its progress reports, at most one per
    `interval` seconds; return its result (or raise its error).

    If the caller stops iterating early (the job was cancelled or its caller went away),
    `stopped()` turns True and the thread is waited for: `work` polls it at every step, so it
    ends there and leaves no file behind.
    """
    reports: queue.Queue[Any] = queue.Queue()
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work(reports.put, stop.is_set)
        except BaseException as error:  # noqa: BLE001 - re-raised in the job's thread below
            outcome["error"] = error
        finally:
            reports.put(_DONE)

    thread = threading.Thread(target=target, name="studio-video-work", daemon=True)
    thread.start()
    try:
        pending: Progress | None = None
        last_sent = -math.inf
        while True:
            try:
                item = reports.get(timeout=interval)
            except queue.Empty:
                item = None
            if item is _DONE:
                break
            if item is not None:
                pending = item
            if pending is not None and time.monotonic() - last_sent >= interval:
                last_sent = time.monotonic()
                sent, pending = pending, None
                yield sent
    finally:
        stop.set()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def as_updates(
    work: Callable[[ProgressCallback, StopCheck], T],
    describe: Callable[[Progress], JobUpdate],
) -> Generator[JobUpdate, None, T]:
    """`run_reporting` with each progress report turned into a job update; returns `work`'s result."""
    reporting = run_reporting(work)
    try:
        while True:
            try:
                report = next(reporting)
            except StopIteration as stop:
                return stop.value
            yield describe(report)
    finally:
        reporting.close()
