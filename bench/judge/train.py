"""Train the judge from scratch on ground-truth renders of the held-out cast.

    python -m bench.judge.train [--steps 6000] [--out DIR] [--threads 2]

Renders the judge's own movies (never the evaluated ones, `bench.heldout`), trains
`JudgeNet` with light viewer-style augmentation (blur, noise, mirror: a softer or noisier
picture of the same scene must read the same), picks the presence threshold on held-out
judge movies (the lowest at which precision reaches `target_precision`) and saves the
weights (float16 safetensors) with a `judge.json` that carries the config, the threshold,
the world fingerprint and the held-out accuracies. Deterministic from `--seed`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torchvision.transforms.functional import gaussian_blur

from bench.heldout import world_fingerprint
from bench.judge.data import LabelledFrames, default_config, judge_frames
from bench.judge.model import JudgeConfig, JudgeNet, JudgeOutput

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "judge.safetensors"
META_FILE = "judge.json"
CLASS_HEADS = ("place", "time", "weather", "style", "shot_size", "variant", "largest")


@dataclass(frozen=True)
class Recipe:
    """How the judge is trained; saved beside the weights."""

    seed: int = 0
    train_movies: int = 500
    val_movies: int = 32
    shots: int = 48
    steps: int = 6000
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup: int = 100
    cell_background_weight: float = 0.3
    cell_weight: float = 1.0
    presence_weight: float = 1.0
    blur_probability: float = 0.5
    max_blur_sigma: float = 1.6
    noise_std: float = 0.03
    target_precision: float = 0.9
    eval_every: int = 0  # evaluate the held-out judge movies every N steps (0: only at the end)


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
    return images.permute(0, 3, 1, 2).float().div_(255.0)


def augment(
    batch: LabelledFrames, recipe: Recipe, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (B, 3, H, W), cells (B, h, w)) with mirror, blur and noise drawn from `generator`."""
    x = to_input(batch.images).contiguous()
    cells = batch.cells.clone()
    flip = torch.rand(len(x), generator=generator) < 0.5
    x[flip] = x[flip].flip(-1)
    cells[flip] = cells[flip].flip(-1)
    # One blur strength per batch, applied to a random part of it in one batched call.
    blur = torch.rand(len(x), generator=generator) < recipe.blur_probability
    if blur.any():
        sigma = 0.3 + float(torch.rand(1, generator=generator)) * (recipe.max_blur_sigma - 0.3)
        x[blur] = gaussian_blur(x[blur], kernel_size=7, sigma=sigma)
    strength = recipe.noise_std * torch.rand(len(x), 1, 1, 1, generator=generator)
    x = x + torch.randn(x.shape, generator=generator) * strength
    return x.clamp_(0, 1), cells


def losses(
    out: JudgeOutput, batch: LabelledFrames, cells: torch.Tensor, recipe: Recipe
) -> dict[str, torch.Tensor]:
    terms = {name: F.cross_entropy(getattr(out, name).float(), getattr(batch, name)) for name in CLASS_HEADS}
    k1 = out.cells.shape[1]
    weight = torch.ones(k1)
    weight[0] = recipe.cell_background_weight
    terms["cells"] = recipe.cell_weight * F.cross_entropy(out.cells.float(), cells, weight=weight)
    terms["presence"] = recipe.presence_weight * F.binary_cross_entropy_with_logits(
        out.presence.float(), batch.presence
    )
    return terms


@torch.no_grad()
def predict_logits(model: JudgeNet, images: torch.Tensor, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """Logits of every head for uint8 frames (N, H, W, 3), computed in float32.

    Not under bf16 autocast: its coarse logits tie, and ties would move the presence
    threshold's precision off the value it was chosen for.
    """
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(images), batch_size):
        out = model(to_input(images[start : start + batch_size]))
        for name in (*CLASS_HEADS, "presence", "features"):
            parts.setdefault(name, []).append(getattr(out, name).float())
    return {name: torch.cat(values) for name, values in parts.items()}


def presence_threshold(scores: np.ndarray, labels: np.ndarray, precision: float) -> float:
    """The lowest logit threshold whose precision on (scores, labels) is at least `precision`."""
    order = np.argsort(-scores)
    hits = np.cumsum(labels[order])
    precisions = hits / np.arange(1, len(order) + 1)
    ok = np.nonzero(precisions >= precision)[0]
    if len(ok) == 0:
        return float(scores.max()) + 1.0
    return float(scores[order][ok[-1]])


def evaluate(logits: dict[str, torch.Tensor], frames: LabelledFrames, threshold: float) -> dict:
    """Accuracy of every class head, and presence recall / precision at `threshold`."""
    result = {
        name: round(float((logits[name].argmax(1) == getattr(frames, name)).float().mean()), 4)
        for name in CLASS_HEADS
    }
    found = (logits["presence"] >= threshold).numpy()
    truth = frames.presence.numpy() > 0.5
    result["presence_recall"] = round(float((found & truth).sum() / max(truth.sum(), 1)), 4)
    result["presence_precision"] = round(float((found & truth).sum() / max(found.sum(), 1)), 4)
    result["frames"] = len(frames)
    return result


def load_model(folder: Path) -> tuple[JudgeNet, dict]:
    """A saved judge (float16 weights computed in float32) and its judge.json."""
    meta = json.loads((folder / META_FILE).read_text())
    model = JudgeNet(JudgeConfig.from_json(meta["config"]))
    state = load_file(str(folder / WEIGHTS_FILE))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model, meta


def calibrate(model: JudgeNet, val_set: LabelledFrames, recipe: Recipe) -> tuple[float, dict]:
    """(presence threshold at the target precision, held-out accuracies) on the validation movies."""
    logits = predict_logits(model, val_set.images)
    scores = logits["presence"].numpy().ravel()
    threshold = presence_threshold(scores, val_set.presence.numpy().ravel() > 0.5, recipe.target_precision)
    return threshold, evaluate(logits, val_set, threshold)


def recalibrate(folder: Path, threads: int = 2) -> dict:
    """Re-pick the threshold and re-measure a saved judge on its own validation movies."""
    torch.set_num_threads(threads)
    model, meta = load_model(folder)
    recipe = Recipe(**meta["recipe"])
    val_set = judge_frames(recipe.val_movies, recipe.shots, model.config, offset=recipe.train_movies)
    threshold, heldout = calibrate(model, val_set, recipe)
    meta["presence_threshold"] = threshold
    meta["heldout"] = heldout | {"what": meta["heldout"].get("what", "")}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def train(recipe: Recipe, out: Path, threads: int = 2, init: Path | None = None) -> dict:
    """Train, pick the threshold, save into `out`; returns the metadata written to judge.json."""
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(threads)
    config = default_config()
    started = time.perf_counter()
    logger.info(
        "Rendering %d + %d judge movies of %d shots", recipe.train_movies, recipe.val_movies, recipe.shots
    )
    train_set = judge_frames(recipe.train_movies, recipe.shots, config)
    val_set = judge_frames(recipe.val_movies, recipe.shots, config, offset=recipe.train_movies)
    render_seconds = time.perf_counter() - started
    model = JudgeNet(config)
    if init is not None:  # continue from a saved judge (a further cosine cycle on new draws)
        model.load_state_dict(load_model(init)[0].state_dict())
        logger.info("Continuing from the judge in %s", init)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)

    def lr_at(step: int) -> float:
        if step < recipe.warmup:
            return (step + 1) / recipe.warmup
        progress = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    generator = torch.Generator().manual_seed(recipe.seed)
    curve = []
    model.train()
    train_started = time.perf_counter()
    for step in range(recipe.steps):
        index = torch.randint(len(train_set), (recipe.batch_size,), generator=generator)
        batch = train_set.subset(index)
        x, cells = augment(batch, recipe, generator)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_ = model(x)
        terms = losses(out_, batch, cells, recipe)
        loss = sum(terms.values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            point = {"step": step, "loss": round(float(loss.detach()), 4)}
            point |= {k: round(float(v.detach()), 4) for k, v in terms.items()}
            if recipe.eval_every and step % recipe.eval_every == 0 and step > 0:
                logits = predict_logits(model, val_set.images)
                scores = logits["presence"].numpy().ravel()
                cut = presence_threshold(
                    scores, val_set.presence.numpy().ravel() > 0.5, recipe.target_precision
                )
                point["heldout"] = evaluate(logits, val_set, cut)
                model.train()
            curve.append(point)
            logger.info("judge step %d %s", step, json.dumps(point))
    train_seconds = time.perf_counter() - train_started

    # Saved in float16 (a few MB); the figures below are those of the float16 weights.
    state = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    threshold, heldout = calibrate(model, val_set, recipe)
    meta = {
        "init": str(init) if init else None,
        "config": config.to_json(),
        "recipe": asdict(recipe),
        "presence_threshold": threshold,
        "world_fingerprint": world_fingerprint(),
        "heldout": heldout
        | {
            "what": f"{recipe.val_movies} judge movies of the held-out cast, never trained on, never evaluated"
        },
        "curve": curve,
        "seconds": {"render": round(render_seconds, 1), "train": round(train_seconds, 1)},
    }
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp))
    tmp.replace(out / WEIGHTS_FILE)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    logger.info("judge held-out: %s", json.dumps(heldout))
    return meta


def main(argv: list[str] | None = None) -> dict:
    from bench.judge import default_judge_folder

    parser = argparse.ArgumentParser(prog="python -m bench.judge.train", description=__doc__.split("\n\n")[0])
    defaults = Recipe()
    parser.add_argument("--out", type=Path, default=None, help="folder for the weights (default: the cache)")
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--train-movies", type=int, default=defaults.train_movies)
    parser.add_argument("--val-movies", type=int, default=defaults.val_movies)
    parser.add_argument("--shots", type=int, default=defaults.shots)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--recalibrate",
        type=Path,
        default=None,
        help="only re-pick the threshold of the judge in this folder",
    )
    parser.add_argument(
        "--init", type=Path, default=None, help="continue from the judge saved in this folder"
    )
    parser.add_argument("--eval-every", type=int, default=0, help="held-out evaluation every N steps")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.recalibrate is not None:
        meta = recalibrate(args.recalibrate, args.threads)
        print(json.dumps(meta["heldout"], indent=2))
        return meta
    recipe = Recipe(
        seed=args.seed,
        train_movies=args.train_movies,
        val_movies=args.val_movies,
        shots=args.shots,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        eval_every=args.eval_every,
    )
    meta = train(recipe, args.out or default_judge_folder(), args.threads, args.init)
    print(json.dumps(meta["heldout"], indent=2))
    return meta


if __name__ == "__main__":
    main()
