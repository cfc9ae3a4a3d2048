"""Named sizes of the decoder's UNet and VAE, and the paper-scale SDXL loader.

Dimensions: images (B, 3, H, W) = (B, 3, 128, 224) by default; VAE latents (B, c, h, w) with
h = H / 2**(levels-1) (default 8x: 4 x 16 x 28); the UNet denoises latents while its
cross-attention reads a context of width D = `cross_attention_dim`.

Default sizes were chosen by measured speed on 2 CPU threads (issue 3 asks for about 0.5 s
per keyframe for 20 steps including the VAE decode): a 16 x 28 latent (8x VAE), attention only
at the coarsest 4 x 7 level. On a quiet machine the default pipeline took 0.63 s per keyframe
(20 DDIM steps, tokens only, no guidance; 0.76-0.85 s with guidance), of which the VAE decode
was 0.075 s. The UNet is bound by per-layer overhead at this size: 20 calls took 0.48-0.63 s
for every variant tried between 4.4 M and 10 M parameters, so the default keeps the widest.
Attention at every level was about twice as slow. Dropping the mid block (session 2) cut a
fifth of the UNet time again (same run, one thread, contended machine: 1.14 -> 0.88 s for 20
batch-2 calls); the down/up blocks' attention at 4 x 7 remains.
"""

from __future__ import annotations

from pathlib import Path

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

VAE_PRESETS: dict[str, dict] = {
    # 32 x 56 images -> 8 x 14 latents (4x): for tests only.
    "tiny": {
        "block_out_channels": (16, 32, 32),
        "layers_per_block": 1,
        "latent_channels": 4,
        "norm_num_groups": 8,
        "sample_size": 32,
    },
    # 128 x 224 keyframes -> 16 x 28 latents (8x).
    "default": {
        "block_out_channels": (32, 64, 64, 64),
        "layers_per_block": 1,
        "latent_channels": 4,
        "norm_num_groups": 16,
        "sample_size": 128,
    },
    # The same latents (16 x 28 x 4) from a VAE with 2x the width and 2 layers per block: the
    # default one loses colour (purple outfits turn grey), which caps how close any decoded
    # keyframe or clip frame can get to what it should show.
    "wide": {
        "block_out_channels": (64, 128, 128, 128),
        "layers_per_block": 2,
        "latent_channels": 4,
        "norm_num_groups": 32,
        "sample_size": 128,
    },
    # Issue 20: 16 x 28 x 8 latents (8x, twice the channels of "default"). The shipped 4-channel
    # latent blurred faces to clothing colours; 8 channels halve the compression at the same
    # UNet cost (the UNet's work is set by the 16 x 28 grid, not by the channel count).
    # Measured on 2 contended cores, one thread, batch 16 of 64 x 112 crops: 2.6-3.3 s/step
    # with bf16 autocast against 10.7-12 s/step in fp32; 2 layers per block cost no more than 1
    # there (2.64-3.28 vs 2.99-3.33 s/step), (64, 128, 256, 256) neither, but is 15.5 M
    # parameters against these 6.9 M (bundle size).
    "wide8": {
        "block_out_channels": (64, 128, 128, 128),
        "layers_per_block": 2,
        "latent_channels": 8,
        "norm_num_groups": 32,
        "sample_size": 128,
    },
}

UNET_PRESETS: dict[str, dict] = {
    "tiny": {
        "block_out_channels": (16, 32),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "layers_per_block": 1,
        "attention_head_dim": 2,
        "norm_num_groups": 8,
    },
    # The SDXL architecture in miniature: text_time added embedding, tokens also feed the pooled path.
    "tiny-sdxl": {
        "block_out_channels": (16, 32),
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
        "layers_per_block": 1,
        "attention_head_dim": 2,
        "norm_num_groups": 8,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "transformer_layers_per_block": (1, 2),
    },
    # Attention (self + cross) only at the 4 x 7 level: the two visual tokens and the ID slots
    # carry global content, and every finer attention level cost more than the time budget.
    "default": {
        "block_out_channels": (64, 128, 192),
        "down_block_types": ("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        "layers_per_block": 1,
        "attention_head_dim": 4,
        "norm_num_groups": 16,
        # No mid block: its two resnets + transformer at 4 x 7 cost about a fifth of every
        # call (20 calls, batch 2, one thread: 1.14 s with, 0.88 s without).
        "mid_block_type": None,
    },
    # Issue 20: cross-attention in every down/up block and in the mid block, 32-dim heads
    # (diffusers reads `attention_head_dim` as the number of heads per level: 64/2, 128/4,
    # 256/8). The shipped "default" attended only at 4 x 7 and never learned to place things.
    # The 20-minute feasibility run of these widths (ENVIRONMENT.md) trained at 1.05 steps/s
    # with bf16 autocast against 0.87 in fp32 and read the intended place in 0.91 of samples.
    "xattn": {
        "block_out_channels": (64, 128, 256),
        "down_block_types": ("CrossAttnDownBlock2D",) * 3,
        "up_block_types": ("CrossAttnUpBlock2D",) * 3,
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "layers_per_block": 1,
        "attention_head_dim": (2, 4, 8),
        "norm_num_groups": 32,
    },
}


def build_vae(preset: str = "default", **overrides) -> AutoencoderKL:
    """A new AutoencoderKL of a named size (RGB in, RGB out)."""
    if preset not in VAE_PRESETS:
        raise ValueError(f"Unknown VAE preset {preset!r}; choose one of {', '.join(VAE_PRESETS)}.")
    cfg = {**VAE_PRESETS[preset], **overrides}
    levels = len(cfg["block_out_channels"])
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        **cfg,
    )


def build_unet(
    preset: str,
    *,
    cross_attention_dim: int,
    sample_size: tuple[int, int],
    latent_channels: int = 4,
    pooled_dim: int | None = None,
    **overrides,
) -> UNet2DConditionModel:
    """A new UNet2DConditionModel of a named size.

    sample_size: (h, w) of the latents. pooled_dim: width of SDXL's pooled text_embeds, needed
    by presets with addition_embed_type="text_time".
    """
    if preset not in UNET_PRESETS:
        raise ValueError(f"Unknown UNet preset {preset!r}; choose one of {', '.join(UNET_PRESETS)}.")
    cfg = {**UNET_PRESETS[preset], **overrides}
    if cfg.get("addition_embed_type") == "text_time":
        if not pooled_dim:
            raise ValueError(f"The UNet preset {preset!r} is SDXL-style and needs pooled_dim (SDXL: 1280).")
        # SDXL's added embedding reads [pooled text_embeds ; Fourier(6 time ids)].
        cfg["projection_class_embeddings_input_dim"] = pooled_dim + 6 * cfg["addition_time_embed_dim"]
    return UNet2DConditionModel(
        sample_size=tuple(sample_size),
        in_channels=latent_channels,
        out_channels=latent_channels,
        cross_attention_dim=cross_attention_dim,
        **cfg,
    )


def sdxl_pooled_dim(unet: UNet2DConditionModel) -> int | None:
    """Width of the pooled text_embeds a text_time UNet expects (SDXL base: 1280), else None."""
    cfg = unet.config
    if cfg.addition_embed_type != "text_time":
        return None
    return cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim


def load_sdxl(folder: str | Path) -> tuple[UNet2DConditionModel, AutoencoderKL, DDIMScheduler]:
    """UNet, VAE and a DDIM scheduler from a local SDXL diffusers folder (paper scale)."""
    folder = Path(folder)
    missing = [sub for sub in ("unet", "vae") if not (folder / sub / "config.json").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a local SDXL diffusers folder: {', '.join(missing)} missing. Give the "
            "folder that holds unet/, vae/ and scheduler/ (e.g. stable-diffusion-xl-base-1.0); "
            "nothing is downloaded."
        )
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", local_files_only=True)
    vae = AutoencoderKL.from_pretrained(folder / "vae", local_files_only=True)
    if (folder / "scheduler" / "scheduler_config.json").is_file():
        scheduler = DDIMScheduler.from_pretrained(folder / "scheduler", local_files_only=True)
    else:
        scheduler = default_scheduler()
    return unet, vae, scheduler


SCHEDULER_KINDS = ("epsilon", "v_zero_snr")


def default_scheduler(kind: str = "epsilon") -> DDIMScheduler:
    """The training/sampling noise schedule of our decoders (SD's scaled-linear betas).

    kind "epsilon": SD's schedule and objective. kind "v_zero_snr": the same betas rescaled to
    zero terminal SNR, v-prediction and "trailing" timesteps (Lin et al. 2024, "Common Diffusion
    Noise Schedules and Sample Steps are Flawed"): sampling then starts from pure noise, as in
    training, so the frame's global colour and layout must come from the conditioning (the
    visual tokens) instead of leaking through the last noise level. A diffusion *autoencoder*
    needs exactly that.
    """
    if kind not in SCHEDULER_KINDS:
        raise ValueError(f"scheduler={kind!r} is unknown; use one of {', '.join(SCHEDULER_KINDS)}.")
    zero_snr = kind == "v_zero_snr"
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=0 if zero_snr else 1,
        prediction_type="v_prediction" if zero_snr else "epsilon",
        rescale_betas_zero_snr=zero_snr,
        timestep_spacing="trailing" if zero_snr else "leading",
    )
