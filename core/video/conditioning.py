"""How a clip is conditioned: the SVD channel layout, micro-conditioning ids and motion buckets.

Shared by the sampler (`pipeline.py`) and training (`train/stage4_video.py`) so both build the
UNet input the same way. Shapes (B batch, T frames, C latent channels, h x w latent size):

  first_latents (B, C, h, w)  -> repeated over T                      SVD's image condition
  last_latents  (B, C, h, w)  -> repeated over T, plus a mask channel  first-last (App. E.2)
  condition     (B, T, C or 2C + 1, h, w), concatenated after the noisy latents on dim 2

A missing last frame is zeros with mask 0, the same thing training shows when it drops the
last frame, so one model serves clips with and without a target frame.

SVD conditions on the VAE posterior *mode* without the latent scaling factor (the noisy
latents are scaled); we keep that quirk so SVD weights work unchanged.
"""

from __future__ import annotations

import inspect

import torch


def added_time_ids(
    fps: float,
    motion_bucket_id: float,
    noise_aug_strength: float,
    batch_size: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """(B, 3) micro-conditioning; SVD was trained on fps - 1, so that is what it reads."""
    ids = torch.tensor([[fps - 1, motion_bucket_id, noise_aug_strength]], dtype=dtype, device=device)
    return ids.repeat(batch_size, 1)


def check_added_time_ids(unet) -> None:
    expected = unet.add_embedding.linear_1.in_features
    passed = unet.config.addition_time_embed_dim * 3
    if expected != passed:
        raise ValueError(
            f"The UNet's added-time embedding takes {expected} inputs but [fps, motion, noise] give {passed}; "
            "the UNet config does not match the SVD micro-conditioning."
        )


def supports_first_last(unet, latent_channels: int) -> bool:
    """True when the UNet has the last-frame channels; False for a plain SVD UNet."""
    in_channels = unet.config.in_channels
    if in_channels == 3 * latent_channels + 1:
        return True
    if in_channels == 2 * latent_channels:
        return False
    raise ValueError(
        f"The UNet takes {in_channels} input channels, which fits neither SVD ({2 * latent_channels}) nor "
        f"first-last conditioning ({3 * latent_channels + 1}) with {latent_channels} latent channels."
    )


def condition_channels(
    first_latents: torch.Tensor,
    num_frames: int,
    last_latents: torch.Tensor | None = None,
    first_last: bool = False,
) -> torch.Tensor:
    """(B, T, Cc, h, w) conditioning channels for a segment of `num_frames` frames."""
    batch, channels, height, width = first_latents.shape
    first = first_latents.unsqueeze(1).expand(batch, num_frames, channels, height, width)  # (B, T, C, h, w)
    if not first_last:
        if last_latents is not None:
            raise ValueError(
                "This video model has no last-frame channels, so it cannot aim at the next shot's keyframe; "
                "use a model trained with first-last conditioning or leave the last frame out."
            )
        return first
    if last_latents is None:
        last = torch.zeros_like(first)
        mask = first.new_zeros(batch, num_frames, 1, height, width)
    else:
        last = last_latents.unsqueeze(1).expand(batch, num_frames, channels, height, width)
        mask = first.new_ones(batch, num_frames, 1, height, width)
    return torch.cat([first, last, mask], dim=2)  # (B, T, 2C + 1, h, w)


def encode_condition_latents(vae, pixels: torch.Tensor) -> torch.Tensor:
    """VAE posterior mode of (B, 3, H, W) pixels in [-1, 1]: (B, C, h, w), unscaled (SVD convention)."""
    return vae.encode(pixels.to(dtype=vae.dtype)).latent_dist.mode()


def decode_latents(vae, latents: torch.Tensor, chunk_size: int) -> torch.Tensor:
    """(B, T, C, h, w) scaled latents -> (B, T, 3, H, W) pixels in [-1, 1], `chunk_size` frames at a time."""
    batch, num_frames = latents.shape[:2]
    flat = latents.flatten(0, 1) / vae.config.scaling_factor  # (B*T, C, h, w)
    takes_frames = "num_frames" in inspect.signature(vae.decode).parameters
    frames = []
    for start in range(0, flat.shape[0], chunk_size):
        chunk = flat[start : start + chunk_size].to(dtype=vae.dtype)
        # the temporal decoder of SVD needs to know how many frames a chunk holds
        kwargs = {"num_frames": chunk.shape[0]} if takes_frames else {}
        frames.append(vae.decode(chunk, **kwargs).sample.float())
    pixels = torch.cat(frames)
    return pixels.reshape(batch, num_frames, *pixels.shape[1:])


def vae_round_trip(vae, pixels: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) pixels in [-1, 1] after the VAE's encode (mode) and decode, in [-1, 1].

    The sharpest a generated frame can be: what a chained segment starts from at best.
    """
    latents = encode_condition_latents(vae, pixels) * vae.config.scaling_factor
    return decode_latents(vae, latents[:, None], chunk_size=pixels.shape[0])[:, 0].clamp(-1, 1)


def motion_bucket(frames: torch.Tensor, full_scale: float) -> torch.Tensor:
    """(B,) motion bucket ids 0..255 from (B, T, 3, H, W) frames in [-1, 1].

    SVD buckets optical-flow magnitude; our toy clips move rigidly, so the mean absolute
    frame difference tracks the amount of motion just as well and costs nothing.
    """
    diffs = (frames[:, 1:] - frames[:, :-1]).abs().mean(dim=(1, 2, 3, 4)) / 2.0  # in [0, 1] units
    return (diffs / full_scale * 255.0).clamp(0, 255).round()
