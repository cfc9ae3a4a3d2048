"""Stage 4: the image-to-video model (paper 3.5) with first-and-last-frame conditioning (App. E.2).

Trains diffusers' UNetSpatioTemporalConditionModel on toy-cinema motion clips
(DATASET/train/<movie>/clips/*.npz, frames (T, 128, 224, 3), frame 0 = the keyframe). Every
step takes a random window of `num_frames` frames from each sampled clip:

* the first frame's VAE latent (noise-augmented, SVD) conditions every frame; its CLIP image
  embedding is the cross-attention context (the anchor at inference): SVD's one pooled
  embedding, or with `anchor_tokens` (default) the pooled embedding and the tower's projected
  patch tokens, which carry the keyframe's layout and details;
* with probability `degrade_first_prob` the first-frame condition is what a chained segment
  starts from (the frame after a VAE round trip, blurred by up to `degrade_blur` pixels, its
  palette shifted by up to `degrade_colour`) while
  the target stays sharp, so the model learns to restore from the embedding what it lost;
* the window's last frame is the last-frame condition (latent + mask channel), dropped with
  probability `last_frame_dropout` so clips can be made with or without a target frame;
* image embedding and first latent are each dropped with `conditioning_dropout` so
  classifier-free guidance has an unconditional model; the first latent alone is dropped more
  often (`first_latent_dropout`), so the model must be able to draw the clip from the image
  embedding and cannot ignore it;
* with probability `anchor_keyframe_prob` the image embedding is that of the clip's keyframe
  (its frame 0) while the window, and so the first-latent condition, starts later in the clip:
  what the anchor gives a chained segment at inference (paper 3.5);
* motion bucket = mean frame difference, fps = the model's rate, noise_aug = the sampled
  augmentation: SVD's micro-conditioning.

With `cache_latents` (tiny and default presets) each clip frame's target latent is encoded
once and reused when a later window shows the frame again (`LatentCache`; the frozen VAE's
posterior mode is deterministic, so the losses are unchanged); the cache is kept in
OUT/latent_cache_rank<R>.safetensors, so a resumed run starts with it.

Objectives: `ddpm_v` (v-prediction on the model's scaled-linear schedule; sampled with Euler
on the same betas) for models trained here, `edm` (SVD's preconditioning and log-normal
sigmas) for fine-tuning SVD weights at paper scale.

Where the VAE and anchor tower come from:
* `--init STAGE0_RUN`: the bundle's own VAE (vae/) and CLIP (clip/) from stage 0 (default);
* nothing (tiny runs, tests): a VAE trained here first ("vae" phase) and a frozen, randomly
  initialised CLIP vision tower;
* `--set pretrained=SVD_FOLDER` (paper): a local Stable Video Diffusion folder; its UNet gets
  zero-initialised last-frame channels.

`--set unet_init=RUN/video` starts from an earlier run's UNet (same model preset) instead of
random weights: how the bundled model was fine-tuned with image tokens.

The trained model is exported to OUT/video (load it with core.video.loading.load_video_pipeline).

    python -m train.stage4_video --preset default --data DATASET --init runs/stage0 --out runs/stage4
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.video.conditioning import (
    added_time_ids,
    condition_channels,
    encode_condition_latents,
    motion_bucket,
    vae_round_trip,
)
from core.video.config import (
    VideoModelConfig,
    build_image_encoder,
    build_scheduler,
    build_training_scheduler,
    build_unet,
    build_vae,
    expand_unet_for_first_last,
    preset,
    with_vae,
)
from core.video.image_embedder import OpenClipImageEmbedder, anchor_context
from core.video.loading import save_video_pipeline
from core.video.pipeline import AnchoredVideoPipeline
from train.common.cli import stage_parser, stop_step
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import require, resolve_preset
from train.common.run import TrainingRun
from train.common.step_sampler import step_indices

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict] = {
    "tiny": {
        "seed": 0,
        "model": "tiny",
        "objective": "ddpm_v",
        "pretrained": None,
        "vae_steps": 1,
        "vae_lr": 1e-3,
        "kl_weight": 1e-6,
        "scaling_samples": 4,
        "steps": 2,
        "lr": 1e-3,
        "warmup": 0,
        "batch_size": 2,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 2,
        "first_latent_dropout": 0.3,
        "anchor_keyframe_prob": 0.5,
        "anchor_tokens": True,
        "degrade_first_prob": 0.5,
        "degrade_blur": 1.5,
        "degrade_colour": 0.0,
        "cache_latents": True,
        "unet_init": None,
    },
    # The embedded CPU bundle's budget: about 25 minutes on one core beside stages 2 and 3.
    "default": {
        "seed": 0,
        "model": "default",
        "objective": "ddpm_v",
        "pretrained": None,
        "vae_steps": 3000,  # only used without --init (the bundle normally reuses stage 0's VAE)
        "vae_lr": 4e-4,
        "kl_weight": 1e-6,
        "scaling_samples": 64,
        "steps": 250,
        "lr": 2e-4,
        "warmup": 25,
        "batch_size": 2,
        "weight_decay": 0.01,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 50,
        "keep_checkpoints": 2,
        "first_latent_dropout": 0.3,
        "anchor_keyframe_prob": 0.5,
        "anchor_tokens": True,
        "degrade_first_prob": 0.5,
        "degrade_blur": 1.5,
        "degrade_colour": 0.0,
        "cache_latents": True,  # the toy clips' latents fit in memory (~150 MB for the wide VAE)
        "unet_init": None,  # a stage-4 video/ folder whose UNet this run fine-tunes
    },
    "paper": {
        "seed": 0,
        "model": "paper",
        "objective": "edm",
        "pretrained": None,  # local SVD-XT diffusers folder (required)
        "vae_steps": 0,
        "vae_lr": 0.0,
        "kl_weight": 0.0,
        "scaling_samples": 0,
        "steps": 50000,
        "lr": 1e-5,
        "warmup": 500,
        "batch_size": 1,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 1000,
        "keep_checkpoints": 2,
        "first_latent_dropout": 0.1,  # SVD's own: the same as the embedding's
        "anchor_keyframe_prob": 0.5,
        "anchor_tokens": False,  # SVD's UNet was trained on the pooled embedding
        "degrade_first_prob": 0.5,
        "degrade_blur": 1.5,
        "degrade_colour": 0.0,
        "cache_latents": False,  # SVD latents of a real clip set would not fit in memory
        "unet_init": None,
    },
}

# SVD's training distribution of noise levels (EDM, Karras et al. 2022)
EDM_P_MEAN, EDM_P_STD = 0.7, 1.6


# -- data ------------------------------------------------------------------------------


def clip_files(data: str | Path, split: str = "train") -> list[Path]:
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(
            f"The dataset folder {root} does not exist; export the toy world first (train.data.toy_cinema)."
        )
    files = sorted((root / split).glob("*/clips/*.npz"))
    if not files:
        raise FileNotFoundError(
            f"No motion clips were found under {root / split}/<movie>/clips/; export the dataset with clips enabled."
        )
    return files


class ClipWindows:
    """Random windows of `num_frames` frames, resized to (H, W), as (B, T, 3, H, W) in [-1, 1]."""

    def __init__(self, files: list[Path], num_frames: int, size: tuple[int, int]):
        self.files = files
        self.num_frames = num_frames
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def batch(self, indices: list[int], generator: torch.Generator) -> torch.Tensor:
        return self.batch_with_keyframes(indices, generator)[0]

    def batch_with_keyframes(
        self, indices: list[int], generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The windows (B, T, 3, H, W) and their clips' keyframes (frame 0), (B, 3, H, W)."""
        frames, keyframes, _ = self.sample(indices, generator)
        return frames, keyframes

    def sample(
        self, indices: list[int], generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        """`batch_with_keyframes` plus each window's (clip index, first frame index): its frames'
        identity, the key of their cached latents (`LatentCache`)."""
        windows, keyframes, keys = [], [], []
        for index in indices:
            with np.load(self.files[index]) as data:
                frames = data["frames"]
            if len(frames) < self.num_frames:
                raise ValueError(
                    f"The clip {self.files[index]} has {len(frames)} frames but the model needs windows of "
                    f"{self.num_frames}; export longer clips or lower num_frames."
                )
            start = int(torch.randint(0, len(frames) - self.num_frames + 1, (1,), generator=generator))
            picked = np.concatenate([frames[start : start + self.num_frames], frames[:1]])[..., :3]
            pixels = torch.from_numpy(np.ascontiguousarray(picked))
            pixels = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (T + 1, 3, h0, w0)
            if tuple(pixels.shape[-2:]) != self.size:
                pixels = F.interpolate(
                    pixels, size=self.size, mode="bilinear", antialias=True, align_corners=False
                )
            windows.append(pixels[:-1])
            keyframes.append(pixels[-1])
            keys.append((index, start))
        return torch.stack(windows), torch.stack(keyframes), keys


class LatentCache:
    """The frozen VAE's posterior-mode latents of clip frames, each frame encoded once.

    A window's target latents are the mode of the posterior (deterministic), so a frame seen
    again needs no second encode; a clip is visited several times in a run, and with a wide
    VAE the encodes cost more than the UNet's step. Latents are kept unscaled on the CPU, keyed
    by (clip index, frame index), and scaled on the way out so they follow the VAE's factor.
    Only valid while the VAE is frozen.

    With a `path` the cache outlives the process: `save()` writes it there (safetensors), and a
    new cache on the same path starts from it if it was made by the same VAE weights on the
    same clip files (`identity`); otherwise it starts empty and says why.
    """

    def __init__(self, vae, path: str | Path | None = None, identity: str = ""):
        self.vae = vae
        self.store: dict[tuple[int, int], torch.Tensor] = {}
        self.encoded = 0
        self.path = Path(path) if path is not None else None
        self.fingerprint = self._fingerprint(vae, identity) if self.path is not None else ""
        self.saved = 0
        if self.path is not None and self.path.is_file():
            self._load()

    def __len__(self) -> int:
        return len(self.store)

    @staticmethod
    def _fingerprint(vae, identity: str) -> str:
        import hashlib

        digest = hashlib.sha256(identity.encode())
        for name, tensor in sorted(vae.state_dict().items()):
            if name.startswith(("encoder.", "quant_conv.")):
                digest.update(name.encode())
                digest.update(tensor.detach().float().cpu().numpy().tobytes())
        return digest.hexdigest()

    def _load(self) -> None:
        from safetensors import safe_open

        with safe_open(str(self.path), framework="pt") as f:
            made_by = (f.metadata() or {}).get("fingerprint")
            if made_by != self.fingerprint:
                logger.warning(
                    "The latent cache %s was made by another VAE or clip set; starting an empty one.",
                    self.path,
                )
                return
            keys, latents = f.get_tensor("keys"), f.get_tensor("latents")
        self.store = {(int(c), int(t)): latent for (c, t), latent in zip(keys.tolist(), latents, strict=True)}
        self.saved = len(self.store)
        logger.info("latent cache: %d clip frames read from %s", len(self.store), self.path)

    def save(self) -> None:
        """Write the cache to its path (atomically) if it gained frames since the last save."""
        if self.path is None or len(self.store) == self.saved:
            return
        from safetensors.torch import save_file

        from core.files import atomic_output

        keys = list(self.store)
        with atomic_output(self.path) as tmp:
            save_file(
                {
                    "keys": torch.tensor(keys, dtype=torch.int64),
                    "latents": torch.stack([self.store[key] for key in keys]).contiguous(),
                },
                str(tmp),
                metadata={"fingerprint": self.fingerprint},
            )
        self.saved = len(keys)

    @torch.no_grad()
    def latents(self, frames: torch.Tensor, keys: list[tuple[int, int]]) -> torch.Tensor:
        """Scaled latents (B, T, C, h, w) of the windows `frames` (B, T, 3, H, W) sampled at `keys`."""
        batch, num_frames = frames.shape[:2]
        wanted = [(clip, start + t) for clip, start in keys for t in range(num_frames)]
        missing = [i for i, key in enumerate(wanted) if key not in self.store]
        if missing:
            pixels = frames.flatten(0, 1)[missing]
            encoded = encode_condition_latents(self.vae, pixels).float().cpu()
            for i, latent in zip(missing, encoded, strict=True):
                self.store[wanted[i]] = latent
            self.encoded += len(missing)
        stacked = torch.stack([self.store[key] for key in wanted]).to(frames.device)
        return (stacked * self.vae.config.scaling_factor).reshape(batch, num_frames, *stacked.shape[1:])


# -- models ----------------------------------------------------------------------------


class Components:
    """The frozen anchor tower, the VAE and the UNet of one run, plus what the export needs."""

    def __init__(
        self, model: VideoModelConfig, unet, vae, image_encoder, clip_encoder=None, feature_extractor=None
    ):
        self.model, self.unet, self.vae = model, unet, vae
        self.image_encoder, self.clip_encoder, self.feature_extractor = (
            image_encoder,
            clip_encoder,
            feature_extractor,
        )


def build_components(cfg: dict, init: Path | None) -> Components:
    model = preset(cfg["model"], anchor_tokens=bool(cfg["anchor_tokens"]))
    if cfg["pretrained"]:
        from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        folder = Path(cfg["pretrained"])
        if not (folder / "unet" / "config.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not a Stable Video Diffusion folder (unet/config.json is missing)."
            )
        unet = UNetSpatioTemporalConditionModel.from_pretrained(
            folder, subfolder="unet", local_files_only=True
        )
        vae = AutoencoderKLTemporalDecoder.from_pretrained(folder, subfolder="vae", local_files_only=True)
        encoder = CLIPVisionModelWithProjection.from_pretrained(
            folder / "image_encoder", local_files_only=True
        )
        extractor = None
        if (folder / "feature_extractor").is_dir():
            extractor = CLIPImageProcessor.from_pretrained(
                folder / "feature_extractor", local_files_only=True
            )
        if model.first_last:
            unet = expand_unet_for_first_last(unet, vae.config.latent_channels)
        model = replace(
            model, latent_channels=vae.config.latent_channels, image_embed_dim=unet.config.cross_attention_dim
        )
        return Components(model, unet, vae, encoder.eval().requires_grad_(False), feature_extractor=extractor)

    clip_encoder = None
    if init is not None:
        from diffusers import AutoencoderKL

        from core.encoders.open_clip_encoder import OpenClipEncoder

        clip_encoder = OpenClipEncoder.from_pretrained(init / "clip").freeze()
        encoder = OpenClipImageEmbedder(
            clip_encoder.model, clip_encoder.image_size, clip_encoder.mean, clip_encoder.std
        )
        vae = AutoencoderKL.from_pretrained(init / "vae", local_files_only=True)
        model = replace(with_vae(model, vae.config), image_embed_dim=clip_encoder.embed_dim)
    else:
        vae = build_vae(model)
        encoder = build_image_encoder(model, seed=cfg["seed"])
    unet = build_unet(model)
    if cfg["unet_init"]:
        unet = load_unet_init(Path(cfg["unet_init"]), unet)
    return Components(model, unet, vae, encoder.eval().requires_grad_(False), clip_encoder=clip_encoder)


def load_unet_init(folder: Path, built) -> torch.nn.Module:
    """The UNet of an earlier stage-4 export (`folder`/unet), to fine-tune; it must fit this run's model."""
    from diffusers import UNetSpatioTemporalConditionModel

    if not (folder / "unet" / "config.json").is_file():
        raise FileNotFoundError(
            f"unet_init {folder} holds no unet/config.json; give the video/ folder a stage-4 run exported."
        )
    unet = UNetSpatioTemporalConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True)
    for key in ("in_channels", "out_channels", "cross_attention_dim", "block_out_channels", "num_frames"):
        mine, theirs = built.config[key], unet.config[key]
        if isinstance(mine, (list, tuple)):
            mine, theirs = list(mine), list(theirs)
        if mine != theirs:
            raise ValueError(
                f"unet_init {folder} has {key}={theirs} but this run's model needs {mine}; "
                "start from a UNet trained with the same model preset."
            )
    return unet.float()


# -- losses ----------------------------------------------------------------------------


def vae_loss(vae, pixels: torch.Tensor, kl_weight: float, generator: torch.Generator) -> torch.Tensor:
    """L1 + MSE reconstruction and latent-diffusion's KL weight, as stage 0 trains its VAE."""
    posterior = vae.encode(pixels).latent_dist
    recon = vae.decode(posterior.sample(generator)).sample
    kl = posterior.kl().sum() / pixels.shape[0]
    return F.l1_loss(recon, pixels) + F.mse_loss(recon, pixels) + kl_weight * kl


@torch.no_grad()
def measure_scaling_factor(vae, windows: ClipWindows, count: int, seed: int) -> float:
    """1 / std of the latents of `count` clip frames: unit-variance UNet inputs."""
    generator = torch.Generator().manual_seed(seed)
    indices = [i % len(windows) for i in range(max(1, count // windows.num_frames))]
    pixels = windows.batch(indices, generator).flatten(0, 1)
    return float(1.0 / vae.encode(pixels).latent_dist.mode().float().std())


def degrade_frames(
    vae, pixels: torch.Tensor, blur: float, generator: torch.Generator, colour: float = 0.0
) -> torch.Tensor:
    """What a chained segment starts from: the VAE round trip of (B, 3, H, W) frames in [-1, 1]
    (a decoded frame is never sharper), blurred with a Gaussian of sigma ~ U(0, blur) pixels.

    `colour` > 0 also shifts the palette as generated frames drift: saturation scaled by
    U(1 - colour, 1 + colour), then a per-channel gain of 1 +- U(0, colour) and an offset of
    +- U(0, colour / 2), so the start frame no longer shows the keyframe's colours and only the
    image embedding (the anchor) still does.
    """
    from torchvision.transforms.functional import gaussian_blur

    out = vae_round_trip(vae, pixels)
    sigmas = torch.rand(pixels.shape[0], generator=generator) * blur
    for i, sigma in enumerate(sigmas.tolist()):
        if sigma > 0.1:
            size = 2 * math.ceil(3 * sigma) + 1
            out[i] = gaussian_blur(out[i], kernel_size=[size, size], sigma=[sigma, sigma])
    if colour > 0:
        batch = pixels.shape[0]

        def uniform(*shape: int, low: float, high: float) -> torch.Tensor:
            return (low + (high - low) * torch.rand(*shape, generator=generator)).to(out.device, out.dtype)

        grey = out.mean(dim=1, keepdim=True)  # (B, 1, H, W)
        saturation = uniform(batch, 1, 1, 1, low=1.0 - colour, high=1.0 + colour)
        out = grey + saturation * (out - grey)
        gain = 1.0 + uniform(batch, 3, 1, 1, low=-colour, high=colour)
        offset = uniform(batch, 3, 1, 1, low=-colour / 2, high=colour / 2)
        out = (out * gain + offset).clamp(-1, 1)
    return out


def conditioning(
    parts: Components,
    frames: torch.Tensor,
    generator: torch.Generator,
    train_conditioning: bool = True,
    *,
    keyframes: torch.Tensor | None = None,
    first_latent_dropout: float | None = None,
    anchor_keyframe_prob: float = 0.0,
    degrade_first_prob: float = 0.0,
    degrade_blur: float = 0.0,
    degrade_colour: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Everything the UNet reads beside the noisy latents, for (B, T, 3, H, W) clips.

    `keyframes` (B, 3, H, W) are the clips' first frames: with probability `anchor_keyframe_prob`
    a sample's image embedding is its keyframe's instead of its window's first frame (the anchor).
    `first_latent_dropout` (default: the model's `conditioning_dropout`) drops the first latent.
    With probability `degrade_first_prob` the first-frame condition is degraded as a chained
    segment's start frame is (`degrade_frames`) while the target stays sharp, so the model learns
    to restore from the image embedding what the latent lost.
    """
    model, vae = parts.model, parts.vae
    batch, num_frames = frames.shape[:2]
    device = frames.device
    aug = (torch.rand(batch, generator=generator) * model.max_noise_aug).to(device)  # (B,)
    first, last = frames[:, 0], frames[:, -1]  # (B, 3, H, W)
    if train_conditioning and degrade_first_prob > 0:
        degrade = (torch.rand(batch, generator=generator) < degrade_first_prob).to(device)
        if bool(degrade.any()):
            first = first.clone()
            first[degrade] = degrade_frames(vae, first[degrade], degrade_blur, generator, degrade_colour)
    first_latents = encode_condition_latents(
        vae, first + aug.view(-1, 1, 1, 1) * torch.randn(first.shape, generator=generator).to(device)
    )
    last_latents = encode_condition_latents(
        vae, last + aug.view(-1, 1, 1, 1) * torch.randn(last.shape, generator=generator).to(device)
    )
    embedded = first
    if keyframes is not None and train_conditioning and anchor_keyframe_prob > 0:
        use_key = (torch.rand(batch, generator=generator) < anchor_keyframe_prob).to(device)
        embedded = torch.where(use_key.view(-1, 1, 1, 1), keyframes.to(device), first)
    embedding = anchor_context(
        parts.image_encoder, (embedded + 1.0) / 2.0, parts.feature_extractor, tokens=model.anchor_tokens
    )  # (B, 1 | 1 + P, D)

    if train_conditioning:
        drop = torch.rand(3, batch, generator=generator).to(device)
        if first_latent_dropout is None:
            first_latent_dropout = model.conditioning_dropout
        keep_embedding = (drop[0] >= model.conditioning_dropout).float()
        keep_first = (drop[1] >= first_latent_dropout).float()
        keep_last = (drop[2] >= model.last_frame_dropout).float()
    else:
        keep_embedding = keep_first = keep_last = torch.ones(batch, device=device)
    embedding = embedding * keep_embedding.view(-1, 1, 1)
    first_latents = first_latents * keep_first.view(-1, 1, 1, 1)
    if model.first_last:
        condition = condition_channels(first_latents, num_frames, last_latents, first_last=True)
        # a dropped last frame must look exactly like "no last frame" at inference: zeros, mask 0
        condition[:, :, model.latent_channels :] *= keep_last.view(-1, 1, 1, 1, 1)
    else:
        condition = condition_channels(first_latents, num_frames)
    buckets = motion_bucket(frames, model.motion_full_scale)
    time_ids = torch.stack(
        [added_time_ids(model.fps, float(b), float(a), 1)[0] for b, a in zip(buckets, aug, strict=True)]
    ).to(device)  # (B, 3)
    return {"condition": condition, "embedding": embedding, "time_ids": time_ids}


def diffusion_loss(
    parts: Components,
    unet,
    frames: torch.Tensor,
    objective: str,
    noise_schedule,
    generator: torch.Generator,
    latents: torch.Tensor | None = None,
    **conditioning_options,
) -> torch.Tensor:
    """Denoising loss of the UNet on (B, T, 3, H, W) clips in [-1, 1].

    `latents` are the clips' scaled target latents if already known (`LatentCache`); otherwise
    they are encoded here. `conditioning_options` go to `conditioning` (keyframes,
    first_latent_dropout, anchor_keyframe_prob).
    """
    vae = parts.vae
    batch, num_frames = frames.shape[:2]
    with torch.no_grad():
        if latents is None:
            # the mode: a CPU generator cannot sample on a GPU
            latents = encode_condition_latents(vae, frames.flatten(0, 1)) * vae.config.scaling_factor
            latents = latents.reshape(batch, num_frames, *latents.shape[1:])  # (B, T, C, h, w)
        cond = conditioning(parts, frames, generator, **conditioning_options)
    device = latents.device
    noise = torch.randn(latents.shape, generator=generator).to(device)
    if objective == "ddpm_v":
        t = torch.randint(0, noise_schedule.config.num_train_timesteps, (batch,), generator=generator).to(
            device
        )
        noisy = noise_schedule.add_noise(latents, noise, t)
        target = noise_schedule.get_velocity(latents, noise, t)
        model_input = torch.cat([noisy, cond["condition"]], dim=2)
        prediction = unet(model_input, t, cond["embedding"], cond["time_ids"], return_dict=False)[0]
        return F.mse_loss(prediction.float(), target.float())
    if objective == "edm":
        sigma = (
            torch.exp(EDM_P_MEAN + EDM_P_STD * torch.randn(batch, generator=generator))
            .to(device)
            .view(-1, 1, 1, 1, 1)
        )
        noisy = latents + sigma * noise
        c_in = 1.0 / torch.sqrt(sigma**2 + 1.0)
        c_skip = 1.0 / (sigma**2 + 1.0)
        c_out = -sigma / torch.sqrt(sigma**2 + 1.0)
        c_noise = 0.25 * torch.log(sigma.flatten())  # what EulerDiscreteScheduler(continuous) feeds SVD
        model_input = torch.cat([c_in * noisy, cond["condition"]], dim=2)
        prediction = unet(model_input, c_noise, cond["embedding"], cond["time_ids"], return_dict=False)[0]
        denoised = c_out * prediction + c_skip * noisy
        weight = (sigma**2 + 1.0) / sigma**2
        return (weight * (denoised.float() - latents.float()) ** 2).mean()
    raise ValueError(f"Unknown objective {objective!r}; use 'ddpm_v' or 'edm'.")


# -- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("python -m train.stage4_video", __doc__.split("\n\n")[0], PRESETS)
    parser.add_argument(
        "--init", default=None, help="stage 0 run folder (clip/ and vae/): the bundle's CLIP and VAE"
    )
    args = parser.parse_args(argv)
    cfg = resolve_preset(PRESETS, args.preset, args.set) | {"preset": args.preset}
    if args.preset == "paper":
        require(cfg, "pretrained", preset="paper")
    init = Path(args.init) if args.init else None
    if init is None and args.preset == "default":
        logger.warning(
            "No --init stage 0 run was given: the VAE is trained here and the anchor tower is a frozen random "
            "CLIP; pass --init runs/stage0 to use the bundle's CLIP and VAE."
        )
    if init is not None:
        for sub in ("clip", "vae"):
            if not (init / sub).is_dir():
                raise FileNotFoundError(
                    f"{init} has no {sub}/ folder; give the --out folder of a finished stage 0 run."
                )
    if cfg["objective"] not in ("ddpm_v", "edm"):
        raise ValueError(f"The objective {cfg['objective']!r} is unknown; use 'ddpm_v' or 'edm'.")

    run = TrainingRun(
        args.out,
        cfg | {"data": args.data, "init": str(init) if init else None},
        stage="stage4",
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
    )
    torch.manual_seed(cfg["seed"])  # the same initial weights on every process
    parts = build_components(cfg, init)
    model = parts.model
    train_vae_here = init is None and not cfg["pretrained"] and cfg["vae_steps"] > 0
    schedule = PhaseSchedule(
        [
            Phase("vae", cfg["vae_steps"] if train_vae_here else 0, cfg["vae_lr"], cfg["warmup"]),
            Phase("unet", cfg["steps"], cfg["lr"], cfg["warmup"]),
        ]
    )
    windows = ClipWindows(clip_files(args.data), model.num_frames, (model.height, model.width))
    noise_schedule = build_training_scheduler(model)
    parts.image_encoder.to(run.device)

    unet, vae = parts.unet, parts.vae
    unet_opt = torch.optim.AdamW(unet.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    if train_vae_here:
        vae_opt = torch.optim.AdamW(vae.parameters(), lr=cfg["vae_lr"], weight_decay=0.0)
        unet, unet_opt, vae, vae_opt = run.accelerator.prepare(unet, unet_opt, vae, vae_opt)
    else:
        vae.requires_grad_(False).eval().to(run.device)
        unet, unet_opt = run.accelerator.prepare(unet, unet_opt)
    start = run.resume(args.resume)
    end = stop_step(schedule.total_steps, args.max_steps)
    inner_unet = run.accelerator.unwrap_model(unet)
    inner_vae = run.accelerator.unwrap_model(vae)
    parts.vae = inner_vae

    vae_end = cfg["vae_steps"] if train_vae_here else 0
    scaled = not train_vae_here

    def freeze_vae() -> None:
        nonlocal scaled
        inner_vae.requires_grad_(False).eval()
        if not scaled:
            # measured on fixed clips, so a resumed run gets the very same factor
            factor = measure_scaling_factor(inner_vae, windows, cfg["scaling_samples"], cfg["seed"])
            inner_vae.register_to_config(scaling_factor=factor)
            logger.info("VAE latent scaling factor %.4f", factor)
            scaled = True

    cache = None  # made once the VAE is frozen (its weights are the cache's fingerprint)

    def latent_cache() -> LatentCache:
        nonlocal cache
        if cache is None:
            # kept beside the checkpoints, so a resumed run does not encode its frames again
            identity = json.dumps([[str(f) for f in windows.files], list(windows.size)])
            cache = LatentCache(
                inner_vae, Path(args.out) / f"latent_cache_rank{run.rank}.safetensors", identity=identity
            )
        return cache

    bar = run.progress_bar(start, schedule.total_steps)
    step = start
    unet.train()
    while step < end:
        phase, _ = schedule.at(step)
        lr = schedule.lr(step)
        generator = run.generator(step)
        indices = step_indices(
            len(windows),
            step,
            batch_size=cfg["batch_size"],
            seed=cfg["seed"],
            rank=run.rank,
            world_size=run.world_size,
        )
        # (B, T, 3, H, W), (B, 3, H, W), (clip, start) per window
        frames, keyframes, keys = windows.sample(indices, generator)
        frames = frames.to(run.device)
        if phase.name == "vae":
            inner_vae.train()
            optimizer, params = vae_opt, vae.parameters()
            pick = torch.randint(0, frames.shape[1], (frames.shape[0],), generator=generator)
            loss = vae_loss(vae, frames[torch.arange(frames.shape[0]), pick], cfg["kl_weight"], generator)
        else:
            if step >= vae_end:
                freeze_vae()
            optimizer, params = unet_opt, unet.parameters()
            loss = diffusion_loss(
                parts,
                unet,
                frames,
                cfg["objective"],
                noise_schedule,
                generator,
                latents=latent_cache().latents(frames, keys) if cfg.get("cache_latents") else None,
                keyframes=keyframes.to(run.device),
                first_latent_dropout=cfg["first_latent_dropout"],
                anchor_keyframe_prob=cfg["anchor_keyframe_prob"],
                degrade_first_prob=cfg["degrade_first_prob"],
                degrade_blur=cfg["degrade_blur"],
                degrade_colour=cfg.get("degrade_colour", 0.0),
            )
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        if cfg["grad_clip"]:
            run.accelerator.clip_grad_norm_(list(params), cfg["grad_clip"])
        optimizer.step()
        if not math.isfinite(float(loss)):
            raise FloatingPointError(
                f"The {phase.name} loss became {float(loss)} at step {step}; lower the learning rate."
            )
        step += 1
        run.counter.step = step
        bar.update(1)
        if step % cfg["log_every"] == 0 or step == end:
            run.log_step(step, phase.name, lr, {"loss": loss})
        if step % cfg["checkpoint_every"] == 0 and step < end:
            run.save_checkpoint(cfg["keep_checkpoints"])
            if cache is not None:
                cache.save()
    bar.close()
    if cache is not None:
        cache.save()
        logger.info("latent cache: %d clip frames, %d encoded by this process", len(cache), cache.encoded)
    if end > start:
        run.save_checkpoint(cfg["keep_checkpoints"])

    if run.is_main:
        freeze_vae()
        out = Path(args.out) / "video"
        scheduler = build_scheduler(model)
        if cfg["objective"] == "edm" and cfg["pretrained"]:
            from diffusers import EulerDiscreteScheduler

            scheduler = EulerDiscreteScheduler.from_pretrained(
                cfg["pretrained"], subfolder="scheduler", local_files_only=True
            )
        pipeline = AnchoredVideoPipeline(
            vae=inner_vae,
            image_encoder=parts.image_encoder,
            unet=inner_unet.eval(),
            scheduler=scheduler,
            feature_extractor=parts.feature_extractor,
            anchor_tokens=model.anchor_tokens,
        )
        save_video_pipeline(pipeline, out, clip_encoder=parts.clip_encoder)
        # the VAE as trained (a VAE trained here gets its scaling factor measured only now)
        (out / "video_config.json").write_text(
            json.dumps(with_vae(model, inner_vae.config).to_dict() | {"trained_steps": step}, indent=2)
        )
        print(f"stage 4 at step {step}/{schedule.total_steps}: wrote {out}")
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
