"""What the storyboard pipeline takes and gives, shared by core.generate and the studio.

A storyboard is one keyframe per shot, indexed by `frame_index` = the shot's position in
`Script.shots()` (story order, 0-based). A keyframe is fully described by its visual tokens
(L, d) — what the AR model predicts and the decoder renders — plus the seed and parameters
that made it, so every image can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class GenerationSettings:
    """Knobs a user may turn; every keyframe records the values it was made with."""

    num_inference_steps: int = 20
    guidance_scale: float = 3.0
    # identity guidance: pushes each keyframe from "without the cast's faces" towards "with them"
    # (one more decoder pass per step when above 1; 1 = off)
    face_guidance_scale: float = 1.0
    # GIVT-style temperatures: for the mixture choice and for the Gaussian scales.
    mixture_temperature: float = 1.0
    scale_temperature: float = 1.0
    use_faces: bool = True
    use_history: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KeyframeResult:
    """One generated keyframe, streamed as soon as it exists."""

    frame_index: int
    scene_index: int
    shot_index: int
    image: Image.Image
    tokens: np.ndarray  # (L, d) float32 visual tokens
    seed: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationProgress:
    """Reported between keyframes: `done` of `total` keyframes finished."""

    done: int
    total: int
    message: str = ""


ProgressCallback = Callable[[GenerationProgress], None]
CancelCheck = Callable[[], bool]


class GenerationCancelled(RuntimeError):
    """Raised between keyframes when the caller's cancel check says stop."""
