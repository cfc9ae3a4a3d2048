"""Faces: one interface for detect + align + embed (paper 3.3 face embeddings; App. C face IDs).

Dimensions:
    F  faces (or face photos) in a batch
    E  face embedding width (`embedding_dim`; bundle CLIP: its embed_dim, insightface ArcFace: 512)

A `FaceEncoder` joins a `FaceDetector` and a `FaceEmbedder`:
* detectors: insightface's SCRFD (when its models are present locally) or OpenCV's bundled
  Haar cascade (always available);
* embedders: the bundle's CLIP image tower applied to a face crop (the FaRL idea), or
  insightface's recognition model (only with local models; it is never downloaded).

The embedder is a property of the model bundle (the decoder and the AR model were trained on
its embedding space), so `make_face_encoder` never swaps it silently; the detector only finds
the face and may be whichever is present.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)


class NoFaceFound(ValueError):
    """A photo in which the detector found no face."""

    def __init__(self, size: tuple[int, int] | None = None, source: str = "the photo"):
        where = f"{source} ({size[0]}x{size[1]} pixels)" if size else source
        super().__init__(
            f"No face was found in {where}. Use a photo in which one face is clearly visible, "
            "frontal and not too small, or use the whole image as the face "
            "(use_whole_image=True; in the studio: 'Use the whole image')."
        )


@dataclass(frozen=True)
class FaceBox:
    """A detected face in pixel coordinates; `landmarks` are 5 (x, y) points when known."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0
    landmarks: np.ndarray | None = None

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


@runtime_checkable
class FaceDetector(Protocol):
    def detect(self, image: Image.Image) -> list[FaceBox]:
        """All faces found, best first; an empty list when there is none."""
        ...


@runtime_checkable
class FaceEmbedder(Protocol):
    @property
    def embedding_dim(self) -> int: ...

    def embed_faces(self, image: Image.Image, boxes: Sequence[FaceBox]) -> torch.Tensor:
        """Align each face of `image` and embed it: (F, E), unit length."""
        ...

    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        """Embed images that already are face crops (toy-cinema cast photos): (F, E)."""
        ...


def square_crop(image: Image.Image, box: FaceBox, margin: float) -> Image.Image:
    """A square around `box`, enlarged by `margin` of its side on every side.

    Why square with margin: the cast photos the embedder is trained on are square crops that
    show hair and chin; a tight detector box would cut exactly the attributes (hair colour,
    hat, beard) that tell identities apart. Parts outside the image are filled black.
    """
    side = max(box.x1 - box.x0, box.y1 - box.y0) * (1.0 + 2.0 * margin)
    cx, cy = (box.x0 + box.x1) / 2.0, (box.y0 + box.y1) / 2.0
    left, top = round(cx - side / 2.0), round(cy - side / 2.0)
    return image.convert("RGB").crop((left, top, left + round(side), top + round(side)))


class FaceEncoder:
    """Detect the main face of a photo, align it and embed it."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder):
        self.detector = detector
        self.embedder = embedder

    @property
    def embedding_dim(self) -> int:
        return self.embedder.embedding_dim

    def find_faces(self, image: Image.Image) -> list[FaceBox]:
        return self.detector.detect(image)

    def main_face(self, image: Image.Image) -> FaceBox:
        """The largest face; raises NoFaceFound when there is none."""
        boxes = self.detector.detect(image)
        if not boxes:
            raise NoFaceFound(image.size)
        return max(boxes, key=lambda b: b.area)

    def embed(self, image: Image.Image, *, use_whole_image: bool = False) -> torch.Tensor:
        """The embedding (E,) of the photo's main face, or of the whole photo if asked to."""
        if use_whole_image:
            return self.embedder.embed_crops([image])[0]
        return self.embedder.embed_faces(image, [self.main_face(image)])[0]

    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        """Photos that already are face crops -> (F, E) (no detection)."""
        return self.embedder.embed_crops(crops)


def make_face_encoder(
    embedder: str = "clip",
    *,
    clip=None,
    insightface_root: str | Path | None = None,
    insightface_name: str = "buffalo_l",
    margin: float = 0.25,
) -> FaceEncoder:
    """The bundle's face encoder.

    embedder: "clip" (the bundle's CLIP tower on face crops) or "insightface" (needs local
    models). Detection uses insightface whenever its models are present under
    `insightface_root`, else OpenCV's Haar cascade.
    """
    from core.encoders.face_haar import HaarFaceDetector
    from core.encoders.face_insightface import InsightFaceModels, find_insightface_models

    model_dir = find_insightface_models(insightface_root, insightface_name) if insightface_root else None
    insight = InsightFaceModels(model_dir) if model_dir is not None else None
    detector: FaceDetector = insight.detector() if insight is not None else HaarFaceDetector()

    if embedder == "clip":
        from core.encoders.face_clip import ClipFaceEmbedder

        if clip is None:
            raise ValueError(
                "The 'clip' face embedder needs the bundle's CLIP model; pass clip=OpenClipEncoder."
            )
        return FaceEncoder(detector, ClipFaceEmbedder(clip, margin=margin))
    if embedder == "insightface":
        if insight is None:
            raise FileNotFoundError(
                f"This bundle embeds faces with insightface, but no insightface models named "
                f"{insightface_name!r} were found under {insightface_root}. Copy the model folder "
                "(with its .onnx files) there; models are never downloaded."
            )
        return FaceEncoder(detector, insight.embedder())
    raise ValueError(f"Unknown face embedder {embedder!r}; use 'clip' or 'insightface'.")
