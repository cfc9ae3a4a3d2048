"""Training phases and the learning-rate schedule inside each phase.

A stage's schedule is a list of phases run one after another, e.g. stage 1's paper schedule:
decoder pre-training, then compressor-only steps with the decoder frozen, then joint. The
global step counter runs across phases, so a checkpoint's step tells which phase to resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    steps: int
    lr: float
    warmup: int = 0


class PhaseSchedule:
    def __init__(self, phases: list[Phase]):
        for phase in phases:
            if phase.steps < 0:
                raise ValueError(f"The phase {phase.name!r} has {phase.steps} steps; use 0 or more.")
        # Phases of 0 steps are skipped (e.g. the paper preset needs no decoder pre-training).
        self.phases = [p for p in phases if p.steps > 0]

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    def at(self, step: int) -> tuple[Phase, int]:
        """The phase that runs global step `step` (0-based) and the step within that phase."""
        start = 0
        for phase in self.phases:
            if step < start + phase.steps:
                return phase, step - start
            start += phase.steps
        raise IndexError(f"Step {step} is past the end of the schedule ({self.total_steps} steps).")

    def lr(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 10 % within each phase."""
        phase, local = self.at(step)
        if local < phase.warmup:
            return phase.lr * (local + 1) / phase.warmup
        span = max(1, phase.steps - phase.warmup)
        progress = (local - phase.warmup) / span
        return phase.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
