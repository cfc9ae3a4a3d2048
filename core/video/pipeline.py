"""Anchored image-to-video (paper 3.5) with optional first-and-last-frame conditioning (App. E.2).

`AnchoredVideoPipeline` composes a `UNetSpatioTemporalConditionModel`, a VAE
(`AutoencoderKL` per frame, or SVD's `AutoencoderKLTemporalDecoder`), a frozen image tower
and any diffusers scheduler; it owns no weights. Shapes (B batch, T frames per segment,
C latent channels, H x W pixels, h x w = H x W / vae factor, D embedding):

  keyframe pixels      (B, 3, H, W) in [-1, 1]
  anchor embedding     (B, N, D)            cross-attention context of every segment: N = 1
                                            (SVD's pooled embedding) or 1 + P image tokens
                                            (`anchor_tokens`, the pooled embedding and the
                                            P projected patch tokens of the same tower)
  condition channels   (B, T, C | 2C+1, h, w)
  latents              (B, T, C, h, w)
  output frames        (B, T + (S-1)(T-1), H, W, 3) for S segments

Extending a clip segment by segment (the paper's anchor): segment s > 0 starts from the last
frame of segment s - 1 (its VAE latent is the image condition), while the CLIP embedding stays
that of the ORIGINAL keyframe. Without the anchor (`anchor=False`, for comparison) each
segment embeds its own start frame, and errors compound from segment to segment.

With a `last_image` (the next shot's keyframe) the final segment is also conditioned on it,
so consecutive shots connect; models without the last-frame channels refuse it clearly.

Classifier-free guidance follows SVD: the unconditional branch sees zero embeddings and zero
condition channels; the guidance scale rises linearly from `min_guidance_scale` on the first
frame to `max_guidance_scale` on the last. `anchor_guidance_scale` > 1 adds a second direction,
from "start frame without the image embedding" to "start frame with it" (one more UNet pass per
step, mixed as InstructPix2Pix does: `core.decoder.pipeline.combine_guidance`), which pulls each
segment harder toward what the embedding - the anchor - shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from core.decoder.pipeline import combine_guidance
from core.progress import CancelCheck, Progress, ProgressCallback, raise_if_cancelled
from core.video.conditioning import (
    added_time_ids,
    check_added_time_ids,
    condition_channels,
    decode_latents,
    encode_condition_latents,
    supports_first_last,
)
from core.video.image_embedder import anchor_context

ImageInput = PIL.Image.Image | np.ndarray | torch.Tensor | Sequence[PIL.Image.Image]


@dataclass
class AnchoredVideoPipelineOutput(BaseOutput):
    """`frames`: (B, N, H, W, 3) float in [0, 1] ("np"), (B, N, 3, H, W) ("pt") or lists of PIL images."""

    frames: np.ndarray | torch.Tensor | list[list[PIL.Image.Image]]


def to_pixels(image: ImageInput) -> torch.Tensor:
    """Any supported image input -> (B, 3, H, W) float in [0, 1]."""
    if isinstance(image, PIL.Image.Image):
        image = [image]
    if isinstance(image, (list, tuple)):
        if not image or not all(isinstance(i, PIL.Image.Image) for i in image):
            raise ValueError("A list of images must hold PIL images only.")
        sizes = {i.size for i in image}
        if len(sizes) > 1:
            raise ValueError(f"All images of a batch must have one size, got {sorted(sizes)}.")
        image = np.stack([np.asarray(i.convert("RGB")) for i in image])
    if isinstance(image, np.ndarray):
        array = image[None] if image.ndim == 3 else image
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ValueError(f"A numpy image must be (H, W, 3) or (B, H, W, 3), got shape {image.shape}.")
        tensor = torch.from_numpy(np.array(array, copy=True)).permute(0, 3, 1, 2)  # PIL arrays are read-only
        if array.dtype == np.uint8:
            return tensor.float() / 255.0
        if array.min() < 0 or array.max() > 1:
            raise ValueError("A float numpy image must hold values in [0, 1]; pass uint8 for 0..255 pixels.")
        return tensor.float()
    if isinstance(image, torch.Tensor):
        tensor = image[None] if image.ndim == 3 else image
        if tensor.ndim != 4 or tensor.shape[1] != 3:
            raise ValueError(
                f"A tensor image must be (3, H, W) or (B, 3, H, W) in [0, 1], got {tuple(image.shape)}."
            )
        if tensor.min() < 0 or tensor.max() > 1:
            raise ValueError("A tensor image must hold values in [0, 1]; rescale it before passing it in.")
        return tensor.float()
    raise TypeError(
        f"Unsupported image type {type(image).__name__}; pass a PIL image, a numpy array or a tensor."
    )


class AnchoredVideoPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "image_encoder->unet->vae"
    _optional_components = ["image_encoder", "feature_extractor"]

    def __init__(
        self, vae, image_encoder, unet, scheduler, feature_extractor=None, anchor_tokens: bool = False
    ):
        super().__init__()
        self.register_modules(
            vae=vae,
            image_encoder=image_encoder,
            unet=unet,
            scheduler=scheduler,
            feature_extractor=feature_extractor,
        )
        # saved in model_index.json: the UNet was trained on one or the other context
        self.register_to_config(anchor_tokens=bool(anchor_tokens))
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)

    # -- pieces ------------------------------------------------------------------------

    @property
    def latent_channels(self) -> int:
        return self.vae.config.latent_channels

    @property
    def first_last(self) -> bool:
        """Whether the UNet has last-frame channels."""
        return supports_first_last(self.unet, self.latent_channels)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) pixels in [0, 1] -> (B, N, D) cross-attention context (N = 1 without tokens)."""
        tokens = bool(self.config.get("anchor_tokens", False))
        embedding = anchor_context(self.image_encoder, pixels, self.feature_extractor, tokens=tokens)
        if embedding.shape[-1] != self.unet.config.cross_attention_dim:
            raise ValueError(
                f"The image encoder gives {embedding.shape[-1]}-dimensional embeddings but the UNet attends to "
                f"{self.unet.config.cross_attention_dim}; use the encoder the video model was trained with."
            )
        return embedding.to(self.unet.dtype)

    def _condition_latents(
        self, pixels01: torch.Tensor, noise_aug_strength: float, generator
    ) -> torch.Tensor:
        """Noise-augmented VAE latents of a conditioning frame (SVD), (B, C, h, w)."""
        pixels = pixels01 * 2.0 - 1.0
        noise = randn_tensor(pixels.shape, generator=generator, device=pixels.device, dtype=pixels.dtype)
        return encode_condition_latents(self.vae, pixels + noise_aug_strength * noise).to(self.unet.dtype)

    def _denoise_segment(
        self,
        *,
        first_latents: torch.Tensor,
        last_latents: torch.Tensor | None,
        embedding: torch.Tensor,
        time_ids: torch.Tensor,
        num_frames: int,
        num_inference_steps: int,
        guidance: torch.Tensor,
        anchor_guidance: float,
        generator,
        on_step,
    ) -> torch.Tensor:
        """One segment of (B, T, C, h, w) latents."""
        batch, channels, h, w = first_latents.shape
        device = first_latents.device
        condition = condition_channels(first_latents, num_frames, last_latents, self.first_last)
        use_cfg = bool(guidance.max() > 1.0)
        use_anchor = anchor_guidance != 1.0
        # branches, in combine_guidance's order: [null], [no embedding], full
        conditions, embeddings = [condition], [embedding]
        if use_anchor:
            conditions.insert(0, condition)
            embeddings.insert(0, torch.zeros_like(embedding))
        if use_cfg:
            conditions.insert(0, torch.zeros_like(condition))
            embeddings.insert(0, torch.zeros_like(embedding))
        branches = len(conditions)
        condition, embedding = torch.cat(conditions), torch.cat(embeddings)
        time_ids = time_ids.repeat(branches, 1)

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        latents = randn_tensor(
            (batch, num_frames, channels, h, w), generator=generator, device=device, dtype=self.unet.dtype
        )
        latents = latents * self.scheduler.init_noise_sigma
        for t in self.scheduler.timesteps:
            model_input = torch.cat([latents] * branches)
            model_input = self.scheduler.scale_model_input(model_input, t)
            model_input = torch.cat([model_input, condition], dim=2)  # (B', T, C + Cc, h, w)
            prediction = self.unet(
                model_input, t, encoder_hidden_states=embedding, added_time_ids=time_ids, return_dict=False
            )[0]
            prediction = combine_guidance(
                prediction.chunk(branches),
                guidance if use_cfg else None,
                anchor_guidance if use_anchor else None,
            )
            latents = self.scheduler.step(prediction, t, latents).prev_sample
            on_step()
        return latents

    # -- call --------------------------------------------------------------------------

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput,
        last_image: ImageInput | None = None,
        *,
        height: int | None = None,
        width: int | None = None,
        num_frames: int | None = None,
        num_segments: int = 1,
        anchor: bool = True,
        num_inference_steps: int = 25,
        min_guidance_scale: float = 1.0,
        max_guidance_scale: float = 3.0,
        fps: int = 7,
        motion_bucket_id: int = 127,
        noise_aug_strength: float = 0.02,
        anchor_guidance_scale: float = 1.0,
        decode_chunk_size: int | None = None,
        generator: torch.Generator | None = None,
        output_type: str = "np",
        return_dict: bool = True,
        progress: ProgressCallback | None = None,
        cancel_check: CancelCheck | None = None,
    ):
        """Turn a keyframe into a clip of `num_segments` chained segments of `num_frames` frames.

        `image` is the shot's keyframe; `last_image` optionally the next shot's keyframe, which
        the final segment ends on. `anchor=False` re-embeds each segment's start frame (the
        drifting baseline). `progress(Progress(done, total))` counts denoising steps and decoded
        segments; `cancel_check()` returning True raises `Cancelled` between steps.
        """
        if output_type not in ("np", "pt", "pil"):
            raise ValueError(f"output_type must be 'np', 'pt' or 'pil', not {output_type!r}.")
        if num_segments < 1:
            raise ValueError(f"num_segments is {num_segments}; a clip needs at least one segment.")
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps is {num_inference_steps}; use at least one step.")
        if anchor_guidance_scale < 0:
            raise ValueError(
                f"anchor_guidance_scale is {anchor_guidance_scale}; use 1.0 (off) or more to pull toward the anchor."
            )
        num_frames = num_frames or self.unet.config.num_frames
        if num_frames < 2:
            raise ValueError(f"num_frames is {num_frames}; a segment needs at least two frames.")
        check_added_time_ids(self.unet)
        if last_image is not None and not self.first_last:
            raise ValueError(
                "This video model has no last-frame channels, so it cannot end a clip on the next shot's keyframe; "
                "use a model trained with first-last conditioning or leave last_image out."
            )

        device = self._execution_device
        pixels = to_pixels(image).to(device)
        height = height or pixels.shape[-2]
        width = width or pixels.shape[-1]
        if height % self.vae_scale_factor or width % self.vae_scale_factor:
            raise ValueError(
                f"The clip size {width}x{height} must be a multiple of the VAE factor {self.vae_scale_factor}; "
                "pass a height and width that are."
            )
        pixels = self._fit(pixels, height, width)
        batch = pixels.shape[0]
        last_pixels = None
        if last_image is not None:
            last_pixels = self._fit(to_pixels(last_image).to(device), height, width)
            if last_pixels.shape[0] != batch:
                raise ValueError(
                    f"{batch} keyframe(s) but {last_pixels.shape[0]} last frame(s); give one per keyframe."
                )

        total = num_segments * (num_inference_steps + 1)
        done = 0

        def on_step() -> None:
            nonlocal done
            raise_if_cancelled(cancel_check, "The video render")
            done += 1
            if progress is not None:
                progress(Progress(done, total))

        raise_if_cancelled(cancel_check, "The video render")
        anchor_embedding = self.encode_image(pixels)
        time_ids = added_time_ids(fps, motion_bucket_id, noise_aug_strength, batch, self.unet.dtype, device)
        # SVD ramps guidance over frames: the first frame is pinned by the condition anyway
        guidance = torch.linspace(min_guidance_scale, max_guidance_scale, num_frames, device=device)
        guidance = guidance.view(1, num_frames, 1, 1, 1).to(self.unet.dtype)
        chunk = decode_chunk_size or num_frames

        segments: list[torch.Tensor] = []
        start = pixels
        for s in range(num_segments):
            embedding = anchor_embedding if (anchor or s == 0) else self.encode_image(start)
            is_last = s == num_segments - 1
            latents = self._denoise_segment(
                first_latents=self._condition_latents(start, noise_aug_strength, generator),
                last_latents=(
                    self._condition_latents(last_pixels, noise_aug_strength, generator)
                    if (is_last and last_pixels is not None)
                    else None
                ),
                embedding=embedding,
                time_ids=time_ids,
                num_frames=num_frames,
                num_inference_steps=num_inference_steps,
                guidance=guidance,
                anchor_guidance=anchor_guidance_scale,
                generator=generator,
                on_step=on_step,
            )
            frames = ((decode_latents(self.vae, latents, chunk) + 1.0) / 2.0).clamp(0, 1)  # (B, T, 3, H, W)
            on_step()
            # the next segment starts on this one's last frame; keep that frame only once
            segments.append(frames if s == 0 else frames[:, 1:])
            start = frames[:, -1]

        video = torch.cat(segments, dim=1)  # (B, N, 3, H, W)
        self.maybe_free_model_hooks()
        if output_type == "pt":
            out = video
        else:
            array = video.permute(0, 1, 3, 4, 2).cpu().float().numpy()  # (B, N, H, W, 3)
            if output_type == "np":
                out = array
            else:
                out = [
                    [PIL.Image.fromarray((f * 255).round().astype(np.uint8)) for f in clip] for clip in array
                ]
        return AnchoredVideoPipelineOutput(frames=out) if return_dict else (out,)

    @staticmethod
    def _fit(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
        if tuple(pixels.shape[-2:]) == (height, width):
            return pixels
        return F.interpolate(
            pixels, size=(height, width), mode="bicubic", align_corners=False, antialias=True
        ).clamp(0, 1)


def uint8_frames(frames: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) floats in [0, 1] -> uint8, for writing clips."""
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
