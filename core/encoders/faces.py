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
from pathlib import Path

import torch
from PIL import Image

from core.encoders.face_box import FaceBox, FaceDetector, FaceEmbedder, NoFaceFound, square_crop
from core.encoders.face_clip import ClipFaceEmbedder
from core.encoders.face_haar import HaarFaceDetector
from core.encoders.face_insightface import InsightFaceModels, find_insightface_models

__all__ = [
    "FaceBox",
    "FaceDetector",
    "FaceEmbedder",
    "FaceEncoder",
    "NoFaceFound",
    "make_face_encoder",
    "square_crop",
]

logger = logging.getLogger(__name__)


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
    model_dir = find_insightface_models(insightface_root, insightface_name) if insightface_root else None
    insight = InsightFaceModels(model_dir) if model_dir is not None else None
    detector: FaceDetector = insight.detector() if insight is not None else HaarFaceDetector()

    if embedder == "clip":
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
