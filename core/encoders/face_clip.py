"""Face embeddings from the bundle's CLIP image tower (the FaRL idea: CLIP on face crops).

Input: face crops (any size; letterboxed into the tower's H x W). Output: (F, E) unit-length
embeddings, E = the CLIP embed_dim. Stage 0 trains the tower contrastively on toy-cinema
face crops against their description sentences, so this space separates identities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from core.encoders.face_box import FaceBox, square_crop
from core.encoders.open_clip_encoder import OpenClipEncoder


class ClipFaceEmbedder:
    def __init__(self, clip: OpenClipEncoder, *, margin: float = 0.25, batch_size: int = 32):
        self.clip = clip.freeze()
        self.margin = margin
        self.batch_size = batch_size

    @property
    def embedding_dim(self) -> int:
        return self.clip.embed_dim

    def embed_faces(self, image: Image.Image, boxes: Sequence[FaceBox]) -> torch.Tensor:
        # CLIP needs no landmark alignment; a square crop with margin matches the cast photos.
        return self.embed_crops([square_crop(image, box, self.margin) for box in boxes])

    @torch.no_grad()
    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        if len(crops) == 0:
            return torch.zeros(0, self.embedding_dim)
        rows = [
            self.clip.embed_images(self.clip.to_pixels(crops[i : i + self.batch_size])).float().cpu()
            for i in range(0, len(crops), self.batch_size)
        ]
        return torch.cat(rows)  # (F, E)
