"""What the storyboard pipeline takes and gives, shared by core.generate and the studio.

A storyboard is one keyframe per shot, indexed by `frame_index` = the shot's position in
`Script.shots()` (story order, 0-based). A keyframe is fully described by its visual tokens
(L, d) — what the AR model predicts and the decoder renders — plus the seed and parameters
that made it, so every image can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as validated_dataclass

from core.progress import CancelCheck, ProgressCallback

if TYPE_CHECKING:
    from core.encoders.faces import FaceEncoder
    from core.script import Script


@validated_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class GenerationSettings:
    """Knobs a user may turn; every keyframe records the values it was made with.

    The one shape of these knobs: a bundle manifest's `defaults` is one of these (the bundle's
    own values), and a studio project's settings override some of its fields.
    """

    num_inference_steps: int = Field(default=20, ge=1)
    guidance_scale: float = Field(default=3.0, ge=0)
    # identity guidance: pushes each keyframe from "without the cast's faces" towards "with them"
    # (one more decoder pass per step when above 1; 1 = off)
    face_guidance_scale: float = Field(default=1.0, ge=0)
    # GIVT-style temperatures: for the mixture choice and for the Gaussian scales (0 = the most
    # likely component / its mean).
    mixture_temperature: float = Field(default=1.0, ge=0)
    scale_temperature: float = Field(default=1.0, ge=0)
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


@runtime_checkable
class StoryboardGenerator(Protocol):
    """What the studio asks of a loaded bundle: `core.pipeline.StoryboardPipeline` is one, and the
    studio's model cache hands out nothing else (its tests' fake pipeline must match it too)."""

    @property
    def bundle_id(self) -> str:
        """Names the bundle that made a keyframe; tokens of another bundle are not context."""
        ...

    @property
    def defaults(self) -> GenerationSettings:
        """The bundle's own settings; a project's settings override some of them."""
        ...

    @property
    def face_encoder(self) -> FaceEncoder | None:
        """The bundle's face encoder (the embedding space its models were trained on), if any."""
        ...

    def encode_keyframe(self, image: Image.Image) -> np.ndarray:
        """(L, d) visual tokens of a keyframe image the user drew or photographed."""
        ...

    def generate(
        self,
        script: Script,
        *,
        cast_photos: Mapping[str, Sequence[str | Path]] | None = None,
        references: Sequence[str | Path] = (),
        targets: Sequence[int] | None = None,
        context: Mapping[int, np.ndarray] | None = None,
        seeds: Mapping[int, int] | None = None,
        settings: GenerationSettings | None = None,
        should_cancel: CancelCheck | None = None,
        on_progress: ProgressCallback | None = None,
        known_faces: Mapping[str, Any] | None = None,
    ) -> Iterator[KeyframeResult]:
        """Stream the keyframes of `targets` (all shots by default) in story order.

        known_faces: face embeddings (torch tensors, (f,)) of cast photos already embedded by
        this bundle's face encoder, by photo path; those photos are not embedded again."""
        ...
