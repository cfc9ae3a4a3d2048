"""The trainable part of stages 1 and 3: compressor + conditioner + UNet, with eq. 1 as forward.

Dimensions:
    B  keyframes;  N, C  CLIP spatial tokens;  E  CLIP pooled embedding width
    L, d  visual tokens;  (B, c, h, w)  scaled VAE latents

One module, so accelerate/DDP wraps a single model and one optimizer: the phases of stage 1
switch parts on and off with `requires_grad` instead of rebuilding anything.

Token sources:
* "compressor": tokens = compressor(CLIP spatial tokens) - the diffusion autoencoder;
* "adapter": tokens = LayerNorm(Linear(CLIP pooled embedding)) - stage 1's decoder
  pre-training, our stand-in for SDXL's own pre-training: the UNet first learns to draw toy
  frames from a CLIP-pooled condition shaped like the visual tokens, then the compressor is
  trained into that frozen decoder (paper 3.2), then both jointly.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel
from torch import nn

from core.decoder.conditioning import DecoderConditioner
from core.decoder.diffusion_loss import diffusion_loss
from core.tokenizer.compressor import TokenCompressor

PARTS = ("compressor", "conditioner", "unet", "adapter")


class PooledTokenAdapter(nn.Module):
    """(B, E) CLIP pooled embedding -> (B, L, d) pseudo-tokens with the compressor's output scale."""

    def __init__(self, embed_dim: int, num_tokens: int, token_dim: int):
        super().__init__()
        self.num_tokens, self.token_dim = num_tokens, token_dim
        self.proj = nn.Linear(embed_dim, num_tokens * token_dim)
        self.norm = nn.LayerNorm(token_dim, elementwise_affine=False)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(pooled).view(-1, self.num_tokens, self.token_dim))


class DiffusionAutoencoder(nn.Module):
    def __init__(
        self,
        compressor: TokenCompressor,
        conditioner: DecoderConditioner,
        unet: UNet2DConditionModel,
        scheduler,
        *,
        image_size: tuple[int, int],
        noise_offset: float = 0.0,
        adapter: PooledTokenAdapter | None = None,
        snr_gamma: float | None = None,
    ):
        super().__init__()
        self.compressor = compressor
        self.conditioner = conditioner
        self.unet = unet
        self.adapter = adapter
        self.scheduler = scheduler
        self.image_size = tuple(image_size)
        self.noise_offset = noise_offset
        self.snr_gamma = snr_gamma  # min-SNR-gamma loss weighting, None = plain mean

    def set_trainable(self, parts: set[str]) -> None:
        unknown = parts - set(PARTS)
        if unknown:
            raise ValueError(f"Unknown parts {sorted(unknown)}; the parts are {', '.join(PARTS)}.")
        for name in PARTS:
            module = getattr(self, name)
            if module is not None:
                module.requires_grad_(name in parts)

    def drop_frozen_grads(self) -> None:
        """Frozen parameters must not move: clear any gradient a DDP reducer wrote for them."""
        for p in self.parameters():
            if not p.requires_grad:
                p.grad = None

    def forward(
        self,
        latents: torch.Tensor,
        *,
        clip_tokens: torch.Tensor | None = None,
        clip_pooled: torch.Tensor | None = None,
        description_embeds: torch.Tensor | None = None,
        face_embeds: torch.Tensor | None = None,
        token_source: str = "compressor",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """The eq. 1 loss of one batch."""
        if token_source == "compressor":
            tokens = self.compressor(clip_tokens)  # (B, L, d)
        elif token_source == "adapter":
            if self.adapter is None:
                raise ValueError("token_source='adapter' needs the pre-training adapter.")
            tokens = self.adapter(clip_pooled)  # (B, L, d)
        else:
            raise ValueError(f"Unknown token source {token_source!r}; use 'compressor' or 'adapter'.")
        condition = self.conditioner(
            tokens, description_embeds, face_embeds, apply_masking=True, generator=generator
        )
        return diffusion_loss(
            self.unet,
            self.scheduler,
            latents,
            condition,
            image_size=self.image_size,
            noise_offset=self.noise_offset,
            generator=generator,
            snr_gamma=self.snr_gamma,
        )
