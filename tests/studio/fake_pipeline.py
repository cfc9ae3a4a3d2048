"""A test double of core.pipeline's StoryboardPipeline (tests only).

It is a `core.pipeline.types.StoryboardGenerator`, the interface the studio uses (the test
beside it checks that it keeps matching) — `bundle_id`, `defaults` (the bundle's settings),
`face_encoder` (None here), `encode_keyframe(image)` and `generate(...)` streaming
`KeyframeResult`s in story order — and makes deterministic pictures: the colour comes from
the seed, so a test can tell which seed made which image, and the tokens (L=2, d=4) encode
seed and frame index. Every call is recorded for assertions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.pipeline.types import GenerationSettings, KeyframeResult
from core.progress import Cancelled, Progress

TOKEN_SHAPE = (2, 4)  # (L, d)
IMAGE_SIZE = (56, 32)  # (W, H)


def seed_color(seed: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(seed)
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def fake_tokens(seed: int, frame_index: int) -> np.ndarray:
    return np.array([[seed % 997, frame_index, 1.0, 2.0], [3.0, 4.0, 5.0, 6.0]], dtype=np.float32)


@dataclass
class GenerateCall:
    targets: list[int] | None
    context: dict[int, np.ndarray]
    seeds: dict[int, int]
    cast_photos: dict[str, list[Path]]
    references: list[Path]
    settings: GenerationSettings
    known_faces: dict[str, Any] = field(default_factory=dict)  # stored embeddings by photo path


@dataclass
class FakePipeline:
    bundle_id: str = "fake-bundle"
    defaults: GenerationSettings = field(
        default_factory=lambda: GenerationSettings(num_inference_steps=4, guidance_scale=2.5)
    )
    face_encoder: Any = None  # a core.encoders.FaceEncoder, or a test's stand-in for one
    calls: list[GenerateCall] = field(default_factory=list)
    encoded: list[tuple[int, int]] = field(default_factory=list)  # sizes of the panels tokenized
    # Called after each keyframe is yielded back (lets a test cancel in the middle).
    after_keyframe: Any = None

    def encode_keyframe(self, image):
        """(L, d) tokens of an uploaded panel: its mean colour, so a test can tell panels apart."""
        self.encoded.append(image.size)
        mean = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(0)
        return np.array([[*mean, 7.0], [7.0, 7.0, 7.0, 7.0]], dtype=np.float32)

    def generate(
        self,
        script,
        *,
        cast_photos=None,
        references=(),
        targets=None,
        context=None,
        seeds=None,
        settings=None,
        should_cancel=None,
        on_progress=None,
        known_faces=None,
    ):
        cast_photos = cast_photos or {}
        context = dict(context or {})
        seeds = dict(seeds or {})
        self.calls.append(
            GenerateCall(
                targets=None if targets is None else list(targets),
                context=context,
                seeds=seeds,
                cast_photos={k: list(v) for k, v in cast_photos.items()},
                references=list(references),
                settings=settings or self.defaults,
                known_faces=dict(known_faces or {}),
            )
        )
        shots = script.shots()
        frames = sorted(targets) if targets is not None else list(range(len(shots)))
        for done, index in enumerate(frames):
            if should_cancel is not None and should_cancel():
                raise Cancelled("stopped between keyframes")
            seed = seeds.get(index, 0)
            scene_index, shot_index, _ = shots[index]
            yield KeyframeResult(
                frame_index=index,
                scene_index=scene_index,
                shot_index=shot_index,
                image=Image.new("RGB", IMAGE_SIZE, seed_color(seed)),
                tokens=fake_tokens(seed, index),
                seed=seed,
                params={"sampler": "fake"},
            )
            if on_progress is not None:
                on_progress(Progress(done=done + 1, total=len(frames)))
            if self.after_keyframe is not None:
                self.after_keyframe(index)


class CountingLoader:
    """A ModelCache storyboard loader handing out one FakePipeline per bundle, counting loads."""

    def __init__(self, pipeline: FakePipeline | None = None):
        self.pipeline = pipeline or FakePipeline()
        self.loads: list[Path] = []

    def __call__(self, path: Path, device: str) -> FakePipeline:
        self.loads.append(path)
        return self.pipeline
