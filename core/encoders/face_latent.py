"""Face crops in the decoder's own latent space: what the picture of a face looks like.

Input: face crops (any size; squared by padding with the crop's edge colour, then resized to
`size` x `size`). Output: (F, E) rows, E = latent_channels * (size / f)^2, the VAE encoder's
mean latent of the crop, scaled like the decoder's latents and flattened (4 x 8 x 8 = 256 for
the default bundle's VAE at size 64).

Why: the ID-preserving decoder has to draw a cast member's hair, skin, eyes and clothes from
their photo. The CLIP face tower separates the identities it was trained on, but measured on
identities it never saw its embeddings do not tell hair colour, skin or outfit apart (logistic
probes at or below always guessing the commonest value). The VAE was trained to reconstruct any
frame, so its latent of a crop keeps the colours and their layout for every identity, in the
very space the decoder draws in. It is a decoder input only; the AR model keeps its own face
encoder (see `core.pipeline.bundle`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from core.encoders.face_box import FaceBox, square_crop


class VaeFaceEmbedder:
    def __init__(self, vae, *, size: int = 64, margin: float = 0.25, batch_size: int = 32):
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        if size % scale:
            raise ValueError(f"The face size {size} must be a multiple of the VAE's downsampling {scale}.")
        from diffusers.image_processor import VaeImageProcessor

        self.vae = vae.eval().requires_grad_(False)
        self.size = size
        # diffusers' resize (PIL bicubic) and scaling to [-1, 1], as the decoder's own images
        self._processor = VaeImageProcessor(vae_scale_factor=scale, resample="bicubic")
        self.margin = margin
        self.batch_size = batch_size
        self._cells = (size // scale) ** 2

    @property
    def embedding_dim(self) -> int:
        return self.vae.config.latent_channels * self._cells

    def embed_faces(self, image: Image.Image, boxes: Sequence[FaceBox]) -> torch.Tensor:
        return self.embed_crops([square_crop(image, box, self.margin) for box in boxes])

    def _square(self, crop: Image.Image) -> Image.Image:
        crop = crop.convert("RGB")
        w, h = crop.size
        if w == h:
            return crop
        # Pad, never stretch: a stretched face changes the shape the decoder should copy.
        side = max(w, h)
        edge = tuple(int(v) for v in np.asarray(crop)[[0, -1]].reshape(-1, 3).mean(0))
        square = Image.new("RGB", (side, side), edge)
        square.paste(crop, ((side - w) // 2, (side - h) // 2))
        return square

    def _pixels_of(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        """(F, 3, size, size) in [-1, 1]."""
        squares = [self._square(crop) for crop in crops]
        return self._processor.preprocess(squares, height=self.size, width=self.size)

    def _pixels(self, crop: Image.Image) -> torch.Tensor:
        return self._pixels_of([crop])[0]

    @torch.no_grad()
    def embed_crops(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        if len(crops) == 0:
            return torch.zeros(0, self.embedding_dim)
        cfg = self.vae.config
        shift = cfg.shift_factor or 0.0
        param = next(self.vae.parameters())
        rows = []
        for i in range(0, len(crops), self.batch_size):
            pixels = self._pixels_of(crops[i : i + self.batch_size])
            mean = self.vae.encode(pixels.to(param.device, param.dtype)).latent_dist.mode()
            rows.append(((mean.float() - shift) * cfg.scaling_factor).flatten(1).cpu())
        return torch.cat(rows)  # (F, E)
