"""Stage 1: the diffusion autoencoder (paper 3.2, App. A).

The frozen CLIP of stage 0 reads each keyframe; the compressor squeezes its spatial tokens
into L visual tokens; the UNet must rebuild the keyframe's VAE latents from those tokens
alone (eq. 1, epsilon loss, noise offset 0.05). The paper's schedule, in three phases:

1. decoder: the UNet learns to draw toy frames from a CLIP-pooled condition shaped like the
   visual tokens (our stand-in for SDXL's own pre-training; 0 steps at paper scale);
2. compressor: compressor + token projection trained with the decoder frozen;
3. joint: everything together.

Condition dropout (drop_all_prob) teaches the null condition for classifier-free guidance.
Outputs in --out: tokenizer/ (CLIP + compressor), decoder/ (KeyframeDecoderPipeline) and
encoders.json (which description and face encoders the conditioner is sized for).

    python -m train.stage1_autoencoder --preset default --data DATASET --init runs/stage0 --out runs/stage1
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from core.decoder.architectures import build_unet, default_scheduler, load_sdxl, sdxl_pooled_dim
from core.decoder.conditioning import DecoderConditioner
from core.decoder.pipeline import KeyframeDecoderPipeline, vae_encode
from core.encoders.open_clip_encoder import OpenClipEncoder
from core.tokenizer.compressor import COMPRESSOR_PRESETS, TokenCompressor
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from train.common.cli import stage_parser, stop_step
from train.common.diffusion_autoencoder import DiffusionAutoencoder, PooledTokenAdapter
from train.common.image_datasets import KeyframeDataset, collate_keyframes
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import require, resolve_preset
from train.common.run import TrainingRun
from train.common.toy_samples import keyframe_samples, open_movies

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict] = {
    "tiny": {
        "seed": 0,
        "compressor": "tiny",
        "unet": "tiny",
        "sdxl_path": None,
        "context_dim": 16,
        "image_size": [32, 56],
        "description_encoder": "clip",
        "description_dim": 32,
        "face_embedder": "clip",
        "face_dim": None,
        "batch_size": 2,
        "decoder_steps": 1,
        "decoder_lr": 1e-3,
        "compressor_steps": 1,
        "compressor_lr": 1e-3,
        "joint_steps": 1,
        "joint_lr": 1e-3,
        "warmup": 0,
        "unet_lr_scale": 1.0,
        "weight_decay": 0.0,
        "noise_offset": 0.05,
        "scheduler": "epsilon",
        "mask_prob": 0.0,
        "drop_all_prob": 0.1,
        "grad_clip": 1.0,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 2,
    },
    # The embedded CPU bundle's budget (2 cores, about 40 minutes): 1,700 steps of batch 16,
    # 1.2-1.35 s/step (decoder phase) and 1.75 s/step (compressor phase) with 2 threads.
    "default": {
        "seed": 0,
        "compressor": "default",
        "unet": "default",
        "sdxl_path": None,
        "context_dim": 256,
        "image_size": [128, 224],
        "description_encoder": "minilm",
        "description_dim": 384,
        "face_embedder": "clip",
        "face_dim": None,
        "batch_size": 16,
        "decoder_steps": 900,
        "decoder_lr": 3e-4,
        "compressor_steps": 300,
        "compressor_lr": 2e-4,
        "joint_steps": 500,
        "joint_lr": 1e-4,
        "warmup": 50,
        "unet_lr_scale": 1.0,
        "weight_decay": 0.0,
        "noise_offset": 0.05,
        "scheduler": "epsilon",
        "mask_prob": 0.0,
        "drop_all_prob": 0.1,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 100,
        "keep_checkpoints": 2,
    },
    # SDXL (local folder) as the decoder: no pre-training phase; the UNet learns slower than
    # the new layers (compressor, projections), which start from scratch.
    "paper": {
        "seed": 0,
        "compressor": "paper",
        "unet": "sdxl",
        "sdxl_path": None,
        "context_dim": None,
        "image_size": [512, 896],
        "description_encoder": "open_clip",
        "description_dim": 768,
        "face_embedder": "insightface",
        "face_dim": 512,
        "batch_size": 16,
        "decoder_steps": 0,
        "decoder_lr": 1e-5,
        "compressor_steps": 5000,
        "compressor_lr": 1e-4,
        "joint_steps": 30000,
        "joint_lr": 1e-4,
        "warmup": 500,
        "unet_lr_scale": 0.1,
        "weight_decay": 0.01,
        "noise_offset": 0.05,
        "scheduler": "epsilon",
        "mask_prob": 0.0,
        "drop_all_prob": 0.1,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 1000,
        "keep_checkpoints": 2,
    },
}

TRAINABLE = {
    "decoder": ({"unet", "conditioner", "adapter"}, "adapter"),
    "compressor": ({"compressor", "conditioner"}, "compressor"),
    "joint": ({"compressor", "conditioner", "unet"}, "compressor"),
}


def build_decoder(cfg: dict, clip: OpenClipEncoder, init: Path):
    """UNet, VAE, scheduler and conditioner sized for this CLIP and these encoders."""
    compressor_cfg = COMPRESSOR_PRESETS[cfg["compressor"]]
    if cfg["unet"] == "sdxl":
        require(cfg, "sdxl_path", preset=cfg["preset"])
        unet, _, scheduler = load_sdxl(cfg["sdxl_path"])
    else:
        unet = None
        scheduler = default_scheduler(cfg["scheduler"])
    vae = AutoencoderKL.from_pretrained(init / "vae", local_files_only=True)
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    height, width = cfg["image_size"]
    if height % scale or width % scale:
        raise ValueError(
            f"The image size {height}x{width} is not divisible by the VAE's downsampling {scale}."
        )
    if unet is not None:
        # SDXL's config says 1024x1024; record the keyframe size so the saved pipeline renders it.
        unet.register_to_config(sample_size=(height // scale, width // scale))
    else:
        unet = build_unet(
            cfg["unet"],
            cross_attention_dim=cfg["context_dim"],
            sample_size=(height // scale, width // scale),
            latent_channels=vae.config.latent_channels,
        )
    face_dim = cfg["face_dim"] or (clip.embed_dim if cfg["face_embedder"] == "clip" else None)
    if face_dim is None:
        raise ValueError("Set face_dim (e.g. --set face_dim=512 for insightface) for this face embedder.")
    conditioner = DecoderConditioner(
        token_dim=compressor_cfg["token_dim"],
        num_tokens=compressor_cfg["num_tokens"],
        context_dim=unet.config.cross_attention_dim,
        description_dim=cfg["description_dim"],
        face_dim=face_dim,
        pooled_dim=sdxl_pooled_dim(unet),
        mask_prob=cfg["mask_prob"],
        drop_all_prob=cfg["drop_all_prob"],
    )
    return unet, vae, scheduler, conditioner


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("python -m train.stage1_autoencoder", __doc__.split("\n\n")[0], PRESETS)
    parser.add_argument("--init", required=True, help="stage 0 run folder (with clip/ and vae/)")
    args = parser.parse_args(argv)
    cfg = resolve_preset(PRESETS, args.preset, args.set) | {"preset": args.preset}
    init = Path(args.init)
    for sub in ("clip", "vae"):
        if not (init / sub).is_dir():
            raise FileNotFoundError(
                f"{init} has no {sub}/ folder; give the --out folder of a finished stage 0 run."
            )

    run = TrainingRun(
        args.out,
        cfg | {"data": args.data, "init": str(init)},
        stage="stage1",
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
        find_unused_parameters=True,
    )
    schedule = PhaseSchedule(
        [
            Phase("decoder", cfg["decoder_steps"], cfg["decoder_lr"], cfg["warmup"]),
            Phase("compressor", cfg["compressor_steps"], cfg["compressor_lr"], cfg["warmup"]),
            Phase("joint", cfg["joint_steps"], cfg["joint_lr"], cfg["warmup"]),
        ]
    )
    clip = OpenClipEncoder.from_pretrained(init / "clip").freeze().to(run.device)
    torch.manual_seed(cfg["seed"])  # the same initial weights on every process
    unet, vae, scheduler, conditioner = build_decoder(cfg, clip, init)
    vae.requires_grad_(False).eval().to(run.device)
    compressor_cfg = COMPRESSOR_PRESETS[cfg["compressor"]]
    compressor = TokenCompressor(input_dim=clip.token_width, num_patches=clip.num_patches, **compressor_cfg)
    adapter = PooledTokenAdapter(clip.embed_dim, compressor_cfg["num_tokens"], compressor_cfg["token_dim"])
    image_size = tuple(cfg["image_size"])
    model = DiffusionAutoencoder(
        compressor,
        conditioner,
        unet,
        scheduler,
        image_size=image_size,
        noise_offset=cfg["noise_offset"],
        adapter=adapter,
    )
    new_params = [
        p for name in ("compressor", "conditioner", "adapter") for p in getattr(model, name).parameters()
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": new_params, "scale": 1.0},
            {"params": list(unet.parameters()), "scale": cfg["unet_lr_scale"]},
        ],
        lr=cfg["joint_lr"],
        weight_decay=cfg["weight_decay"],
    )
    dataset = KeyframeDataset(
        keyframe_samples(open_movies(args.data, "train")),
        clip.transform,
        image_size,
        max_descriptions=0,
        max_faces=0,
    )
    model, optimizer = run.accelerator.prepare(model, optimizer)
    start = run.resume(args.resume)
    end = stop_step(schedule.total_steps, args.max_steps)
    inner = run.accelerator.unwrap_model(model)

    bar = run.progress_bar(start, schedule.total_steps)
    step = start
    loader = run.step_loader(
        dataset,
        batch_size=cfg["batch_size"],
        seed=cfg["seed"],
        start=start,
        end=end,
        num_workers=args.num_workers,
        collate_fn=collate_keyframes,
    )
    model.train()
    for batch in loader:
        phase, _ = schedule.at(step)
        parts, source = TRAINABLE[phase.name]
        inner.set_trainable(parts)
        lr = schedule.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["scale"]
        generator = run.generator(step)
        with torch.no_grad():
            pooled, clip_tokens = clip.encode_image_tokens(batch["clip_pixels"].to(run.device))
            latents = vae_encode(vae, batch["vae_pixels"].to(run.device), generator)
        loss = model(
            latents, clip_tokens=clip_tokens, clip_pooled=pooled, token_source=source, generator=generator
        )
        optimizer.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        inner.drop_frozen_grads()
        if cfg["grad_clip"]:
            run.accelerator.clip_grad_norm_(
                [p for p in model.parameters() if p.grad is not None], cfg["grad_clip"]
            )
        optimizer.step()
        step += 1
        run.counter.step = step
        bar.update(1)
        if step % cfg["log_every"] == 0 or step == end:
            run.log_step(step, phase.name, lr, {"loss": loss})
        if step % cfg["checkpoint_every"] == 0 and step < end:
            run.save_checkpoint(cfg["keep_checkpoints"], models=(model,))
    bar.close()
    if end > start:
        run.save_checkpoint(cfg["keep_checkpoints"], models=(model,))

    if run.is_main:
        out = Path(args.out)
        inner.requires_grad_(False)
        KeyframeTokenizer(clip, inner.compressor.eval()).save_pretrained(out / "tokenizer")
        pipeline = KeyframeDecoderPipeline(inner.unet.eval(), vae, scheduler, inner.conditioner.eval())
        pipeline.save_pretrained(out / "decoder")
        encoders = {k: cfg[k] for k in ("description_encoder", "description_dim", "face_embedder")}
        (out / "encoders.json").write_text(
            json.dumps(encoders | {"face_dim": inner.conditioner.config.face_dim}, indent=2)
        )
        print(
            f"stage 1 at step {step}/{schedule.total_steps}: wrote {out / 'tokenizer'} and {out / 'decoder'}"
        )
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
