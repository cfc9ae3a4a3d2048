"""Keyframe tokenizer (paper 3.2): frozen CLIP vision tower + trained compressor.

Dimensions:
    B  keyframes
    N, C  CLIP spatial tokens and their width
    L, d  visual tokens per keyframe and their width

    images --CLIP (frozen)--> (B, N, C) --TokenCompressor--> (B, L, d)

The tokenizer composes two models and owns no weights of its own. Saved layout:
    <folder>/clip/         open_clip local-dir (OpenClipEncoder.save_pretrained)
    <folder>/compressor/   diffusers ModelMixin layout (config.json + safetensors)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from core.encoders.open_clip_encoder import OpenClipEncoder
from core.tokenizer.compressor import TokenCompressor

CLIP_DIR = "clip"
COMPRESSOR_DIR = "compressor"


class KeyframeTokenizer:
    def __init__(self, clip: OpenClipEncoder, compressor: TokenCompressor):
        cfg = compressor.config
        if (cfg.num_patches, cfg.input_dim) != (clip.num_patches, clip.token_width):
            raise ValueError(
                f"The compressor reads {cfg.num_patches} tokens of width {cfg.input_dim} but the CLIP "
                f"tower gives {clip.num_patches} of width {clip.token_width}; build the compressor "
                "for this CLIP tower (TokenCompressor(input_dim=..., num_patches=...))."
            )
        self.clip = clip.freeze()
        self.compressor = compressor

    @classmethod
    def build(cls, clip: OpenClipEncoder, **compressor_config) -> KeyframeTokenizer:
        """A new (untrained) compressor sized for `clip`."""
        compressor = TokenCompressor(
            input_dim=clip.token_width, num_patches=clip.num_patches, **compressor_config
        )
        return cls(clip, compressor.to(clip.device))

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | torch.device = "cpu") -> KeyframeTokenizer:
        folder = Path(folder)
        if not (folder / COMPRESSOR_DIR).is_dir():
            raise FileNotFoundError(
                f"{folder} is not a saved keyframe tokenizer: the '{COMPRESSOR_DIR}' folder is missing. "
                "Point to the 'tokenizer' folder written by train.stage1_autoencoder."
            )
        clip = OpenClipEncoder.from_pretrained(folder / CLIP_DIR, device=device)
        compressor = TokenCompressor.from_pretrained(folder / COMPRESSOR_DIR).to(device)
        return cls(clip, compressor.eval())

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.clip.save_pretrained(folder / CLIP_DIR)
        self.compressor.save_pretrained(folder / COMPRESSOR_DIR)

    @property
    def num_tokens(self) -> int:
        return self.compressor.config.num_tokens

    @property
    def token_dim(self) -> int:
        return self.compressor.config.token_dim

    @property
    def device(self) -> torch.device:
        return self.clip.device

    def to(self, device: str | torch.device) -> KeyframeTokenizer:
        self.clip.to(device)
        self.compressor.to(device)
        return self

    def spatial_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) CLIP-normalised pixels -> (B, N, C), without gradients (frozen tower)."""
        with torch.no_grad():
            return self.clip.encode_image_tokens(pixels)[1]

    def encode_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, L, d); gradients flow into the compressor only."""
        return self.compressor(self.spatial_tokens(pixels))

    @torch.no_grad()
    def encode(self, images: Sequence[Image.Image], *, batch_size: int = 32) -> torch.Tensor:
        """PIL keyframes -> (B, L, d) on CPU, in eval mode."""
        if len(images) == 0:
            raise ValueError("No keyframes were given to the tokenizer; pass at least one image.")
        was_training = self.compressor.training
        self.compressor.eval()
        try:
            rows = [
                self.encode_pixels(self.clip.to_pixels(images[i : i + batch_size])).float().cpu()
                for i in range(0, len(images), batch_size)
            ]
        finally:
            self.compressor.train(was_training)
        return torch.cat(rows)
