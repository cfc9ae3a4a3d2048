"""Stage 3: the ID-preserving decoder (paper 3.4, App. C).

Starting from stage 1's decoder, the UNet and the conditioner are fine-tuned while the
cross-attention context also holds the keyframe's description-sentence embeddings (plot and
the characters' descriptions, <= 15) and the face embeddings of its characters (one cast
photo each, <= 5), all zero-padded. Every conditioning token is masked with probability
mask_prob = 0.2, so the decoder works with any subset of them, and with none.

The tokenizer (CLIP + compressor) stays frozen: stage 2's AR model learns to predict its
tokens, which must not move. Sentence and face embeddings come from the bundle's frozen
encoders (encoders.json of stage 1) and are computed once per distinct sentence / photo.
Outputs in --out: decoder/ (the fine-tuned KeyframeDecoderPipeline), tokenizer/ (unchanged
copy) and encoders.json.

    python -m train.stage3_id_decoder --preset default --data DATASET --init runs/stage1 --out runs/stage3
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from core.decoder.architectures import default_scheduler
from core.decoder.conditioning import DecoderConditioner
from core.decoder.pipeline import KeyframeDecoderPipeline, vae_encode
from core.encoders.descriptions import (
    DescriptionEncoder,
    MiniLMDescriptionEncoder,
    OpenClipTextDescriptionEncoder,
)
from core.encoders.faces import FaceEncoder, make_face_encoder
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from train.common.cli import stage_parser, stop_step
from train.common.diffusion_autoencoder import DiffusionAutoencoder
from train.common.embedding_cache import EmbeddingCache
from train.common.image_datasets import KeyframeDataset, collate_keyframes
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import require, resolve_preset
from train.common.run import TrainingRun
from train.common.toy_samples import keyframe_samples, open_movies

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict] = {
    "tiny": {
        "seed": 0,
        "description_clip_arch": None,
        "description_clip_checkpoint": None,
        "description_context_length": None,
        "insightface_root": None,
        "insightface_name": "buffalo_l",
        "batch_size": 2,
        "steps": 3,
        "lr": 1e-3,
        "warmup": 0,
        "weight_decay": 0.0,
        "noise_offset": 0.05,
        "scheduler": None,
        "mask_prob": 0.2,
        "drop_all_prob": 0.1,
        "drop_tokens_prob": 0.0,
        "input_norm": False,
        "grad_clip": 1.0,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 2,
    },
    # The embedded CPU bundle's recipe: switch stage 1's epsilon decoder to v-prediction with
    # zero terminal SNR, normalise the sentence and face embeddings (input_norm) and teach it to
    # draw from sentences and faces alone (drop_tokens_prob); 2,800 steps at ~1.3 s/step on 2
    # cores (~60 minutes). The session-3 decoder got there in three runs (1,600 steps plain,
    # resumed to 2,800 with token dropping, then 800 with input_norm from that): its
    # MODEL_CARD.md lists the exact commands.
    "default": {
        "seed": 0,
        "description_clip_arch": None,
        "description_clip_checkpoint": None,
        "description_context_length": None,
        "insightface_root": None,
        "insightface_name": "buffalo_l",
        "batch_size": 16,
        "steps": 2800,
        "lr": 2e-4,
        "warmup": 50,
        "weight_decay": 0.0,
        "noise_offset": 0.05,
        "scheduler": "v_zero_snr",
        "mask_prob": 0.2,
        "drop_all_prob": 0.1,
        "drop_tokens_prob": 0.3,
        "input_norm": True,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 100,
        "keep_checkpoints": 2,
    },
    # LongCLIP-L (converted to open_clip) for sentences, insightface ArcFace for faces.
    "paper": {
        "seed": 0,
        "description_clip_arch": "ViT-L-14",
        "description_clip_checkpoint": None,
        "description_context_length": 248,
        "insightface_root": None,
        "insightface_name": "buffalo_l",
        "batch_size": 16,
        "steps": 20000,
        "lr": 1e-5,
        "warmup": 500,
        "weight_decay": 0.01,
        "noise_offset": 0.05,
        "scheduler": None,
        "mask_prob": 0.2,
        "drop_all_prob": 0.1,
        "drop_tokens_prob": 0.0,
        "input_norm": False,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 1000,
        "keep_checkpoints": 2,
    },
}


def build_description_encoder(kind: str, cfg: dict, tokenizer: KeyframeTokenizer) -> DescriptionEncoder:
    if kind == "minilm":
        return MiniLMDescriptionEncoder(device=str(tokenizer.device))
    if kind == "clip":
        return OpenClipTextDescriptionEncoder(tokenizer.clip)
    if kind == "open_clip":
        require(cfg, "description_clip_arch", "description_clip_checkpoint", preset=cfg["preset"])
        return OpenClipTextDescriptionEncoder.from_checkpoint(
            cfg["description_clip_arch"],
            cfg["description_clip_checkpoint"],
            device=str(tokenizer.device),
            context_length=cfg["description_context_length"],
        )
    raise ValueError(
        f"Unknown description encoder {kind!r} in encoders.json; use 'minilm', 'clip' or 'open_clip'."
    )


def build_face_encoder(kind: str, cfg: dict, tokenizer: KeyframeTokenizer) -> FaceEncoder:
    if kind == "insightface":
        require(cfg, "insightface_root", preset=cfg["preset"])
    return make_face_encoder(
        kind,
        clip=tokenizer.clip,
        insightface_root=cfg["insightface_root"],
        insightface_name=cfg["insightface_name"],
    )


def add_input_norm(conditioner: DecoderConditioner) -> DecoderConditioner:
    """A copy of `conditioner` with input_norm on: new LayerNorms (identity-initialised), same weights."""
    fresh = DecoderConditioner.from_config(conditioner.config, input_norm=True)
    missing, unexpected = fresh.load_state_dict(conditioner.state_dict(), strict=False)
    if unexpected or not all(key.split(".")[0] in ("description_norm", "face_norm") for key in missing):
        raise ValueError(
            f"Cannot add input norms to this conditioner (missing {missing}, unexpected {unexpected})."
        )
    return fresh.to(conditioner.device)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("python -m train.stage3_id_decoder", __doc__.split("\n\n")[0], PRESETS)
    parser.add_argument(
        "--init", required=True, help="stage 1 run folder (with tokenizer/, decoder/, encoders.json)"
    )
    args = parser.parse_args(argv)
    cfg = resolve_preset(PRESETS, args.preset, args.set) | {"preset": args.preset}
    init = Path(args.init)
    for sub in ("tokenizer", "decoder", "encoders.json"):
        if not (init / sub).exists():
            raise FileNotFoundError(f"{init} has no {sub}; give the --out folder of a finished stage 1 run.")
    encoders = json.loads((init / "encoders.json").read_text())

    run = TrainingRun(
        args.out,
        cfg | {"data": args.data, "init": str(init)},
        stage="stage3",
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
    )
    schedule = PhaseSchedule([Phase("id", cfg["steps"], cfg["lr"], cfg["warmup"])])
    tokenizer = KeyframeTokenizer.from_pretrained(init / "tokenizer", device=run.device)
    pipeline = KeyframeDecoderPipeline.from_pretrained(init / "decoder")
    unet, vae, scheduler, conditioner = pipeline.unet, pipeline.vae, pipeline.scheduler, pipeline.conditioner
    if cfg["scheduler"] is not None:  # None keeps stage 1's
        # Switching the objective (e.g. to v-prediction with zero terminal SNR) is a fine-tune:
        # the saved decoder samples with the scheduler it was last trained with.
        scheduler = default_scheduler(cfg["scheduler"])
    vae.requires_grad_(False).eval().to(run.device)
    if cfg["input_norm"] and not conditioner.config.get("input_norm", False):
        # Adds the LayerNorms in front of the sentence and face MLPs; every other weight is kept.
        conditioner = add_input_norm(conditioner)
    conditioner.register_to_config(
        mask_prob=cfg["mask_prob"],
        drop_all_prob=cfg["drop_all_prob"],
        drop_tokens_prob=cfg["drop_tokens_prob"],
    )
    ccfg = conditioner.config

    descriptions = build_description_encoder(encoders["description_encoder"], cfg, tokenizer)
    faces = build_face_encoder(encoders["face_embedder"], cfg, tokenizer)
    for what, have, want in (
        ("description", descriptions.embedding_dim, ccfg.description_dim),
        ("face", faces.embedding_dim, ccfg.face_dim),
    ):
        if have != want:
            raise ValueError(
                f"The {what} encoder gives embeddings of width {have} but the decoder was built for {want}; "
                "use the encoders named in the stage 1 run's encoders.json."
            )
    sentence_cache = EmbeddingCache(descriptions.encode, ccfg.description_dim)
    face_cache = EmbeddingCache(lambda refs: faces.embed_crops([r.open() for r in refs]), ccfg.face_dim)

    image_size = (pipeline.image_size[0], pipeline.image_size[1])
    model = DiffusionAutoencoder(
        tokenizer.compressor,
        conditioner,
        unet,
        scheduler,
        image_size=image_size,
        noise_offset=cfg["noise_offset"],
    )
    model.set_trainable({"conditioner", "unet"})
    model.compressor.eval()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=cfg["lr"], weight_decay=cfg["weight_decay"]
    )
    dataset = KeyframeDataset(
        keyframe_samples(open_movies(args.data, "train")),
        tokenizer.clip.transform,
        image_size,
        max_descriptions=ccfg.max_descriptions,
        max_faces=ccfg.max_faces,
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
    inner.compressor.eval()
    for batch in loader:
        phase, _ = schedule.at(step)
        lr = schedule.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        generator = run.generator(step)
        with torch.no_grad():
            clip_tokens = tokenizer.spatial_tokens(batch["clip_pixels"].to(run.device))
            latents = vae_encode(vae, batch["vae_pixels"].to(run.device), generator)
        description_embeds = sentence_cache.padded(batch["sentences"], ccfg.max_descriptions).to(run.device)
        face_embeds = face_cache.padded(batch["faces"], ccfg.max_faces).to(run.device)
        loss = model(
            latents,
            clip_tokens=clip_tokens,
            description_embeds=description_embeds,
            face_embeds=face_embeds,
            generator=generator,
        )
        optimizer.zero_grad(set_to_none=True)
        run.accelerator.backward(loss)
        if cfg["grad_clip"]:
            run.accelerator.clip_grad_norm_(
                [p for p in model.parameters() if p.requires_grad], cfg["grad_clip"]
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
        KeyframeDecoderPipeline(inner.unet.eval(), vae, scheduler, inner.conditioner.eval()).save_pretrained(
            out / "decoder"
        )
        tokenizer.save_pretrained(out / "tokenizer")
        (out / "encoders.json").write_text(json.dumps(encoders, indent=2))
        print(
            f"stage 3 at step {step}/{schedule.total_steps}: wrote {out / 'decoder'} and {out / 'tokenizer'}"
        )
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
