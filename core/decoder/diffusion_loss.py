"""The decoder's training objective: eq. 1, the epsilon-prediction loss, with offset noise.

Dimensions: latents (B, c, h, w) (already scaled by the VAE's scaling_factor); context
(B, S, D); pooled (B, P) for text_time UNets.

    L = E_{z, eps, t} || eps - eps_theta(z_t, t, c) ||^2,   z_t = sqrt(a_t) z + sqrt(1 - a_t) eps

Offset noise (noise_offset, 0.05 in stage 1) adds one random constant per sample and channel
to eps so the model also learns to shift a frame's mean brightness: without it, a diffusion
model cannot render very dark (night) or very bright frames.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel
from torch.nn import functional

from core.decoder.conditioning import DecoderCondition
from core.decoder.pipeline import unet_added_conditions


def diffusion_loss(
    unet: UNet2DConditionModel,
    scheduler,
    latents: torch.Tensor,
    condition: DecoderCondition,
    *,
    image_size: tuple[int, int],
    noise_offset: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean squared error of the UNet's prediction (eps, or v for v-prediction schedulers)."""
    batch, channels = latents.shape[:2]
    gen_device = generator.device if generator is not None else latents.device

    def randn(*shape):
        return torch.randn(shape, generator=generator, device=gen_device).to(latents.device, latents.dtype)

    noise = randn(*latents.shape)
    if noise_offset:
        noise = noise + noise_offset * randn(batch, channels, 1, 1)
    steps = scheduler.config.num_train_timesteps
    t = torch.randint(0, steps, (batch,), generator=generator, device=gen_device).to(latents.device)
    noisy = scheduler.add_noise(latents, noise, t)
    added = unet_added_conditions(unet, condition, *image_size)
    pred = unet(noisy, t, encoder_hidden_states=condition.context, added_cond_kwargs=added).sample
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        target = noise
    elif kind == "v_prediction":
        target = scheduler.get_velocity(latents, noise, t)
    else:
        raise ValueError(f"The scheduler predicts {kind!r}; the decoder trains 'epsilon' or 'v_prediction'.")
    return functional.mse_loss(pred.float(), target.float())
