"""Stage 0: the representation models the other stages build on.

1. The bundle's CLIP (open_clip, small JSON architecture), trained contrastively with
   open_clip's ClipLoss on two kinds of pairs in every batch: keyframe <-> plot sentence and
   face crop <-> description sentence (the face tower idea of FaRL).
2. The small VAE (diffusers AutoencoderKL): L1 + MSE reconstruction and a KL term weighted as
   in latent diffusion (1e-6 on the summed KL). No perceptual or adversarial loss: they would
   need pretrained weights we cannot download. After training, the latent scaling factor is
   measured on toy frames and stored in the VAE's config. `--set vae_train_encoder=false`
   with `vae_pretrained` fine-tunes the decoder only: the latents (and so every model trained
   on them, and the scaling factor) stay valid while the pictures get sharper.

Outputs in --out: clip/ (open_clip local-dir), vae/ (diffusers folder). The paper preset trains
nothing by default: it copies a local ViT-L/14 checkpoint and SDXL VAE into the same layout,
so stage 1 reads both scales alike.

    python -m train.stage0_representation --preset default --data DATASET --out runs/stage0
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from open_clip.loss import ClipLoss
from torch import nn
from torch.utils.data import DataLoader

from core.decoder.architectures import build_vae
from core.encoders.open_clip_encoder import OpenClipEncoder
from train.common.cli import stage_parser, stop_step
from train.common.image_datasets import FaceTextDataset, FrameTextDataset, VaeImageDataset
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import require, resolve_preset
from train.common.run import TrainingRun
from train.common.toy_samples import identity_samples, keyframe_samples, open_movies

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict] = {
    "tiny": {
        "seed": 0,
        "clip_arch": "moviedreamer-clip-tiny",
        "clip_checkpoint": None,
        "clip_steps": 2,
        "clip_batch_size": 4,
        "clip_lr": 5e-4,
        "clip_warmup": 0,
        "clip_weight_decay": 0.1,
        "face_loss_weight": 1.0,
        "frame_faces": True,
        "vae_preset": "tiny",
        "vae_pretrained": None,
        "vae_train_encoder": True,
        "vae_steps": 2,
        "vae_batch_size": 2,
        "vae_lr": 1e-3,
        "vae_warmup": 0,
        "kl_weight": 1e-6,
        "edge_weight": 0.5,
        "image_size": [32, 56],
        "vae_crop": [16, 32],
        "scaling_samples": 4,
        "grad_clip": 1.0,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 2,
    },
    # The embedded CPU bundle's budget: on 2 cores the CLIP phase took ~3.9 s/step and the VAE
    # phase ~2.0 s/step with one thread each, run as two processes side by side (see
    # assets/bundle/MODEL_CARD.md for the exact commands); about 33 minutes in all.
    "default": {
        "seed": 0,
        "clip_arch": "moviedreamer-clip-default",
        "clip_checkpoint": None,
        "clip_steps": 500,
        "clip_batch_size": 32,
        "clip_lr": 5e-4,
        "clip_warmup": 50,
        "clip_weight_decay": 0.1,
        "face_loss_weight": 1.0,
        "frame_faces": True,
        "vae_preset": "default",
        "vae_pretrained": None,
        "vae_train_encoder": True,
        "vae_steps": 1000,
        "vae_batch_size": 16,
        "vae_lr": 4e-4,
        "vae_warmup": 50,
        "kl_weight": 1e-6,
        "edge_weight": 0.0,
        "image_size": [128, 224],
        "vae_crop": [64, 112],
        "scaling_samples": 256,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 100,
        "keep_checkpoints": 2,
    },
    # Paper scale uses pretrained towers: CLIP ViT-L/14 and SDXL's VAE, copied, not trained.
    "paper": {
        "seed": 0,
        "clip_arch": "ViT-L-14",
        "clip_checkpoint": None,
        "clip_steps": 0,
        "clip_batch_size": 256,
        "clip_lr": 1e-5,
        "clip_warmup": 100,
        "clip_weight_decay": 0.1,
        "face_loss_weight": 1.0,
        "frame_faces": True,
        "vae_preset": "default",
        "vae_pretrained": None,
        "vae_train_encoder": True,
        "vae_steps": 0,
        "vae_batch_size": 8,
        "vae_lr": 1e-5,
        "vae_warmup": 100,
        "kl_weight": 1e-6,
        "edge_weight": 0.0,
        "image_size": [512, 896],
        "vae_crop": [256, 256],
        "scaling_samples": 0,
        "grad_clip": 1.0,
        "log_every": 20,
        "checkpoint_every": 1000,
        "keep_checkpoints": 2,
    },
}
# Issue 20's VAE alone (no CLIP phase): 8 latent channels at 8x ("wide8", 16 x 28 x 8), an
# edge term for the outlines of faces and props, run with --mixed-precision bf16 (about 4x
# faster than fp32 for these convolutions on our CPU: 2.6-3.3 vs 10.7-12 s/step in a short
# benchmark). In the first run the machine was shared with other training jobs and a step
# took 6-7 s, so 450 steps (~50 minutes); then the decoder alone is fine-tuned further
# (vae_train_encoder=false) while the latents stay those the keyframe decoder learns.
# Otherwise the default preset's settings.
PRESETS["vae8"] = PRESETS["default"] | {
    "clip_steps": 0,
    "vae_preset": "wide8",
    "vae_steps": 450,
    "edge_weight": 0.5,
    "checkpoint_every": 50,
}


class ContrastivePairs(nn.Module):
    """CLIP + ClipLoss; one forward over frames and faces together (one DDP pass per step)."""

    def __init__(self, clip_model: nn.Module, rank: int, world_size: int, face_weight: float):
        super().__init__()
        self.clip = clip_model
        self.face_weight = face_weight
        # With several processes, every rank scores its images against all ranks' texts.
        self.loss = ClipLoss(
            local_loss=world_size > 1, gather_with_grad=True, rank=rank, world_size=world_size
        )

    def forward(self, pixels: torch.Tensor, tokens: torch.Tensor, num_frames: int) -> dict[str, torch.Tensor]:
        out = self.clip(image=pixels, text=tokens)
        if isinstance(out, dict):
            image, text, scale = out["image_features"], out["text_features"], out["logit_scale"]
        else:
            image, text, scale = out[:3]  # (2B, E), (2B, E) unit length; exp(logit scale)
        frames = self.loss(image[:num_frames], text[:num_frames], scale)
        faces = self.loss(image[num_frames:], text[num_frames:], scale)
        return {"loss": frames + self.face_weight * faces, "frame_loss": frames, "face_loss": faces}


def edge_l1(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between the horizontal and vertical pixel differences of two images.

    Plain L1 + MSE let a small VAE trade a soft outline for a right colour; this term charges
    for the outline itself (an eye, a hat brim, the edge of a face), which is what tells
    characters apart in the toy world. Images (B, 3, H, W).
    """
    dx = (recon.diff(dim=-1) - target.diff(dim=-1)).abs().mean()
    dy = (recon.diff(dim=-2) - target.diff(dim=-2)).abs().mean()
    return 0.5 * (dx + dy)


class VaeLoss(nn.Module):
    """AutoencoderKL with its training loss as forward."""

    def __init__(self, vae: AutoencoderKL, kl_weight: float, edge_weight: float = 0.0):
        super().__init__()
        self.vae = vae
        self.kl_weight = kl_weight
        self.edge_weight = edge_weight

    def forward(
        self, pixels: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        posterior = self.vae.encode(pixels).latent_dist
        recon = self.vae.decode(posterior.sample(generator)).sample  # (B, 3, H, W)
        # LDM weighting: 1e-6 x KL summed over the latent, against the reconstruction summed
        # over pixels; both divided by the pixel count to keep the loss at per-pixel scale.
        kl = posterior.kl().mean() / pixels[0].numel()
        recon = recon.float()
        losses = {"l1": (recon - pixels).abs().mean(), "mse": (recon - pixels).pow(2).mean(), "kl": kl}
        loss = losses["l1"] + losses["mse"] + self.kl_weight * kl
        if self.edge_weight:
            losses["edge"] = edge_l1(recon, pixels)
            loss = loss + self.edge_weight * losses["edge"]
        return {"loss": loss, **losses}


def build_clip(cfg: dict) -> OpenClipEncoder:
    if cfg["clip_checkpoint"]:
        return OpenClipEncoder.from_checkpoint(cfg["clip_arch"], cfg["clip_checkpoint"])
    if cfg["preset"] == "paper":
        require(cfg, "clip_checkpoint", preset="paper")
    return OpenClipEncoder.build(cfg["clip_arch"], seed=cfg["seed"])


def build_vae_model(cfg: dict) -> AutoencoderKL:
    source = cfg["vae_pretrained"]
    if source:
        folder = Path(source)
        folder = folder / "vae" if (folder / "vae" / "config.json").is_file() else folder
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"{source} holds no AutoencoderKL (config.json missing); give an SDXL folder or its vae/ folder."
            )
        return AutoencoderKL.from_pretrained(folder, local_files_only=True)
    if cfg["preset"] == "paper":
        require(cfg, "vae_pretrained", preset="paper")
    torch.manual_seed(cfg["seed"])
    return build_vae(cfg["vae_preset"])


@torch.no_grad()
def measure_scaling_factor(vae: AutoencoderKL, dataset: VaeImageDataset, count: int, device) -> float:
    """1 / std of the latents of `count` frames: brings the UNet's inputs to unit variance.

    The frames are spread evenly over the dataset, so every movie's style is represented.
    """
    picks = torch.linspace(0, len(dataset) - 1, min(count, len(dataset))).round().long().unique().tolist()
    latents = []
    for start in range(0, len(picks), 16):
        batch = torch.stack([dataset[(i, 0)]["pixels"] for i in picks[start : start + 16]])
        latents.append(vae.encode(batch.to(device)).latent_dist.mode().float().cpu())
    return float(1.0 / torch.cat(latents).std())


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("python -m train.stage0_representation", __doc__.split("\n\n")[0], PRESETS)
    args = parser.parse_args(argv)
    cfg = resolve_preset(PRESETS, args.preset, args.set) | {"preset": args.preset}

    run = TrainingRun(
        args.out,
        cfg | {"data": args.data},
        stage="stage0",
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
    )
    schedule = PhaseSchedule(
        [
            Phase("clip", cfg["clip_steps"], cfg["clip_lr"], cfg["clip_warmup"]),
            Phase("vae", cfg["vae_steps"], cfg["vae_lr"], cfg["vae_warmup"]),
        ]
    )
    clip = build_clip(cfg)
    vae = build_vae_model(cfg)
    image_size = tuple(cfg["image_size"])

    movies = open_movies(args.data, "train")
    frames = keyframe_samples(movies)
    frame_text = FrameTextDataset(frames, clip.transform)
    face_text = FaceTextDataset(identity_samples(movies, frame_faces=cfg["frame_faces"]), clip.transform)
    vae_images = VaeImageDataset(frames, image_size, cfg["vae_crop"])
    if schedule.total_steps and (len(frame_text) == 0 or len(face_text) == 0):
        raise ValueError(
            f"The dataset {args.data} has no keyframes with plots or no identities with face photos."
        )

    contrastive = ContrastivePairs(clip.model, run.rank, run.world_size, cfg["face_loss_weight"])
    if not cfg["vae_train_encoder"]:
        if not cfg["vae_pretrained"]:
            raise ValueError(
                "vae_train_encoder=false fine-tunes the decoder of an existing VAE; give it with "
                "--set vae_pretrained=FOLDER."
            )
        # the latent space stays exactly that of the pretrained VAE
        vae.encoder.requires_grad_(False)
        vae.quant_conv.requires_grad_(False)
    vae_loss = VaeLoss(vae, cfg["kl_weight"], cfg["edge_weight"])
    clip_opt = torch.optim.AdamW(
        clip.model.parameters(), lr=cfg["clip_lr"], weight_decay=cfg["clip_weight_decay"]
    )
    vae_opt = torch.optim.AdamW(
        [p for p in vae.parameters() if p.requires_grad], lr=cfg["vae_lr"], weight_decay=0.0
    )
    contrastive, vae_loss, clip_opt, vae_opt = run.accelerator.prepare(
        contrastive, vae_loss, clip_opt, vae_opt
    )
    start = run.resume(args.resume)
    end = stop_step(schedule.total_steps, args.max_steps)

    def loader(dataset, batch_size: int, first: int, last: int) -> DataLoader:
        return run.step_loader(
            dataset,
            batch_size=batch_size,
            seed=cfg["seed"],
            start=first,
            end=last,
            num_workers=args.num_workers,
        )

    bar = run.progress_bar(start, schedule.total_steps)
    step = start
    for phase in schedule.phases:
        phase_start = sum(p.steps for p in schedule.phases[: schedule.phases.index(phase)])
        first, last = max(step, phase_start), min(end, phase_start + phase.steps)
        if first >= last:
            continue
        if phase.name == "clip":
            batches = zip(
                loader(frame_text, cfg["clip_batch_size"], first, last),
                loader(face_text, cfg["clip_batch_size"], first, last),
                strict=True,
            )
            model, optimizer = contrastive, clip_opt
        else:
            batches = ((b,) for b in loader(vae_images, cfg["vae_batch_size"], first, last))
            model, optimizer = vae_loss, vae_opt
        model.train()
        for batch in batches:
            lr = schedule.lr(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if phase.name == "clip":
                frame_batch, face_batch = batch
                pixels = torch.cat([frame_batch["pixels"], face_batch["pixels"]]).to(run.device)
                tokens = clip.tokenize(list(frame_batch["text"]) + list(face_batch["text"])).to(run.device)
                losses = model(pixels, tokens, len(frame_batch["text"]))
            else:
                losses = model(batch[0]["pixels"].to(run.device), run.generator(step))
            optimizer.zero_grad(set_to_none=True)
            run.accelerator.backward(losses["loss"])
            if cfg["grad_clip"]:
                run.accelerator.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            optimizer.step()
            if phase.name == "clip":
                # As open_clip's training: a temperature above 100 makes the loss unstable.
                with torch.no_grad():
                    run.accelerator.unwrap_model(model).clip.logit_scale.clamp_(0, math.log(100))
            step += 1
            run.counter.step = step
            bar.update(1)
            if step % cfg["log_every"] == 0 or step == last:
                run.log_step(step, phase.name, lr, losses)
            if step % cfg["checkpoint_every"] == 0 and step < end:
                run.save_checkpoint(cfg["keep_checkpoints"], models=(contrastive, vae_loss))
    bar.close()
    if end > start:
        run.save_checkpoint(cfg["keep_checkpoints"], models=(contrastive, vae_loss))

    if run.is_main:
        out = Path(args.out)
        clip_model = run.accelerator.unwrap_model(contrastive).clip
        OpenClipEncoder(clip_model, clip.model_cfg, clip.tokenizer, clip.mean, clip.std).save_pretrained(
            out / "clip"
        )
        vae_model = run.accelerator.unwrap_model(vae_loss).vae.eval()
        trained_latents = step > cfg["clip_steps"] and cfg["vae_train_encoder"]
        if cfg["scaling_samples"] and trained_latents:  # the VAE's latent space has changed
            whole_frames = VaeImageDataset(frames, image_size)
            factor = measure_scaling_factor(vae_model, whole_frames, cfg["scaling_samples"], run.device)
            vae_model.register_to_config(scaling_factor=factor)
            logger.info("VAE latent scaling factor: %.4f", factor)
        vae_model.save_pretrained(out / "vae")
        print(f"stage 0 at step {step}/{schedule.total_steps}: wrote {out / 'clip'} and {out / 'vae'}")
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
