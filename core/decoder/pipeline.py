"""Keyframe decoder pipeline: visual tokens (+ descriptions, faces) -> keyframe image.

Dimensions:
    B  keyframes
    L, d   visual tokens per keyframe and their width
    K, e   description embeddings per keyframe (<= 15) and their width
    F, f   face embeddings per keyframe (<= 5) and their width
    c, h, w  VAE latent channels and size (default 4 x 16 x 28 for a 128 x 224 image)

Paper 3.2 / 3.4: a diffusers `UNet2DConditionModel` denoises `AutoencoderKL` latents while its
cross-attention reads the `DecoderConditioner` context. Classifier-free guidance mixes the
conditional prediction with the one under the null condition (all slots null), which the
conditioner learned through condition dropout. Identity guidance (`face_guidance_scale`) adds a
second direction, from the same condition without its face slots to the full one, as
InstructPix2Pix guides image and text separately:

    noise = null + g * (no_faces - null) + g_face * (full - no_faces)

so g = g_face is plain guidance, and g <= 1 (no plain guidance) leaves
no_faces + g_face * (full - no_faces). Any diffusers scheduler works.

The pipeline composes its four components and owns no weights; `save_pretrained` writes the
usual diffusers folder (model_index.json + one subfolder per component) and `from_pretrained`
reads local folders only.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput
from diffusers.schedulers import KarrasDiffusionSchedulers
from diffusers.utils.torch_utils import randn_tensor

from core.decoder.conditioning import DecoderCondition, DecoderConditioner


def sdxl_time_ids(height: int, width: int, batch: int, device, dtype) -> torch.Tensor:
    """SDXL micro-conditioning (original size, crop offset, target size): (B, 6).

    We always render whole, uncropped keyframes at the native size, so the offsets are 0.
    """
    ids = torch.tensor([height, width, 0, 0, height, width], device=device, dtype=dtype)
    return ids.unsqueeze(0).expand(batch, -1)


def vae_encode(
    vae: AutoencoderKL, pixels: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> scaled latents (B, c, h, w), the space the UNet works in.

    `scaling_factor` (and SD3-style `shift_factor`) bring the latents to about unit variance;
    stage 0 measures it on toy frames and stores it in the VAE's config.
    """
    latents = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.sample(generator)
    shift = vae.config.shift_factor or 0.0
    return (latents - shift) * vae.config.scaling_factor


def vae_decode(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    """Scaled latents (B, c, h, w) -> images (B, 3, H, W) in [-1, 1]."""
    shift = vae.config.shift_factor or 0.0
    latents = latents / vae.config.scaling_factor + shift
    return vae.decode(latents.to(vae.dtype)).sample


def unet_added_conditions(
    unet: UNet2DConditionModel, condition: DecoderCondition, height: int, width: int
) -> dict[str, torch.Tensor] | None:
    """The `added_cond_kwargs` a text_time (SDXL) UNet needs, None for a plain UNet."""
    if unet.config.addition_embed_type != "text_time":
        return None
    if condition.pooled is None:
        raise ValueError(
            "This UNet is SDXL-style (addition_embed_type='text_time') but the conditioner has no "
            "pooled projection; build DecoderConditioner with pooled_dim set."
        )
    batch = condition.pooled.shape[0]
    time_ids = sdxl_time_ids(height, width, batch, condition.pooled.device, condition.pooled.dtype)
    return {"text_embeds": condition.pooled, "time_ids": time_ids}


def combine_guidance(
    predictions: tuple[torch.Tensor, ...], guidance_scale: float | None, face_guidance_scale: float | None
) -> torch.Tensor:
    """Mix the UNet outputs of the branches ([null], [no faces], full; a scale of None = branch absent)."""
    *rest, full = predictions
    null = rest.pop(0) if guidance_scale is not None else None
    no_faces = rest.pop(0) if face_guidance_scale is not None else None
    if no_faces is None:
        return full if null is None else null + guidance_scale * (full - null)
    base = no_faces if null is None else null + guidance_scale * (no_faces - null)
    return base + face_guidance_scale * (full - no_faces)


class KeyframeDecoderPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "conditioner->unet->vae"

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderKL,
        scheduler: KarrasDiffusionSchedulers,
        conditioner: DecoderConditioner,
    ):
        super().__init__()
        if conditioner.config.context_dim != unet.config.cross_attention_dim:
            raise ValueError(
                f"The conditioner writes a context of width {conditioner.config.context_dim} but the "
                f"UNet's cross-attention reads width {unet.config.cross_attention_dim}; they must match."
            )
        if vae.config.latent_channels != unet.config.in_channels:
            raise ValueError(
                f"The VAE has {vae.config.latent_channels} latent channels but the UNet reads "
                f"{unet.config.in_channels}; they must match."
            )
        self.register_modules(unet=unet, vae=vae, scheduler=scheduler, conditioner=conditioner)
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs
    ) -> KeyframeDecoderPipeline:
        """Load a pipeline folder written by `save_pretrained`. Local folders only."""
        folder = Path(pretrained_model_name_or_path)
        if not (folder / "model_index.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not a saved keyframe decoder (model_index.json is missing). Give the "
                "local 'decoder' folder of a model bundle or of a stage 1/3 run; nothing is downloaded."
            )
        kwargs.setdefault("local_files_only", True)
        return super().from_pretrained(str(folder), **kwargs)

    # -- sizes -----------------------------------------------------------------------

    @property
    def latent_size(self) -> tuple[int, int]:
        size = self.unet.config.sample_size
        return (size, size) if isinstance(size, int) else tuple(size)

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the rendered keyframe."""
        h, w = self.latent_size
        return h * self.vae_scale_factor, w * self.vae_scale_factor

    # -- latents ---------------------------------------------------------------------

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        return vae_decode(self.vae, latents)

    def _step_kwargs(self, generator: torch.Generator | None, eta: float) -> dict:
        # Schedulers differ in what `step` accepts; pass only what this one takes.
        params = set(inspect.signature(self.scheduler.step).parameters)
        kwargs = {}
        if "eta" in params:
            kwargs["eta"] = eta
        if "generator" in params:
            kwargs["generator"] = generator
        return kwargs

    # -- sampling --------------------------------------------------------------------

    @torch.no_grad()
    def __call__(
        self,
        tokens: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        face_embeds: torch.Tensor | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = 2.0,
        face_guidance_scale: float = 1.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pil",
        latents: torch.Tensor | None = None,
        eta: float = 0.0,
        batch_size: int | None = None,
        height: int | None = None,
        width: int | None = None,
        return_dict: bool = True,
    ) -> ImagePipelineOutput | tuple:
        """Render keyframes.

        tokens: visual tokens (B, L, d), or None to decode from descriptions/faces alone.
        text_embeds: description-sentence embeddings (B, <=15, e), zero rows = absent.
        face_embeds: face embeddings (B, <=5, f), zero rows = absent.
        guidance_scale: classifier-free guidance weight; <= 1 disables guidance.
        face_guidance_scale: identity guidance weight, from the condition without faces to the
            full one; <= 1 disables it (it needs face_embeds and costs one more UNet pass).
        output_type: "pil", "np", "pt" (images in [0, 1]) or "latent".
        height, width: image size in pixels; by default the size the UNet was trained at.
        """
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps is {num_inference_steps}; use at least 1 step.")
        if output_type not in ("pil", "np", "pt", "latent"):
            raise ValueError(f"output_type {output_type!r} is unknown; use 'pil', 'np', 'pt' or 'latent'.")
        device = self._execution_device
        condition = self.conditioner(
            tokens, text_embeds, face_embeds, batch_size=batch_size, apply_masking=False
        )
        batch = condition.context.shape[0]
        use_guidance = guidance_scale > 1.0
        # zero face rows are absent faces: with none present the extra branch would equal the full one
        use_face_guidance = face_guidance_scale > 1.0 and face_embeds is not None and bool(face_embeds.any())
        # the batch the UNet sees: [null] [no faces] full, each present only when a guidance needs it
        branches = [condition]
        if use_face_guidance:
            no_faces = self.conditioner(tokens, text_embeds, None, batch_size=batch, apply_masking=False)
            branches.insert(0, no_faces)
        if use_guidance:
            branches.insert(0, self.conditioner.null_condition(batch))
        if len(branches) > 1:
            context = torch.cat([b.context for b in branches])  # (nB, S, D)
            pooled = None if condition.pooled is None else torch.cat([b.pooled for b in branches])
            condition = DecoderCondition(context, pooled, condition.present, condition.kept)
        context = condition.context.to(self.unet.dtype)
        height = height or self.image_size[0]
        width = width or self.image_size[1]
        if height % self.vae_scale_factor or width % self.vae_scale_factor:
            raise ValueError(
                f"The image size {height}x{width} must be divisible by the VAE's downsampling factor "
                f"{self.vae_scale_factor}."
            )
        added = unet_added_conditions(self.unet, condition, height, width)

        h, w = height // self.vae_scale_factor, width // self.vae_scale_factor
        shape = (batch, self.unet.config.in_channels, h, w)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape} but have shape {tuple(latents.shape)}.")
        else:
            latents = latents.to(device=device, dtype=self.unet.dtype)

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        latents = latents * self.scheduler.init_noise_sigma
        step_kwargs = self._step_kwargs(generator, eta)
        for t in self.progress_bar(self.scheduler.timesteps):
            model_input = torch.cat([latents] * len(branches)) if len(branches) > 1 else latents
            model_input = self.scheduler.scale_model_input(model_input, t)
            noise = self.unet(model_input, t, encoder_hidden_states=context, added_cond_kwargs=added).sample
            noise = combine_guidance(
                noise.chunk(len(branches)),
                guidance_scale if use_guidance else None,
                face_guidance_scale if use_face_guidance else None,
            )
            latents = self.scheduler.step(noise, t, latents, **step_kwargs).prev_sample

        if output_type == "latent":
            images = latents
        else:
            decoded = self.decode_latents(latents)
            images = self.image_processor.postprocess(decoded, output_type=output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)
