"""What every face backend shares: a detected face box, the detector and embedder interfaces, and
the square crop the embedders read.

Dimensions: F faces (or face photos) in a batch, E face embedding width.

Its own file so that the backends (face_haar, face_clip, face_insightface) and the encoder that
joins them (core.encoders.faces) import it, and not each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image


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
