"""Cooperative cancellation and progress reporting for long video jobs.

Jobs take `progress(done, total)` and `cancel_check() -> bool` callables. They poll the check
between units of work (a denoising step, a frame) and raise `Cancelled`, so the caller's
cleanup code runs and no half-written file survives.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """The user cancelled the job; nothing it was writing was kept."""


def raise_if_cancelled(cancel_check: CancelCheck | None, what: str) -> None:
    if cancel_check is not None and cancel_check():
        raise Cancelled(f"{what} was cancelled; nothing was saved.")
