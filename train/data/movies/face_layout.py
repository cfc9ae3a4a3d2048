"""A training-free face descriptor for clustering faces when no trained face model is present.

Input: a keyframe and face boxes (or face crops). Output: (F, E) unit-length rows,
E = 2 * 3 * G * G (G = `grid`, default 8: E = 384).

The descriptor is the colour layout of the face box (the MPEG-7 colour-layout idea: the
face shrunk to a G x G grid of mean colours), taken twice with two normalisations:

* against the crop itself (zero mean, unit spread over the crop): the pattern of hair,
  skin, eyes, glasses and hat, whatever the exposure;
* against the keyframe's mean colour, in log space (grey-world colour constancy): the
  actual skin and hair colours, with the scene's light (night, sunset, the film's grade)
  divided out.

Neither half is enough on its own (measured on toy-cinema films: the pattern confuses
people of similar build, the colours confuse people under changing light); together they
separate a film's cast well enough for the character clustering of stage 3, which also
uses the rule that two faces in one keyframe are two people. It knows nothing about faces,
so on real films use a trained face model (insightface's ArcFace, or the bundle's CLIP
tower trained on faces by stage 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from core.encoders.faces import FaceBox


class ColourLayoutFaceEmbedder:
    name = "colour-layout"

    def __init__(self, grid: int = 8):
        if grid < 2:
            raise ValueError(f"The colour-layout grid is {grid}; use at least 2 cells a side.")
        self.grid = grid

    @property
    def embedding_dim(self) -> int:
        return 2 * 3 * self.grid * self.grid

    def embed_faces(self, image: Image.Image, boxes: Sequence[FaceBox]) -> torch.Tensor:
        """(F, E) for the face boxes of one keyframe, lit by that keyframe's mean colour."""
        image = image.convert("RGB")
        light = np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(0) + 1.0  # (3,)
        rows = []
        for box in boxes:
            x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
            x1, y1 = min(image.width, round(box.x1)), min(image.height, round(box.y1))
            if x1 - x0 < 1 or y1 - y0 < 1:
                raise ValueError(
                    f"The face box {box} lies outside the {image.width}x{image.height} keyframe."
                )
            rows.append(self._describe(image.crop((x0, y0, x1, y1)), light))
        return torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, self.embedding_dim)

    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        """(F, E) for images that already are face crops; without a keyframe, a crop is its own light."""
        rows = []
        for crop in crops:
            crop = crop.convert("RGB")
            light = np.asarray(crop, dtype=np.float32).reshape(-1, 3).mean(0) + 1.0
            rows.append(self._describe(crop, light))
        return torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, self.embedding_dim)

    def _describe(self, crop: Image.Image, light: np.ndarray) -> np.ndarray:
        cells = np.asarray(crop.resize((self.grid, self.grid), Image.Resampling.BOX), dtype=np.float32) + 1.0
        pattern = (cells - cells.mean(axis=(0, 1))) / (cells.std() + 1e-6)  # (G, G, 3)
        colour = np.log(cells / light)  # (G, G, 3)
        halves = [_unit(pattern.ravel()), _unit(colour.ravel())]
        return (np.concatenate(halves) / np.sqrt(2.0)).astype(np.float32)  # (E,)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
