"""Progress reports and cooperative cancellation, one shape for every long job in core.

A long job (keyframes, a video render, an animatic export) takes `progress(Progress)` and
`cancel_check() -> bool` callables. It polls the check between units of work (a keyframe, a
denoising step, a frame) and raises `Cancelled`, so the caller's cleanup code runs and no
half-written file survives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """`done` of `total` units of work finished (keyframes, denoising steps, frames)."""

    done: int
    total: int
    message: str = ""


ProgressCallback = Callable[[Progress], None]
CancelCheck = Callable[[], bool]


class Cancelled(RuntimeError):
    """The caller's cancel check said stop; the job ended between two units of work."""


def raise_if_cancelled(cancel_check: CancelCheck | None, what: str) -> None:
    if cancel_check is not None and cancel_check():
        raise Cancelled(f"{what} was cancelled; nothing was saved.")
