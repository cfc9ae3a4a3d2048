"""ID-preserving diffusion decoder (paper 3.2, 3.4): visual tokens + descriptions + faces -> keyframe."""

from core.decoder.architectures import (
    UNET_PRESETS,
    VAE_PRESETS,
    build_unet,
    build_vae,
    default_scheduler,
    load_sdxl,
)
from core.decoder.conditioning import DecoderCondition, DecoderConditioner
from core.decoder.pipeline import KeyframeDecoderPipeline

__all__ = [
    "UNET_PRESETS",
    "VAE_PRESETS",
    "DecoderCondition",
    "DecoderConditioner",
    "KeyframeDecoderPipeline",
    "build_unet",
    "build_vae",
    "default_scheduler",
    "load_sdxl",
]
