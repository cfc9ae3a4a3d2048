"""The independent judge of generated keyframes (see `bench/judge/model.py`).

    judge = load_judge()                       # shipped, cached, or trained from scratch
    verdict = judge.read(images)              # what the judge sees in each frame
    scores = score_frames(images, records)     # accuracies against ground-truth records

The judge is trained only on ground-truth renders of the held-out cast in movies no bench
evaluates, and shares no weights or features with any model bundle, so a bundle cannot
game it with its own features. Weights ship in `bench/judge/weights/` (float16, a few MB)
for the world they were trained on; when the world changes (its fingerprint differs) the
judge is retrained on demand into the cache (`bench.heldout.cache_root()`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from scipy.stats import rankdata

from bench.heldout import cache_root, world_fingerprint
from bench.judge.data import labels_of
from bench.judge.model import JudgeConfig, JudgeNet
from bench.judge.train import META_FILE, WEIGHTS_FILE, Recipe, predict_logits, train

logger = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent / "weights"


def default_judge_folder() -> Path:
    return cache_root() / f"judge-{world_fingerprint()}"


@dataclass
class Verdict:
    """What the judge reads in N frames (numpy arrays)."""

    place: np.ndarray  # (N,) predicted place names
    time: np.ndarray
    weather: np.ndarray
    style: np.ndarray
    shot_size: np.ndarray
    variant: np.ndarray  # (N,) ints
    presence: np.ndarray  # (N, K) logits; present where >= the judge's threshold
    found: np.ndarray  # (N, K) bool
    largest: np.ndarray  # (N,) identity id or "" for nobody
    features: np.ndarray  # (N, C) pooled features


class Judge:
    def __init__(self, model: JudgeNet, meta: dict, folder: Path):
        self.model = model.eval()
        self.meta = meta
        self.folder = folder
        self.config: JudgeConfig = model.config
        self.threshold = float(meta["presence_threshold"])

    @classmethod
    def load(cls, folder: Path) -> Judge:
        meta = json.loads((folder / META_FILE).read_text())
        model = JudgeNet(JudgeConfig.from_json(meta["config"]))
        state = load_file(str(folder / WEIGHTS_FILE))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        return cls(model, meta, folder)

    @property
    def heldout(self) -> dict:
        """The judge's own accuracies on held-out ground-truth frames (from training)."""
        return dict(self.meta["heldout"])

    def read(self, images: list[Image.Image]) -> Verdict:
        arrays = np.stack([np.asarray(_frame(image), dtype=np.uint8) for image in images])
        logits = predict_logits(self.model, torch.from_numpy(arrays))
        c = self.config
        names = ("", *c.identities)
        presence = logits["presence"].numpy()
        return Verdict(
            place=np.array(c.places)[logits["place"].argmax(1).numpy()],
            time=np.array(c.times)[logits["time"].argmax(1).numpy()],
            weather=np.array(c.weathers)[logits["weather"].argmax(1).numpy()],
            style=np.array(c.styles)[logits["style"].argmax(1).numpy()],
            shot_size=np.array(c.shot_sizes)[logits["shot_size"].argmax(1).numpy()],
            variant=logits["variant"].argmax(1).numpy(),
            presence=presence,
            found=presence >= self.threshold,
            largest=np.array(names)[logits["largest"].argmax(1).numpy()],
            features=logits["features"].numpy(),
        )


def _frame(image: Image.Image) -> Image.Image:
    """Frames are judged at the world's keyframe size (a bundle at another size is resized)."""
    image = image.convert("RGB")
    return image if image.size == (224, 128) else image.resize((224, 128), Image.Resampling.BICUBIC)


def load_judge(*, train_if_missing: bool = True, threads: int = 2) -> Judge:
    """The judge of today's world: shipped weights, else the cache, else trained now (~10 min)."""
    fingerprint = world_fingerprint()
    for folder in (SHIPPED, default_judge_folder()):
        meta_path = folder / META_FILE
        if meta_path.is_file() and (folder / WEIGHTS_FILE).is_file():
            meta = json.loads(meta_path.read_text())
            if meta.get("world_fingerprint") == fingerprint:
                return Judge.load(folder)
            logger.info(
                "The judge in %s was trained on another world (%s); not using it",
                folder,
                meta.get("world_fingerprint"),
            )
    if not train_if_missing:
        raise FileNotFoundError(
            f"no judge for this world (fingerprint {fingerprint}); train one with `python -m bench.judge.train`"
        )
    logger.info("No judge for this world yet: training one from scratch into %s", default_judge_folder())
    train(Recipe(), default_judge_folder(), threads)
    return Judge.load(default_judge_folder())


def score_frames(images: list[Image.Image], records: list[dict], judge: Judge | None = None) -> dict:
    """The judge's accuracies on `images` against their ground-truth `records`.

    place / time / weather / style / shot_size / variant: accuracy; lt: share of (frame,
    character present in the record) pairs the judge finds; lt_precision: share of the
    judge's findings that are right; presence_auc: threshold-free (all frame x cast pairs).
    """
    judge = judge or load_judge()
    verdict = judge.read(images)
    truth = [labels_of(r, judge.config) for r in records]
    c = judge.config
    result = {
        "frames": len(images),
        "place": float(np.mean([p == r["place"] for p, r in zip(verdict.place, records, strict=True)])),
        "time": float(np.mean([p == r["time_of_day"] for p, r in zip(verdict.time, records, strict=True)])),
        "weather": float(np.mean([p == r["weather"] for p, r in zip(verdict.weather, records, strict=True)])),
        "style": float(np.mean([p == r["style"] for p, r in zip(verdict.style, records, strict=True)])),
        "shot_size": float(
            np.mean([p == r["shot_size"] for p, r in zip(verdict.shot_size, records, strict=True)])
        ),
        "variant": float(np.mean([p == t["variant"] for p, t in zip(verdict.variant, truth, strict=True)])),
    }
    present = np.stack([t["presence"] for t in truth]) > 0.5  # (N, K)
    result["lt"] = float((verdict.found & present).sum() / max(present.sum(), 1))
    result["lt_precision"] = float((verdict.found & present).sum() / max(verdict.found.sum(), 1))
    result["presence_auc"] = presence_auc(verdict.presence, present)
    result["identities"] = len(c.identities)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def presence_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of scores for labels (Mann-Whitney, ties counted half)."""
    scores, labels = scores.ravel(), labels.ravel().astype(bool)
    positives, negatives = scores[labels], scores[~labels]
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positives, negatives]))  # ties get their average rank
    rank_sum = ranks[: len(positives)].sum()
    return float((rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))
