"""A model bundle of tiny random-config components: the real classes at test size.

Used by tests and by the studio's browser test so that every code path (manifest, loading,
AR sampling, ID-preserving decoding) runs end to end in seconds on a CPU. Its images are
noise-like 56x32 keyframes: it is for exercising code, never for judging quality.
"""

from __future__ import annotations

from pathlib import Path

import torch

from core.ar.sampler import SamplerConfig
from core.pipeline.bundle import BundleManifest, Components, FolderComponent
from core.pipeline.types import GenerationSettings


def build_tiny_bundle(folder: str | Path, seed: int = 0, *, face_source: str = "face_encoder") -> Path:
    """Write a complete bundle of tiny, randomly initialised components into `folder`.

    face_source "vae": the decoder's face slots read its VAE's latents of 16 x 16 cast photos
    (`core.encoders.face_latent`), of another width than the AR model's CLIP face embeddings.
    """
    from core.ar.model import ARConfig, KeyframeAR
    from core.decoder.architectures import build_unet, build_vae, default_scheduler
    from core.decoder.conditioning import DecoderConditioner
    from core.decoder.pipeline import KeyframeDecoderPipeline
    from core.encoders.descriptions import MiniLMDescriptionEncoder
    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.script.inputs import IDENTIFIER_VOCABULARY
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    description_dim = MiniLMDescriptionEncoder().embedding_dim
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=seed)
        tokenizer = KeyframeTokenizer.build(
            clip, num_tokens=2, token_dim=8, num_heads=2, blocks_before=1, blocks_after=1
        )
        tokenizer.save_pretrained(folder / "tokenizer")

        vae = build_vae("tiny")
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        latent = (vae.config.sample_size // scale, (vae.config.sample_size * 7 // 4) // scale)
        face_size = 16
        conditioner = DecoderConditioner(
            token_dim=8,
            num_tokens=2,
            context_dim=32,
            description_dim=description_dim,
            face_dim=clip.embed_dim
            if face_source == "face_encoder"
            else vae.config.latent_channels * (face_size // scale) ** 2,
            face_source=face_source,
            face_size=face_size,
        )
        unet = build_unet("tiny", cross_attention_dim=32, sample_size=latent)
        decoder = KeyframeDecoderPipeline(
            unet=unet, vae=vae, scheduler=default_scheduler(), conditioner=conditioner
        )
        decoder.save_pretrained(folder / "decoder")

        ar = KeyframeAR.from_config(
            ARConfig.tiny(token_dim=8, sentence_dim=description_dim, face_dim=clip.embed_dim),
            IDENTIFIER_VOCABULARY,
        )
        ar.save_pretrained(folder / "ar")

    BundleManifest(
        name="tiny-random",
        description="Tiny random-config components for tests; not trained.",
        components=Components(
            tokenizer=FolderComponent(path="tokenizer"),
            decoder=FolderComponent(path="decoder"),
            ar=FolderComponent(path="ar"),
        ),
        sampler=SamplerConfig(context_frames=16, keep_frames=8),
        defaults=GenerationSettings(num_inference_steps=2, guidance_scale=2.0),
    ).save(folder)
    return folder
