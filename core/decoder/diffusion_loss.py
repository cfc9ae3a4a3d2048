"""The decoder's training objective: eq. 1, the epsilon-prediction loss, with offset noise.

Dimensions: latents (B, c, h, w) (already scaled by the VAE's scaling_factor); context
(B, S, D); pooled (B, P) for text_time UNets.

    L = E_{z, eps, t} || eps - eps_theta(z_t, t, c) ||^2,   z_t = sqrt(a_t) z + sqrt(1 - a_t) eps

Offset noise (noise_offset, 0.05 in stage 1) adds one random constant per sample and channel
to eps so the model also learns to shift a frame's mean brightness: without it, a diffusion
model cannot render very dark (night) or very bright frames.

Min-SNR-gamma weighting (`snr_gamma`, Hang et al. 2023) weights each sample's squared error
by min(SNR_t, gamma) / SNR_t for epsilon targets and min(SNR_t, gamma) / (SNR_t + 1) for v
targets, so the many nearly-clean timesteps stop dominating the gradient (SNR from
diffusers' `compute_snr`). None keeps the plain mean.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DConditionModel
from diffusers.training_utils import compute_snr
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
    snr_gamma: float | None = None,
) -> torch.Tensor:
    """Mean squared error of the UNet's prediction (eps, or v for v-prediction schedulers).

    snr_gamma: min-SNR-gamma weighting of the per-sample errors (gamma = 5 in the paper).
    """
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
    if snr_gamma is None:
        return functional.mse_loss(pred.float(), target.float())
    per_sample = (pred.float() - target.float()).pow(2).mean(dim=(1, 2, 3))  # (B,)
    snr = compute_snr(scheduler, t)
    clipped = torch.clamp(snr, max=snr_gamma)
    # v targets: min(SNR, g) / (SNR + 1) (the v loss is (SNR + 1) x the epsilon loss). Under a
    # zero-terminal-SNR schedule the single step t = T gets weight 0.
    weight = clipped / (snr + 1) if kind == "v_prediction" else clipped / snr.clamp(min=1e-8)
    return (per_sample * weight).mean()
