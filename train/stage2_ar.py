"""Training stage 2: the autoregressive keyframe-token model (paper 3.3).

The frozen stage-1 tokenizer, the description encoder and the face embedder encode every
training movie once into a token cache (train.common.token_cache); the AR model then learns to
predict each keyframe's visual tokens from the multimodal script and all earlier frames with
the GMM loss (eq. 8). The paper's anti-overfitting set is applied per sample:

* horizontal flip: the whole sample uses the tokens of the mirrored keyframes (encoded by the
  tokenizer from mirrored images when the cache was built);
* temporal reversal: the frames are read in reverse order;
* face-embedding randomisation: every appearance of a character gets a random face of that
  character (another cast photo or a face crop from another keyframe);
* dropout 0.5 on the backbone's input embeddings and before the GMM head (attention dropout
  is a separate setting, off by default because it is ~12x slower on CPU), and random key
  masking with p = 0.15 inside the causal mask (a 4D additive mask passed to Llama);
* few-shot: with some probability the tokens of 10 random frames of the same movie are
  prepended as reference frames, as the sampler does with the user's references.

At paper scale the backbone is trained through LoRA adapters with gradient checkpointing
(`lora_rank`, `gradient_checkpointing`; train.common.lora says why and what is trained), on
many GPUs with `accelerate launch --config_file train/accelerate_configs/fsdp.yaml -m train.stage2_ar
...`. A LoRA run also writes the adapter alone to OUT/lora_adapter; OUT/model always holds the
plain model (adapters merged).

Usage:
    python -m train.stage2_ar --data DATASET --out runs/ar --set tokenizer=runs/stage1/tokenizer
    python -m train.stage2_ar --data runs/ar/token_cache --out runs/ar2 --preset tiny

--data is a toy-cinema dataset (its token cache is built into `cache`, default OUT/token_cache,
or reused when it is there) or a token cache folder itself. The run folder follows
train.common.run (config.json, log.jsonl, checkpoints/); the trained model bundle is written
to OUT/model (KeyframeAR.save_pretrained) whenever the run stops.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import DistributedType, set_seed
from torch import nn

from core.ar import ARConfig, FrameSequence, KeyframeAR, build_batch
from core.script import MAX_CHARACTERS_PER_SHOT, MAX_DESCRIPTIONS_PER_SHOT
from core.script.inputs import IDENTIFIER_VOCABULARY, KeyframeInputs, keyframe_inputs
from train.common.cli import stage_parser, stop_step
from train.common.lora import (
    LLAMA_LINEAR_LAYERS,
    apply_lora,
    enable_gradient_checkpointing,
    merge_lora,
    save_adapter,
)
from train.common.phases import Phase, PhaseSchedule
from train.common.presets import require, resolve_preset
from train.common.run import TrainingRun
from train.common.token_cache import INDEX_FILE, CachedMovie, TokenCache, build_token_cache

logger = logging.getLogger(__name__)

STAGE = "stage2_ar"
MODEL_DIR = "model"
ADAPTER_DIR = "lora_adapter"

_COMMON = {
    "backbone": None,  # local LLaMA-family folder (paper preset)
    "init": None,  # an AR bundle to start from instead of a fresh model
    "model_overrides": {},  # ARConfig fields, e.g. {"num_layers": 6}
    "attention_dropout": 0.0,
    "weight_decay": 0.05,
    "grad_clip": 1.0,
    "key_mask_probability": 0.15,
    "hflip": True,
    "temporal_reversal": True,
    "face_randomisation": True,
    "reference_probability": 0.5,
    "num_reference_frames": 10,
    "keep_checkpoints": 2,
    # Memory at paper scale (train.common.lora): recompute activations in the backward pass, and
    # train LoRA adapters of this rank instead of the whole backbone (0 = the whole backbone).
    "gradient_checkpointing": False,
    "lora_rank": 0,
    "lora_alpha": 16,
    "lora_dropout": 0.0,
    "lora_targets": list(LLAMA_LINEAR_LAYERS),
    "lora_train_embeddings": True,
    "eval_samples": 16,
    "seed": 0,
    # Token cache (used when --data is a dataset).
    "cache": None,  # default: OUT/token_cache
    "tokenizer": None,  # stage-1 keyframe tokenizer folder
    "sentence_encoder": "minilm",  # or "open_clip" with sentence_architecture + sentence_checkpoint
    "sentence_architecture": None,
    "sentence_checkpoint": None,
    "face_embedder": "clip",  # the tokenizer's CLIP on face crops, or "insightface"
    "insightface_root": None,
    "frame_face_crops": True,
}

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        **_COMMON,
        "model": "tiny",
        "steps": 2,
        "batch_size": 2,
        "frames_per_sample": 4,
        "learning_rate": 1e-3,
        "warmup_steps": 0,
        "dropout": 0.0,
        "num_reference_frames": 2,
        "log_every": 1,
        "checkpoint_every": 1,
        "eval_every": 0,
        "eval_samples": 2,
    },
    # The embedded CPU bundle's budget: 2,000 steps, about 30 minutes on one core (0.9 s/step beside stage 3).
    "default": {
        **_COMMON,
        "model": "default",
        "steps": 2000,
        "batch_size": 4,
        "frames_per_sample": 32,
        "learning_rate": 3e-4,
        "warmup_steps": 50,
        "dropout": 0.5,
        "log_every": 20,
        "checkpoint_every": 100,
        "eval_every": 250,
    },
    "paper": {
        **_COMMON,
        "model": "paper",
        "steps": 100_000,
        "batch_size": 8,
        "frames_per_sample": 128,
        "learning_rate": 1e-4,
        "warmup_steps": 2000,
        "dropout": 0.5,
        "log_every": 50,
        "checkpoint_every": 2000,
        "eval_every": 2000,
        "sentence_encoder": "open_clip",
        # LLaMA-2-7B in full with AdamW needs ~112 GB before activations; LoRA r=64 on every
        # projection trains ~160 M adapter parameters plus the embeddings (estimates in
        # assets/bundles/paper-scale/MODEL_CARD.md).
        "gradient_checkpointing": True,
        "lora_rank": 64,
        "lora_alpha": 128,
        "lora_dropout": 0.05,
    },
}


# -- samples ---------------------------------------------------------------------------


class EpisodeSampler:
    """Draws training samples (core.ar.FrameSequence) from the movies of a token cache.

    A movie is chosen with probability proportional to its number of frames, then a run of
    `frames_per_sample` consecutive frames; the augmentations of the module docstring are
    applied when `augment` is true. Loaded movies are kept in a small LRU.
    """

    def __init__(self, cache: TokenCache, split: str, config: Mapping[str, Any], max_loaded: int = 64):
        self.cache = cache
        self.config = config
        self.movie_ids = cache.movie_ids(split)
        counts = np.array([cache.frame_counts[m] for m in self.movie_ids], dtype=np.float64)
        self.weights = counts / counts.sum()
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[str, tuple[CachedMovie, list[KeyframeInputs]]] = OrderedDict()

    def _movie(self, movie_id: str) -> tuple[CachedMovie, list[KeyframeInputs]]:
        if movie_id in self._loaded:
            self._loaded.move_to_end(movie_id)
            return self._loaded[movie_id]
        movie = self.cache.load(movie_id)
        frames = keyframe_inputs(movie.script)
        if len(frames) != movie.num_frames:
            raise ValueError(
                f"Movie {movie_id} has {len(frames)} shots but {movie.num_frames} cached keyframes; the "
                "script changed after the cache was built. Rebuild the token cache."
            )
        self._loaded[movie_id] = (movie, frames)
        if len(self._loaded) > self.max_loaded:
            self._loaded.popitem(last=False)
        return movie, frames

    def sample(self, rng: np.random.Generator, augment: bool = True) -> FrameSequence:
        config = self.config
        movie, frames = self._movie(self.movie_ids[int(rng.choice(len(self.movie_ids), p=self.weights))])
        count = min(int(config["frames_per_sample"]), movie.num_frames)
        start = int(rng.integers(0, movie.num_frames - count + 1))
        order = np.arange(start, start + count)
        flip = augment and config["hflip"] and rng.random() < 0.5
        if augment and config["temporal_reversal"] and rng.random() < 0.5:
            order = order[::-1].copy()
        tokens = movie.tokens_flipped if flip else movie.tokens  # (F, L, d)
        chosen = [frames[i] for i in order]
        references = None
        if augment and config["num_reference_frames"] > 0 and rng.random() < config["reference_probability"]:
            references = self._references(movie.num_frames, order, rng, tokens)
        face_rng = rng if augment and config["face_randomisation"] else None
        return FrameSequence(
            frames=chosen,
            sentence_embeddings=movie.frame_sentence_embeddings(chosen, MAX_DESCRIPTIONS_PER_SHOT),
            face_embeddings=movie.frame_face_embeddings(chosen, MAX_CHARACTERS_PER_SHOT, face_rng),
            visual_tokens=tokens[torch.from_numpy(order)],
            reference_tokens=references,
        )

    def _references(self, num_frames: int, order: np.ndarray, rng: np.random.Generator, tokens: torch.Tensor):
        """Tokens (R, L, d) of random frames of the same movie, outside the sample when possible."""
        outside = np.setdiff1d(np.arange(num_frames), order)
        pool = outside if outside.size else np.arange(num_frames)
        wanted = min(int(self.config["num_reference_frames"]), pool.size)
        picked = np.sort(rng.choice(pool, size=wanted, replace=False))
        return tokens[torch.from_numpy(picked)]


class TrainingStep(nn.Module):
    """One loss evaluation as a single forward, so data-parallel wrappers see every parameter used."""

    def __init__(self, model: KeyframeAR):
        super().__init__()
        self.model = model

    def forward(
        self, samples: Sequence[FrameSequence], key_mask_probability: float, generator: torch.Generator | None
    ) -> dict[str, torch.Tensor]:
        loss = self.model.loss(build_batch(self.model, samples), key_mask_probability, generator)
        return {"loss": loss.total, "nll_per_dim": loss.nll_per_dim, "l1": loss.l1, "l2": loss.l2}


# -- setup -----------------------------------------------------------------------------


def open_cache(data: str | Path, out: Path, config: Mapping[str, Any], run: TrainingRun) -> TokenCache:
    """--data as a token cache, or the cache of the dataset --data (built on first use)."""
    data = Path(data)
    if (data / INDEX_FILE).is_file():
        return TokenCache(data)
    folder = Path(config["cache"]) if config["cache"] else out / "token_cache"
    if run.is_main:
        _build_cache(data, folder, config)
    run.accelerator.wait_for_everyone()
    return TokenCache(folder)


def _build_cache(data: Path, folder: Path, config: Mapping[str, Any]) -> None:
    """Encode the dataset with the frozen stage-1 tokenizer and the bundle's text and face encoders."""
    from core.encoders.descriptions import MiniLMDescriptionEncoder, OpenClipTextDescriptionEncoder
    from core.encoders.faces import make_face_encoder
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
    from train.common.toy_samples import open_movies

    require(config, "tokenizer", preset="stage2_ar")
    tokenizer = KeyframeTokenizer.from_pretrained(config["tokenizer"])
    if config["sentence_encoder"] == "minilm":
        sentences = MiniLMDescriptionEncoder()
        sentence_name = f"minilm:{sentences.folder}"
    elif config["sentence_encoder"] == "open_clip":
        require(config, "sentence_architecture", "sentence_checkpoint", preset="stage2_ar")
        sentences = OpenClipTextDescriptionEncoder.from_checkpoint(
            config["sentence_architecture"], config["sentence_checkpoint"]
        )
        sentence_name = f"open_clip:{config['sentence_architecture']}:{config['sentence_checkpoint']}"
    else:
        raise ValueError(
            f"Unknown sentence_encoder {config['sentence_encoder']!r}; use 'minilm' or 'open_clip'."
        )
    faces = make_face_encoder(
        config["face_embedder"], clip=tokenizer.clip, insightface_root=config["insightface_root"]
    )
    fingerprint = {
        "tokenizer": str(Path(config["tokenizer"]).resolve()),
        "sentence_encoder": sentence_name,
        "face_embedder": config["face_embedder"],
    }
    for split in ("train", "test"):
        try:
            movies = open_movies(data, split)
        except ValueError:
            if split == "train":
                raise
            logger.info("The dataset has no test movies; training without evaluation.")
            continue
        build_token_cache(
            folder,
            movies,
            encode_keyframes=tokenizer.encode,
            encode_sentences=sentences.encode,
            encode_faces=faces.embed_crops,
            fingerprint=fingerprint,
            split=split,
            frame_face_crops=bool(config["frame_face_crops"]),
        )


def build_model(config: Mapping[str, Any], widths: Mapping[str, int]) -> KeyframeAR:
    """A fresh model for the cache's encoders (or the `init` bundle, checked against them)."""
    if config["init"]:
        model = KeyframeAR.from_pretrained(
            config["init"],
            dropout=float(config["dropout"]),
            attention_dropout=float(config["attention_dropout"]),
        )
        for key, value in widths.items():
            if getattr(model.config, key) != value:
                raise ValueError(
                    f"The init model reads {key}={getattr(model.config, key)} but the token cache holds "
                    f"{key}={value}; start from a model trained with the same encoders, or from scratch."
                )
        return model.train()
    overrides = {
        **dict(config["model_overrides"]),
        **widths,
        "dropout": float(config["dropout"]),
        "attention_dropout": float(config["attention_dropout"]),
    }
    if config["model"] == "paper":
        require(config, "backbone", preset="paper")
        ar_config = ARConfig.paper(config["backbone"], **overrides)
    else:
        ar_config = ARConfig.preset(config["model"], **overrides)
    return KeyframeAR.from_config(ar_config, IDENTIFIER_VOCABULARY).train()


def prepare_memory_savers(model: KeyframeAR, config: Mapping[str, Any]) -> KeyframeAR:
    """Gradient checkpointing and LoRA adapters on the backbone, as the config asks."""
    if config["gradient_checkpointing"]:
        enable_gradient_checkpointing(model)
    if int(config["lora_rank"]):
        apply_lora(
            model,
            rank=int(config["lora_rank"]),
            alpha=float(config["lora_alpha"]),
            dropout=float(config["lora_dropout"]),
            targets=config["lora_targets"],
            train_embeddings=bool(config["lora_train_embeddings"]),
        )
    return model


# -- the run ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> Path:
    parser = stage_parser(
        "python -m train.stage2_ar",
        "Train the autoregressive keyframe-token model (MovieDreamer stage 2).",
        PRESETS,
    )
    args = parser.parse_args(argv)
    config = resolve_preset(PRESETS, args.preset, args.set)
    run = TrainingRun(
        args.out,
        {**config, "preset": args.preset, "data": str(args.data)},
        stage=STAGE,
        mixed_precision=args.mixed_precision,
        cpu=args.cpu,
    )
    cache = open_cache(args.data, run.out, config, run)
    seed = int(config["seed"])
    # Weight init and dropout use the global generators; seeding them makes the run repeatable
    # (a resumed run restores their state from the checkpoint).
    set_seed(seed)
    model = build_model(config, cache.widths)
    prepare_memory_savers(model, config)
    train_samples = EpisodeSampler(cache, "train", config)
    eval_samples = (
        EpisodeSampler(cache, "test", config) if config["eval_every"] and cache.splits.get("test") else None
    )

    step_module = TrainingStep(model)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=float(config["learning_rate"]),
        weight_decay=float(config["weight_decay"]),
    )
    total = int(config["steps"])
    peak = float(config["learning_rate"])
    # the schedule every stage uses: linear warm-up, then cosine decay to 10% of the peak
    schedule = PhaseSchedule([Phase("train", max(total, 1), peak, int(config["warmup_steps"]))])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule.lr(step) / peak if step < schedule.total_steps else 0.1
    )
    step_module, optimizer, scheduler = run.accelerator.prepare(step_module, optimizer, scheduler)
    run.resume(args.resume)

    stop = stop_step(total, args.max_steps)
    bar = run.progress_bar(run.step, stop)
    while run.step < stop:
        step = run.step
        # Derived from (seed, step, rank): a resumed run draws what an uninterrupted one would.
        rng = np.random.default_rng([seed, step, run.rank])
        samples = [train_samples.sample(rng) for _ in range(int(config["batch_size"]))]
        step_module.train()
        losses = step_module(samples, float(config["key_mask_probability"]), run.generator(step))
        run.accelerator.backward(losses["loss"])
        if config["grad_clip"]:
            run.accelerator.clip_grad_norm_(step_module.parameters(), float(config["grad_clip"]))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        run.counter.step = step + 1
        bar.update(1)
        bar.set_postfix(loss=f"{float(losses['loss'].detach()):.4f}")
        if run.step % int(config["log_every"]) == 0 or run.step == stop:
            run.log_step(run.step, "train", scheduler.get_last_lr()[0], losses)
        if eval_samples is not None and run.step % int(config["eval_every"]) == 0:
            run.log_step(
                run.step, "eval", scheduler.get_last_lr()[0], evaluate(step_module, eval_samples, config)
            )
        if run.step % int(config["checkpoint_every"]) == 0 or run.step == stop:
            run.save_checkpoint(keep=int(config["keep_checkpoints"]))
    bar.close()

    bundle = run.out / MODEL_DIR
    trained = trained_model(run, step_module, config, cache.widths)
    if run.is_main:
        if int(config["lora_rank"]):
            save_adapter(trained, run.out / ADAPTER_DIR)
            # The run ends here, so the adapters may be folded into the weights in place.
            merge_lora(trained)
        trained.save_pretrained(bundle)
        logger.info("Saved the AR model at step %d to %s.", run.step, bundle)
    run.accelerator.wait_for_everyone()
    return bundle


def trained_model(
    run: TrainingRun, step_module: nn.Module, config: Mapping[str, Any], widths: Mapping[str, int]
) -> KeyframeAR | None:
    """The trained model with whole weights on the main process (None on the others).

    Under FSDP every process holds a shard of each weight, so the unwrapped module cannot be
    saved as it is: accelerate gathers the full state dict on the main process (a collective,
    so every process calls this), which is loaded into a fresh copy of the model there.
    """
    if run.accelerator.distributed_type != DistributedType.FSDP:
        return run.accelerator.unwrap_model(step_module).model if run.is_main else None
    state = run.accelerator.get_state_dict(step_module)
    if not run.is_main:
        return None
    model = prepare_memory_savers(build_model(config, widths), config)
    model.load_state_dict({name.removeprefix("model."): value for name, value in state.items()})
    return model


@torch.no_grad()
def evaluate(
    step_module: nn.Module, sampler: EpisodeSampler, config: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    """Mean loss over a fixed set of held-out samples, without augmentation, masking or dropout."""
    rng = np.random.default_rng([int(config["seed"]), 1_000_003])
    step_module.eval()
    totals: dict[str, torch.Tensor] = {}
    count = int(config["eval_samples"])
    for _ in range(count):
        losses = step_module([sampler.sample(rng, augment=False)], 0.0, None)
        for name, value in losses.items():
            totals[name] = totals.get(name, 0.0) + value.detach() / count
    step_module.train()
    return totals


if __name__ == "__main__":
    main()
