"""Stages 1 + 3 on cached frozen features: the ID-preserving keyframe decoder (issue 20).

One run trains the compressor (CLIP tokens -> L visual tokens, paper 3.2), the conditioner and
the UNet together on the full ID-preserving condition of stage 3 (visual tokens, <= 15
description sentences, <= 5 face embeddings, each masked with p = mask_prob, App. C), with
what the first bundle lacked:

* every frozen input is computed once and kept on disk (`feature_store`): the VAE's latents
  (posterior mode) and the CLIP tower's spatial tokens per keyframe, MiniLM sentence
  embeddings and CLIP face embeddings per distinct sentence / photo; a step then costs only
  the compressor and the UNet;
* v-prediction on the zero-terminal-SNR schedule with min-SNR-gamma weighting (SNR + 1 form);
* EMA weights (diffusers `EMAModel`) for everything sampled; the exported models are the EMA;
* a UNet with cross-attention in every down/up block and the mid block (preset "xattn");
* bf16 autocast with `--mixed-precision bf16` (faster on our CPU, ENVIRONMENT.md);
* sampling with DPM-Solver++ (the exported pipeline's scheduler) and classifier-free guidance;
* a learning curve: every eval_every steps the EMA decoder renders held-out keyframes
  (eval_data, e.g. a `--split test` export) from their ground-truth tokens, sentences and
  faces ("reconstruction"); rows go to OUT/curve.jsonl with the latent L1 to the truth and,
  when `bench.judge.score_frames` exists, the judge's accuracies; a grid goes to OUT/samples/.
  The models are exported at every evaluation, so a run stopped early leaves usable ones.

Frozen models: CLIP from clip_path (default INIT/clip), VAE from vae_path (default INIT/vae),
e.g. a stage-0 run. Outputs in --out, the layout of stage 3 (train.bundle reads it):
decoder/ (KeyframeDecoderPipeline, EMA weights, DPM-Solver++), tokenizer/ (CLIP + EMA
compressor), encoders.json; features/ holds the caches.

    python -m train.stage13_cached_decoder --preset default --data DATASET --init runs/stage0 \\
        --out runs/decoder --mixed-precision bf16 --set eval_data=TEST_DATASET
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, DPMSolverMultistepScheduler
from diffusers.training_utils import EMAModel
from PIL import Image

from core.decoder.architectures import build_unet, default_scheduler
from core.decoder.conditioning import DecoderConditioner
from core.decoder.pipeline import KeyframeDecoderPipeline
from core.encoders.open_clip_encoder import OpenClipEncoder
from core.tokenizer.compressor import COMPRESSOR_PRESETS, TokenCompressor
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from train.common.cli import stage_parser, stop_step
from train.common.diffusion_autoencoder import DiffusionAutoencoder
from train.common.embedding_cache import EmbeddingCache
from train.common.feature_store import (
    FrameFeatureStore,
    combine_fingerprints,
    frame_list_fingerprint,
    module_fingerprint,
)
from train.common.image_datasets import vae_pixels
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import resolve_preset
from train.common.run import TrainingRun
from train.common.step_sampler import StepBatchSampler
from train.common.toy_samples import KeyframeSample, keyframe_samples, open_movies

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict] = {
    "tiny": {
        "seed": 0,
        "clip_path": None,
        "vae_path": None,
        "tokenizer_path": None,
        "init_decoder": None,
        "shot_sentence": False,
        "compressor": "tiny",
        "unet": "tiny",
        "image_size": [32, 56],
        "context_dim": 16,
        "description_encoder": "clip",
        "face_embedder": "clip",
        "face_size": 64,
        "fresh_face_mlp": False,
        "max_frames": None,
        "shard_size": 3,
        "encode_batch": 2,
        "batch_size": 2,
        "steps": 3,
        "lr": 1e-3,
        "warmup": 0,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "noise_offset": 0.05,
        "snr_gamma": 5.0,
        "mask_prob": 0.2,
        "drop_all_prob": 0.1,
        "drop_tokens_prob": 0.3,
        "ema_decay": 0.999,
        "ema_power": 0.6667,
        "sample_steps": 2,
        "guidance": 2.0,
        "eval_data": None,
        "eval_frames": 2,
        "eval_every": 2,
        "eval_guidance": [1.0, 2.0],
        "eval_t2i": True,
        "eval_seed": 1234,
        "judge_dir": None,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 2,
    },
    # The embedded CPU bundle's decoder, retrained for issue 20 on the 8-channel VAE (stage 0
    # preset "vae8"). Widths as the 20-minute feasibility run of ENVIRONMENT.md (UNet
    # (64, 128, 256), attention everywhere, AdamW 2e-4, batch 32, min-SNR 5, EMA), with the
    # full ID condition. At most 3,000 training keyframes are cached (evenly spread over the
    # movies, ~19 per movie; 0.17 GB of CLIP tokens, 0.02 GB of latents in fp16): the wide8
    # encoder took 0.49 s per 128 x 224 frame with bf16 autocast (1.12 s in fp32) on one
    # thread of the shared machine, so 3,000 frames are ~25 minutes. A step of batch 32 took
    # 7.4-10 s there (bf16 and fp32 alike, other jobs running): 1,200 steps are a long evening.
    "default": {
        "seed": 0,
        "clip_path": None,
        "vae_path": None,
        "tokenizer_path": None,
        "init_decoder": None,
        "shot_sentence": False,
        "compressor": "default",
        "unet": "xattn",
        "image_size": [128, 224],
        "context_dim": 256,
        "description_encoder": "minilm",
        "face_embedder": "clip",
        "face_size": 64,
        "fresh_face_mlp": False,
        "max_frames": 3000,
        "shard_size": 500,
        "encode_batch": 32,
        "batch_size": 32,
        "steps": 1200,
        "lr": 2e-4,
        "warmup": 50,
        "weight_decay": 0.01,
        "grad_clip": 1.0,
        "noise_offset": 0.05,
        "snr_gamma": 5.0,
        "mask_prob": 0.2,
        "drop_all_prob": 0.1,
        "drop_tokens_prob": 0.3,
        "ema_decay": 0.999,
        "ema_power": 0.6667,
        "sample_steps": 20,
        "guidance": 3.0,
        "eval_data": None,
        "eval_frames": 32,
        "eval_every": 200,
        "eval_guidance": [3.0],
        "eval_t2i": True,
        "eval_seed": 1234,
        "judge_dir": None,
        "log_every": 10,
        "checkpoint_every": 50,
        "keep_checkpoints": 2,
    },
}

EVAL_GRID_FRAMES = 8  # keyframes per saved sample grid (truth above, sample below)


# -- frozen inputs ----------------------------------------------------------------------


def pick_frames(samples: list[KeyframeSample], limit: int | None) -> list[KeyframeSample]:
    """At most `limit` keyframes, evenly spread over the list (so over every movie)."""
    if not limit or limit >= len(samples):
        return list(samples)
    picks = np.linspace(0, len(samples) - 1, limit).round().astype(int)
    return [samples[i] for i in np.unique(picks)]


def load_frozen(
    cfg: dict, init: Path | None
) -> tuple[OpenClipEncoder, AutoencoderKL, TokenCompressor | None]:
    """The frozen CLIP tower and VAE, and the frozen compressor when tokenizer_path is set.

    tokenizer_path (a KeyframeTokenizer folder, e.g. a bundle's tokenizer/) keeps that
    tokenizer whole: its CLIP tower and its compressor are used and not trained, so the
    visual-token space stays the one an existing AR model was trained on.
    """

    def where(key: str, sub: str) -> Path:
        if cfg[key]:
            return Path(cfg[key])
        if init is None:
            raise ValueError(f"Give --init (a stage 0 run with {sub}/) or --set {key}=FOLDER.")
        return init / sub

    vae_dir = where("vae_path", "vae")
    folders = [vae_dir] + (
        [Path(cfg["tokenizer_path"])] if cfg["tokenizer_path"] else [where("clip_path", "clip")]
    )
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{folder} does not exist; give the CLIP / VAE folders of a stage 0 run or a tokenizer folder."
            )
    compressor = None
    if cfg["tokenizer_path"]:
        tokenizer = KeyframeTokenizer.from_pretrained(folders[1])
        clip, compressor = tokenizer.clip, tokenizer.compressor.eval().requires_grad_(False)
    else:
        clip = OpenClipEncoder.from_pretrained(folders[1]).freeze()
    vae = AutoencoderKL.from_pretrained(vae_dir, local_files_only=True).eval().requires_grad_(False)
    return clip, vae, compressor


def build_encoders(cfg: dict, clip: OpenClipEncoder, vae: AutoencoderKL):
    """(sentence encoder, face encoder, their fingerprints) of the preset's kinds.

    face_embedder "clip": the CLIP tower on the cast photo (the AR model's face space);
    "vae": the VAE's latent of the photo (`core.encoders.face_latent`), the decoder's own space.
    """
    from core.encoders.face_clip import ClipFaceEmbedder
    from core.encoders.face_latent import VaeFaceEmbedder

    clip_print = module_fingerprint(clip.model)
    if cfg["face_embedder"] == "clip":
        faces, face_print = ClipFaceEmbedder(clip), combine_fingerprints("clip-face", clip_print)
    elif cfg["face_embedder"] == "vae":
        faces = VaeFaceEmbedder(vae, size=cfg.get("face_size", 64))
        face_print = combine_fingerprints(
            f"vae-face-{faces.size}", module_fingerprint(vae, ("encoder.", "quant_conv."))
        )
    else:
        raise ValueError(
            f"face_embedder={cfg['face_embedder']!r}; use 'clip' or 'vae' (insightface needs stage 3)."
        )
    if cfg["description_encoder"] == "minilm":
        from core.encoders.descriptions import MiniLMDescriptionEncoder

        sentences = MiniLMDescriptionEncoder()
        sentence_print = combine_fingerprints("minilm", module_fingerprint(sentences.model))
    elif cfg["description_encoder"] == "clip":
        from core.encoders.descriptions import OpenClipTextDescriptionEncoder

        sentences = OpenClipTextDescriptionEncoder(clip)
        sentence_print = combine_fingerprints("clip-text", clip_print)
    else:
        raise ValueError(f"description_encoder={cfg['description_encoder']!r}; use 'minilm' or 'clip'.")
    return sentences, faces, sentence_print, face_print


@torch.no_grad()
def encode_frames(
    samples: list[KeyframeSample],
    clip: OpenClipEncoder,
    vae: AutoencoderKL,
    image_size,
    batch: int,
    autocast=contextlib.nullcontext,
):
    """encode(start, end) for FrameFeatureStore: latents (unscaled mode) and CLIP tokens, fp16.

    autocast: a context factory around the two encoders (e.g. the run's bf16 autocast).
    """
    transform = clip.transform

    def encode(start: int, end: int) -> dict[str, torch.Tensor]:
        latents, tokens = [], []
        for lo in range(start, end, batch):
            images = []
            for sample in samples[lo : min(end, lo + batch)]:
                with Image.open(sample.image) as image:
                    images.append(image.convert("RGB"))
            pixels = torch.stack([vae_pixels(im, image_size) for im in images]).to(vae.device)
            clip_pixels = torch.stack([transform(im) for im in images]).to(clip.device)
            with autocast():
                mode = vae.encode(pixels).latent_dist.mode()
                spatial = clip.encode_image_tokens(clip_pixels)[1]
            latents.append(mode.half().cpu())
            tokens.append(spatial.half().cpu())
        return {"latents": torch.cat(latents), "clip_tokens": torch.cat(tokens)}

    return encode


def scale_latents(vae: AutoencoderKL, latents: torch.Tensor) -> torch.Tensor:
    shift = vae.config.shift_factor or 0.0
    return (latents.float() - shift) * vae.config.scaling_factor


def draw_faces(sample: KeyframeSample, draw: int, max_faces: int) -> list:
    """One cast photo per character (by the item's draw), as KeyframeDataset does."""
    rng = np.random.default_rng(draw)
    return [
        person.photos[int(rng.integers(len(person.photos)))] if person.photos else None
        for person in sample.people[:max_faces]
    ]


# -- models -----------------------------------------------------------------------------


def sampling_scheduler(training_scheduler) -> DPMSolverMultistepScheduler:
    """DPM-Solver++ on the training betas (zero terminal SNR, v-prediction, trailing steps)."""
    cfg = training_scheduler.config
    return DPMSolverMultistepScheduler(
        num_train_timesteps=cfg.num_train_timesteps,
        beta_start=cfg.beta_start,
        beta_end=cfg.beta_end,
        beta_schedule=cfg.beta_schedule,
        prediction_type=cfg.prediction_type,
        algorithm_type="dpmsolver++",
        solver_order=2,
        timestep_spacing="trailing",
        rescale_betas_zero_snr=bool(cfg.get("rescale_betas_zero_snr", False)),
        final_sigmas_type="zero",
    )


def build_model(
    cfg: dict,
    clip: OpenClipEncoder,
    vae: AutoencoderKL,
    face_dim: int,
    description_dim: int,
    compressor: TokenCompressor | None = None,
):
    """The diffusion autoencoder; `compressor` (frozen, from tokenizer_path) replaces a new one."""
    torch.manual_seed(cfg["seed"])
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    image_size = tuple(cfg["image_size"])
    if image_size[0] % scale or image_size[1] % scale:
        raise ValueError(
            f"The keyframe size {image_size} is not divisible by the VAE's downsampling {scale}."
        )
    if compressor is None:
        compressor_cfg = COMPRESSOR_PRESETS[cfg["compressor"]]
        compressor = TokenCompressor(
            input_dim=clip.token_width, num_patches=clip.num_patches, **compressor_cfg
        )
    else:
        compressor_cfg = {
            "token_dim": compressor.config.token_dim,
            "num_tokens": compressor.config.num_tokens,
        }
    unet = build_unet(
        cfg["unet"],
        cross_attention_dim=cfg["context_dim"],
        sample_size=(image_size[0] // scale, image_size[1] // scale),
        latent_channels=vae.config.latent_channels,
    )
    conditioner = DecoderConditioner(
        token_dim=compressor_cfg["token_dim"],
        num_tokens=compressor_cfg["num_tokens"],
        context_dim=cfg["context_dim"],
        description_dim=description_dim,
        face_dim=face_dim,
        mask_prob=cfg["mask_prob"],
        drop_all_prob=cfg["drop_all_prob"],
        drop_tokens_prob=cfg["drop_tokens_prob"],
        input_norm=True,
        reads_shot_sentence=bool(cfg.get("shot_sentence", False)),
        face_source="vae" if cfg["face_embedder"] == "vae" else "face_encoder",
        face_size=cfg.get("face_size", 64),
    )
    scheduler = default_scheduler("v_zero_snr")
    return DiffusionAutoencoder(
        compressor,
        conditioner,
        unet,
        scheduler,
        image_size=image_size,
        noise_offset=cfg["noise_offset"],
        snr_gamma=cfg["snr_gamma"],
    )


def start_from_decoder(model: DiffusionAutoencoder, folder: Path, *, fresh_faces: bool = False) -> None:
    """Start the UNet and conditioner from a saved decoder pipeline (e.g. an earlier run's decoder/).

    The architectures must match the preset's; a run resumed from its own checkpoint then
    overwrites these weights with the checkpoint's. `fresh_faces` keeps this run's newly
    initialised face MLP and face norm (for a run that changes the face embedder: the saved
    ones read another embedding space, possibly of another width).
    """
    from diffusers import UNet2DConditionModel

    for name, cls in (("unet", UNet2DConditionModel), ("conditioner", DecoderConditioner)):
        if not (folder / name).is_dir():
            raise FileNotFoundError(
                f"{folder / name} does not exist; give a decoder folder with unet/ and conditioner/."
            )
        saved = cls.from_pretrained(folder / name)
        state = saved.state_dict()
        if name == "conditioner" and fresh_faces:
            own = model.conditioner.state_dict()
            state = {k: own[k] if k.startswith(("face_mlp.", "face_norm.")) else v for k, v in state.items()}
        try:
            getattr(model, name).load_state_dict(state)
        except RuntimeError as error:
            raise ValueError(
                f"The {name} in {folder} does not fit this run's {name} (another preset or width): {error}"
            ) from error
    logger.info("UNet and conditioner start from %s", folder)


def export(out: Path, model: DiffusionAutoencoder, vae, clip, cfg: dict, encoders: dict) -> None:
    """decoder/, tokenizer/ and encoders.json of the current weights, each folder replaced whole."""
    pipeline = KeyframeDecoderPipeline(
        model.unet.eval(), vae, sampling_scheduler(model.scheduler), model.conditioner.eval()
    )
    for name, save in (
        ("decoder", pipeline.save_pretrained),
        ("tokenizer", KeyframeTokenizer(clip, model.compressor.eval()).save_pretrained),
    ):
        tmp = out / f"{name}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        save(tmp)
        if (out / name).exists():
            shutil.rmtree(out / name)
        tmp.rename(out / name)
    (out / "encoders.json").write_text(json.dumps(encoders, indent=2))


# -- held-out evaluation ----------------------------------------------------------------


class HeldOut:
    """Held-out keyframes with their ground truth, for the learning curve."""

    def __init__(self, root: str, count: int, image_size):
        movies = open_movies(root, "test")
        rows, samples = [], []
        for movie in movies:
            per_movie = keyframe_samples([movie])
            rows.extend(list(movie.ground_truth)[: len(per_movie)])
            samples.extend(per_movie)
        picks = np.unique(np.linspace(0, len(samples) - 1, min(count, len(samples))).round().astype(int))
        self.samples = [samples[i] for i in picks]
        self.records = [rows[i] for i in picks]
        self.images = []
        for sample in self.samples:
            with Image.open(sample.image) as image:
                self.images.append(image.convert("RGB"))
        self.pixels = torch.stack([vae_pixels(im, image_size) for im in self.images])


_JUDGE: list = []  # the loaded judge (or None when there is none), loaded once per process
JUDGE_DIR: list[str | None] = [None]  # a judge folder to load instead of bench.judge's default


def judge_scores(images: list[Image.Image], records: list[dict]) -> dict | None:
    """bench.judge's accuracies, or None when no judge exists for this world.

    A judge is only loaded (bench.judge's own choice, or the folder in JUDGE_DIR, set by the
    `judge_dir` setting), never trained here (training one takes minutes of both cores).
    """
    if not _JUDGE:
        try:
            from bench.judge import Judge, load_judge

            folder = JUDGE_DIR[0]
            _JUDGE.append(Judge.load(Path(folder)) if folder else load_judge(train_if_missing=False))
        except (ImportError, FileNotFoundError, TypeError) as error:
            logger.info("no judge for the learning curve (%s); logging the latent L1 only", error)
            _JUDGE.append(None)
    if _JUDGE[0] is None:
        return None
    from bench.judge import score_frames

    judge = _JUDGE[0]
    scores = score_frames(images, records, judge=judge)
    out = {k: float(v) for k, v in scores.items() if isinstance(v, (int, float))}
    # which judge: figures of two judges (e.g. before and after its weights change) don't compare
    weights = Path(judge.folder) / "judge.safetensors"
    if weights.is_file():
        out["judge_weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    return out


def save_grid(path: Path, truth: list[Image.Image], made: list[Image.Image]) -> None:
    truth, made = truth[:EVAL_GRID_FRAMES], made[:EVAL_GRID_FRAMES]
    w, h = truth[0].size
    grid = Image.new("RGB", (w * len(truth), 2 * h))
    for i, (a, b) in enumerate(zip(truth, made, strict=True)):
        grid.paste(a, (i * w, 0))
        grid.paste(b.resize((w, h)), (i * w, h))
    grid.save(path)


@torch.no_grad()
def evaluate(step, model, vae, clip, held: HeldOut, sentence_cache, face_cache, cfg, out: Path) -> list[dict]:
    """Render the held-out keyframes from their ground-truth conditions with the current weights.

    `model` needs unet, conditioner, scheduler and compressor (a DiffusionAutoencoder, or the
    parts of an exported decoder); they are left in eval mode.
    """
    ccfg = model.conditioner.config
    pipeline = KeyframeDecoderPipeline(
        model.unet.eval(), vae, sampling_scheduler(model.scheduler), model.conditioner.eval()
    )
    pipeline.set_progress_bar_config(disable=True)
    tokens = model.compressor.eval()(clip.encode_image_tokens(clip.to_pixels(held.images))[1])
    text = sentence_cache.padded(
        [s.sentences(ccfg.max_descriptions, with_shot=ccfg.reads_shot_sentence) for s in held.samples],
        ccfg.max_descriptions,
    )
    faces = face_cache.padded(
        [draw_faces(s, cfg["eval_seed"] + i, ccfg.max_faces) for i, s in enumerate(held.samples)],
        ccfg.max_faces,
    )
    truth_latents = vae.encode(held.pixels).latent_dist.mode()
    rows = []
    (out / "samples").mkdir(exist_ok=True)
    # identity guidance (face_guidance_scale, 1 = off): the sweep may try several
    face_guidances = cfg.get("eval_face_guidance") or [1.0]
    runs = [("reconstruction", g, f) for g in cfg["eval_guidance"] for f in face_guidances]
    if cfg.get("eval_t2i"):
        runs.append(("t2i", max(cfg["eval_guidance"]), 1.0))  # script only: no visual tokens
    for row_name, guidance, face_guidance in runs:
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(cfg["eval_seed"])
        latents = pipeline(
            tokens if row_name == "reconstruction" else None,
            text,
            faces,
            num_inference_steps=cfg["sample_steps"],
            guidance_scale=guidance,
            face_guidance_scale=face_guidance,
            generator=generator,
            output_type="latent",
        ).images
        images = pipeline.image_processor.postprocess(pipeline.decode_latents(latents), output_type="pil")
        seconds = time.perf_counter() - started
        unscaled = latents / vae.config.scaling_factor + (vae.config.shift_factor or 0.0)
        row = {
            "step": step,
            "row": row_name,
            "guidance": guidance,
            "face_guidance": face_guidance,
            "sampler": f"dpmsolver++ {cfg['sample_steps']} steps",
            "frames": len(images),
            "latent_l1": float((unscaled - truth_latents).abs().mean()),
            "seconds_per_keyframe": seconds / len(images),
        }
        judged = judge_scores(images, held.records)
        if judged is not None:
            row["judge"] = judged
        rows.append(row)
        suffix = ("" if row_name == "reconstruction" else f"_{row_name}") + (
            f"_f{face_guidance:g}" if face_guidance != 1.0 else ""
        )
        save_grid(out / "samples" / f"step_{step:06d}_g{guidance:g}{suffix}.png", held.images, images)
    return rows


def vae_round_trip_row(vae, held: HeldOut) -> dict:
    with torch.no_grad():
        decoded = vae.decode(vae.encode(held.pixels).latent_dist.mode()).sample.clamp(-1, 1)
    images = [
        Image.fromarray(((x.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)) for x in decoded
    ]
    row = {"row": "vae_round_trip", "frames": len(images), "l1": float((decoded - held.pixels).abs().mean())}
    judged = judge_scores(images, held.records)
    if judged is not None:
        row["judge"] = judged
    truth = judge_scores(held.images, held.records)
    if truth is not None:
        row["judge_ground_truth"] = truth
    return row


# -- the run ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("python -m train.stage13_cached_decoder", __doc__.split("\n\n")[0], PRESETS)
    parser.add_argument(
        "--init", default=None, help="stage 0 run folder (clip/, vae/) unless clip_path/vae_path"
    )
    args = parser.parse_args(argv)
    cfg = resolve_preset(PRESETS, args.preset, args.set) | {"preset": args.preset}
    init = Path(args.init) if args.init else None
    out = Path(args.out)

    run = TrainingRun(
        out,
        cfg | {"data": args.data, "init": str(init) if init else None},
        stage="stage13",
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
    )
    clip, vae, frozen_compressor = load_frozen(cfg, init)
    clip.to(run.device)
    vae.to(run.device)
    sentences, faces, sentence_print, face_print = build_encoders(cfg, clip, vae)
    model = build_model(cfg, clip, vae, faces.embedding_dim, sentences.embedding_dim, frozen_compressor)
    if cfg["init_decoder"]:
        start_from_decoder(model, Path(cfg["init_decoder"]), fresh_faces=bool(cfg.get("fresh_face_mlp")))
    ccfg = model.conditioner.config
    encoders = {
        "description_encoder": cfg["description_encoder"],
        "description_dim": ccfg.description_dim,
        "face_embedder": cfg["face_embedder"],
        "face_dim": ccfg.face_dim,
    }

    # Frozen features: encoded once per (models, frames, settings), on disk under OUT/features.
    samples = pick_frames(keyframe_samples(open_movies(args.data, "train")), cfg["max_frames"])
    features = out / "features"
    frame_print = combine_fingerprints(
        module_fingerprint(vae, ("encoder.", "quant_conv.")),
        module_fingerprint(clip.model.visual),
        frame_list_fingerprint(
            [s.image for s in samples],
            {"image_size": model.image_size, "precision": run.accelerator.mixed_precision},
        ),
    )
    store = FrameFeatureStore(
        features / "frames",
        len(samples),
        frame_print,
        # bf16 encodes with --mixed-precision bf16 (~4x faster for the VAE's convolutions on CPU)
        encode_frames(samples, clip, vae, model.image_size, cfg["encode_batch"], run.accelerator.autocast),
        shard_size=cfg["shard_size"],
    )
    started = time.perf_counter()
    cached = store.load(lambda k, n: logger.info("frame features: shard %d/%d ready", k, n))
    latents_all = cached["latents"]  # (N, c, h, w) fp16, unscaled
    tokens_all = cached["clip_tokens"]  # (N, T, C) fp16
    logger.info(
        "frame features of %d keyframes: %d shards encoded in %.0f s, the rest read from %s",
        len(samples),
        store.encoded_shards,
        time.perf_counter() - started,
        features,
    )
    sentence_cache = EmbeddingCache(sentences.encode, ccfg.description_dim)
    face_cache = EmbeddingCache(lambda refs: faces.embed_crops([r.open() for r in refs]), ccfg.face_dim)
    for cache, name, fingerprint, keys in (
        (
            sentence_cache,
            "sentences",
            sentence_print,
            {
                t
                for s in samples
                for t in s.sentences(ccfg.max_descriptions, with_shot=ccfg.reads_shot_sentence)
            },
        ),
        (face_cache, "faces", face_print, {p for s in samples for person in s.people for p in person.photos}),
    ):
        path = features / f"{name}.safetensors"
        read = cache.load(path, fingerprint)
        ordered = sorted(keys, key=str)
        cache.rows(ordered)  # encodes only those not read
        if len(cache) > read or not path.is_file():
            cache.save(path, fingerprint)
        logger.info("%s: %d embeddings (%d read from %s)", name, len(keys), read, path)

    held = HeldOut(cfg["eval_data"], cfg["eval_frames"], model.image_size) if cfg["eval_data"] else None
    JUDGE_DIR[0] = cfg["judge_dir"]

    model.set_trainable({"conditioner", "unet"} | ({"compressor"} if frozen_compressor is None else set()))
    trainable = [p for p in model.parameters() if p.requires_grad]
    ema = EMAModel(
        trainable, decay=cfg["ema_decay"], use_ema_warmup=True, power=cfg["ema_power"], foreach=True
    )
    optimizer = torch.optim.AdamW(trainable, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    schedule = PhaseSchedule([Phase("decoder", cfg["steps"], cfg["lr"], cfg["warmup"])])
    model, optimizer = run.accelerator.prepare(model, optimizer)
    run.accelerator.register_for_checkpointing(ema)
    start = run.resume(args.resume)
    end = stop_step(schedule.total_steps, args.max_steps)
    inner = run.accelerator.unwrap_model(model)
    params = [p for p in inner.parameters() if p.requires_grad]

    def with_ema(action):
        ema.store(params)
        ema.copy_to(params)
        try:
            return action()
        finally:
            ema.restore(params)

    def checkpoint_eval_export(step: int) -> None:
        if not run.is_main:
            return
        if held is not None:
            if not (out / "curve.jsonl").is_file():
                with open(out / "curve.jsonl", "a") as f:
                    f.write(json.dumps({"step": 0} | vae_round_trip_row(vae, held)) + "\n")
            rows = with_ema(
                lambda: evaluate(step, inner, vae, clip, held, sentence_cache, face_cache, cfg, out)
            )
            with open(out / "curve.jsonl", "a") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")
                    logger.info("eval %s", json.dumps(row))
        with_ema(lambda: export(out, inner, vae, clip, cfg, encoders))
        inner.train()

    sampler = StepBatchSampler(
        len(samples),
        batch_size=cfg["batch_size"],
        seed=cfg["seed"],
        start_step=start,
        end_step=end,
        rank=run.rank,
        world_size=run.world_size,
    )
    bar = run.progress_bar(start, schedule.total_steps)
    step = start
    model.train()
    timer, last_logged = time.perf_counter(), start
    for items in sampler:
        lr = schedule.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        generator = run.generator(step)
        index = torch.tensor([i for i, _ in items])
        batch_samples = [samples[i] for i, _ in items]
        latents = scale_latents(vae, latents_all[index]).to(run.device)
        clip_tokens = tokens_all[index].float().to(run.device)
        description_embeds = sentence_cache.padded(
            [s.sentences(ccfg.max_descriptions, with_shot=ccfg.reads_shot_sentence) for s in batch_samples],
            ccfg.max_descriptions,
        ).to(run.device)
        face_embeds = face_cache.padded(
            [draw_faces(s, draw, ccfg.max_faces) for s, (_, draw) in zip(batch_samples, items, strict=True)],
            ccfg.max_faces,
        ).to(run.device)
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
            run.accelerator.clip_grad_norm_(params, cfg["grad_clip"])
        optimizer.step()
        ema.step(params)
        step += 1
        run.counter.step = step
        bar.update(1)
        if step % cfg["log_every"] == 0 or step == end:
            # training steps only: the time of checkpoints and evaluations is not counted
            steps_per_s = (step - last_logged) / (time.perf_counter() - timer)
            speed = {
                "steps_per_s": torch.tensor(steps_per_s),
                "samples_per_s": torch.tensor(steps_per_s * cfg["batch_size"] * run.world_size),
                "ema_decay": torch.tensor(float(ema.cur_decay_value or 0.0)),
            }
            run.log_step(step, "decoder", lr, {"loss": loss} | speed)
            timer, last_logged = time.perf_counter(), step
        if step % cfg["checkpoint_every"] == 0 and step < end:
            run.save_checkpoint(cfg["keep_checkpoints"], models=(model,))
        if step % cfg["eval_every"] == 0 and step < end:
            checkpoint_eval_export(step)
        if step % cfg["checkpoint_every"] == 0 or step % cfg["eval_every"] == 0:
            timer, last_logged = time.perf_counter(), step
    bar.close()
    if end > start:
        run.save_checkpoint(cfg["keep_checkpoints"], models=(model,))
        checkpoint_eval_export(step)
    logger.info(
        "stage 1+3 at step %d/%d: wrote %s and %s",
        step,
        schedule.total_steps,
        out / "decoder",
        out / "tokenizer",
    )
    run.accelerator.wait_for_everyone()
    run.accelerator.end_training()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
