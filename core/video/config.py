"""Configuration and builders of the image-to-video model (SVD architecture, our sizes).

Tensors (B batch, T frames, C latent channels, h x w latent size = H x W / vae factor):
  noisy latents      (B, T, C, h, w)
  condition channels (B, T, Cc, h, w)  Cc = C (first frame) or 2C + 1 (first, last, mask)
  UNet input         (B, T, C + Cc, h, w)
  image embedding    (B, N, D)         D = UNet cross_attention_dim = image-encoder output;
                                       N = 1 (pooled, SVD) or 1 + P image tokens (anchor_tokens)
  added_time_ids     (B, 3)            [fps - 1, motion_bucket_id, noise_aug_strength]

The UNet is diffusers' `UNetSpatioTemporalConditionModel` (Stable Video Diffusion), the VAE a
plain `AutoencoderKL` applied frame by frame (SVD's `AutoencoderKLTemporalDecoder` works too),
the scheduler any diffusers scheduler; the default trains with v-prediction on a
scaled-linear schedule and samples with `EulerDiscreteScheduler` on the same betas.

Presets: `tiny` (tests: under a million parameters, 56x32 frames), `default` (the embedded CPU
model: 224x128 frames, 8 per segment), `paper` (SVD-XT: 1024x576 latents of 8x, 25 frames,
first-last channels added to a pretrained UNet by `expand_unet_for_first_last`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch


@dataclass(frozen=True)
class VideoModelConfig:
    height: int = 128
    width: int = 224
    num_frames: int = 8  # frames per generated segment (the model's native length)
    fps: int = 8  # frame rate the model is trained and conditioned on
    latent_channels: int = 4
    first_last: bool = True  # add last-frame latent + mask channels (App. E.2)

    vae_block_out_channels: tuple[int, ...] = (32, 64, 64)  # len - 1 halvings: factor 4
    vae_layers_per_block: int = 1
    vae_norm_groups: int = 16
    # the mid-block self-attention over a 32x56 latent was half of the decode time on CPU
    vae_mid_attention: bool = False
    vae_scaling_factor: float = 0.5  # sets unit-ish latent variance; stage 4 re-estimates it

    # (32, 64, 64), 3.5 M parameters: one guided step over 8 frames at 32x56 took 1.9 s on a
    # loaded 2-core CPU against 6.0 s for (64, 128, 128); 32 is the floor (32-group norms)
    unet_block_out_channels: tuple[int, ...] = (32, 64, 64)
    unet_cross_attention: tuple[bool, ...] = (False, True, True)  # attention only at low resolution
    unet_attention_heads: tuple[int, ...] = (1, 2, 2)
    unet_layers_per_block: int = 1
    addition_time_embed_dim: int = 32

    image_embed_dim: int = 256  # D: must equal the image encoder's embedding size
    # attend to the anchor tower's pooled embedding AND its projected patch tokens (1 + P rows):
    # one pooled vector carries too little of a toy keyframe for the UNet to lean on it
    anchor_tokens: bool = False
    # a tiny frozen CLIP vision tower used when no pretrained tower is given (tests, tiny runs)
    encoder_hidden: int = 64
    encoder_layers: int = 2
    encoder_heads: int = 2
    encoder_image_size: int = 64
    encoder_patch: int = 8

    # noise schedule shared by training (DDPM forward process) and sampling (Euler)
    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    prediction_type: str = "v_prediction"

    # mean |frame_t - frame_t-1| (pixels in [0, 1]) that maps to motion bucket 255
    motion_full_scale: float = 0.08
    conditioning_dropout: float = 0.1  # drop image embedding / first latent, each (CFG)
    last_frame_dropout: float = 0.5  # drop the last-frame condition so it stays optional
    max_noise_aug: float = 0.1  # training noise augmentation of the conditioning frames

    @property
    def condition_channels(self) -> int:
        return 2 * self.latent_channels + 1 if self.first_last else self.latent_channels

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> VideoModelConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key, value in known.items():
            if isinstance(value, list):
                known[key] = tuple(value)
        return cls(**known)


PRESETS: dict[str, VideoModelConfig] = {
    "tiny": VideoModelConfig(
        height=32,
        width=56,
        num_frames=4,
        vae_block_out_channels=(8, 16),
        vae_norm_groups=4,
        unet_block_out_channels=(32, 32),  # the UNet's GroupNorms use 32 groups
        unet_cross_attention=(True, True),
        unet_attention_heads=(2, 2),
        addition_time_embed_dim=8,
        image_embed_dim=16,
        encoder_hidden=16,
        encoder_layers=1,
        encoder_heads=2,
        encoder_image_size=16,
        encoder_patch=8,
        num_train_timesteps=100,
    ),
    "default": VideoModelConfig(),
    # SVD-XT geometry; the weights come from a local diffusers folder, never from a hub
    "paper": VideoModelConfig(
        height=576,
        width=1024,
        num_frames=25,
        fps=7,
        vae_block_out_channels=(128, 256, 512, 512),
        unet_block_out_channels=(320, 640, 1280, 1280),
        unet_cross_attention=(True, True, True, False),
        unet_attention_heads=(5, 10, 20, 20),
        unet_layers_per_block=2,
        addition_time_embed_dim=256,
        image_embed_dim=1024,
        vae_scaling_factor=0.18215,
    ),
}


def preset(name: str, **overrides) -> VideoModelConfig:
    if name not in PRESETS:
        raise ValueError(f"There is no video model preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return replace(PRESETS[name], **overrides)


def build_unet(config: VideoModelConfig):
    from diffusers import UNetSpatioTemporalConditionModel

    n = len(config.unet_block_out_channels)
    if not (len(config.unet_cross_attention) == len(config.unet_attention_heads) == n):
        raise ValueError(
            "unet_block_out_channels, unet_cross_attention and unet_attention_heads need one entry per level."
        )
    down = tuple(
        "CrossAttnDownBlockSpatioTemporal" if a else "DownBlockSpatioTemporal"
        for a in config.unet_cross_attention
    )
    up = tuple(
        "CrossAttnUpBlockSpatioTemporal" if a else "UpBlockSpatioTemporal"
        for a in reversed(config.unet_cross_attention)
    )
    return UNetSpatioTemporalConditionModel(
        sample_size=None,
        in_channels=config.latent_channels + config.condition_channels,
        out_channels=config.latent_channels,
        down_block_types=down,
        up_block_types=up,
        block_out_channels=config.unet_block_out_channels,
        addition_time_embed_dim=config.addition_time_embed_dim,
        projection_class_embeddings_input_dim=3 * config.addition_time_embed_dim,
        layers_per_block=config.unet_layers_per_block,
        cross_attention_dim=config.image_embed_dim,
        num_attention_heads=config.unet_attention_heads,
        num_frames=config.num_frames,
    )


def build_vae(config: VideoModelConfig):
    from diffusers import AutoencoderKL

    n = len(config.vae_block_out_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=config.vae_block_out_channels,
        layers_per_block=config.vae_layers_per_block,
        latent_channels=config.latent_channels,
        norm_num_groups=config.vae_norm_groups,
        sample_size=max(config.height, config.width),
        scaling_factor=config.vae_scaling_factor,
        mid_block_add_attention=config.vae_mid_attention,
    )


def with_vae(config: VideoModelConfig, vae_config) -> VideoModelConfig:
    """`config` with the VAE fields of an existing VAE's diffusers config (the inverse of
    `build_vae`): what a model trained on a given VAE, e.g. stage 0's, records about it."""
    return replace(
        config,
        latent_channels=vae_config.latent_channels,
        vae_block_out_channels=tuple(vae_config.block_out_channels),
        vae_layers_per_block=vae_config.layers_per_block,
        vae_norm_groups=vae_config.norm_num_groups,
        vae_mid_attention=vae_config.mid_block_add_attention,
        vae_scaling_factor=float(vae_config.scaling_factor),
    )


def build_image_encoder(config: VideoModelConfig, seed: int = 0):
    """A frozen, randomly initialised CLIP vision tower (when no pretrained tower is supplied).

    Random towers are deterministic feature extractors: fine for tests and tiny runs; the
    default bundle passes its trained open_clip tower instead.
    """
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    vision = CLIPVisionConfig(
        hidden_size=config.encoder_hidden,
        intermediate_size=4 * config.encoder_hidden,
        num_hidden_layers=config.encoder_layers,
        num_attention_heads=config.encoder_heads,
        image_size=config.encoder_image_size,
        patch_size=config.encoder_patch,
        projection_dim=config.image_embed_dim,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = CLIPVisionModelWithProjection(vision)
    return encoder.eval().requires_grad_(False)


def build_random_pipeline(config: VideoModelConfig, seed: int = 0, anchor_tokens: bool = False):
    """An `AnchoredVideoPipeline` of `config` with random weights seeded by `seed` (speed
    benchmarks, tests); trained models come from `core.video.loading.load_video_pipeline`."""
    from core.video.pipeline import AnchoredVideoPipeline

    torch.manual_seed(seed)
    return AnchoredVideoPipeline(
        vae=build_vae(config).eval(),
        image_encoder=build_image_encoder(config, seed=seed),
        unet=build_unet(config).eval(),
        scheduler=build_scheduler(config),
        anchor_tokens=anchor_tokens,
    )


def scheduler_config(config: VideoModelConfig) -> dict:
    return {
        "num_train_timesteps": config.num_train_timesteps,
        "beta_start": config.beta_start,
        "beta_end": config.beta_end,
        "beta_schedule": "scaled_linear",
        "prediction_type": config.prediction_type,
        "timestep_spacing": "trailing",  # starts sampling at the last training step, as trained
    }


def build_scheduler(config: VideoModelConfig):
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(**scheduler_config(config))


def build_training_scheduler(config: VideoModelConfig):
    from diffusers import DDPMScheduler

    return DDPMScheduler(**scheduler_config(config))


def expand_unet_for_first_last(unet, latent_channels: int = 4):
    """Give a pretrained SVD UNet (2C input channels) the last-frame channels (2C + C + 1).

    The new input weights start at zero, so the expanded model computes exactly what the
    pretrained one did until fine-tuning teaches it to use the last frame.
    """
    old = unet.conv_in
    expected = 2 * latent_channels
    if old.in_channels != expected:
        raise ValueError(
            f"The UNet takes {old.in_channels} input channels; only an SVD-style UNet with {expected} can be expanded."
        )
    new_in = 3 * latent_channels + 1
    conv = torch.nn.Conv2d(new_in, old.out_channels, old.kernel_size, old.stride, old.padding)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :expected] = old.weight
        conv.bias.copy_(old.bias)
    unet.conv_in = conv
    unet.register_to_config(in_channels=new_in)
    return unet
