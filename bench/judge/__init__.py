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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy.stats import rankdata

from bench.heldout import cache_root, world_fingerprint
from bench.judge.data import labels_of
from bench.judge.model import JudgeConfig, JudgeNet
from bench.judge.train import META_FILE, WEIGHTS_FILE, Recipe, load_model, predict_logits, train

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
        return cls(*load_model(folder), folder)

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


@dataclass
class FrameScores:
    """Per evaluated keyframe: numerator and denominator of every ratio metric, presence scores."""

    numerators: dict[str, np.ndarray]  # metric -> (N,)
    denominators: dict[str, np.ndarray]  # metric -> (N,)
    presence: np.ndarray  # (N, K) judge logits
    named: np.ndarray  # (N, K) bool: the script names identity k in frame n
    place: np.ndarray  # (N,) the judge's place
    variant: np.ndarray  # (N,) the judge's variant

    def value(self, metric: str, index: np.ndarray | None = None) -> float | None:
        index = np.arange(len(self.place)) if index is None else index
        if metric == "presence_auc":
            value = presence_auc(self.presence[index], self.named[index])
            return None if not np.isfinite(value) else value
        den = self.denominators[metric][index].sum()
        return None if den == 0 else float(self.numerators[metric][index].sum() / den)


def judge_frames(judge: Judge, images: Sequence[Image.Image], records: Sequence[dict]) -> FrameScores:
    """What the judge reads in `images`, scored against the ground-truth `records`."""
    verdict = judge.read(list(images))
    truth = [labels_of(r, judge.config) for r in records]
    named = np.stack([t["presence"] for t in truth]) > 0.5  # (N, K)
    unnamed = np.array([not r.get("style_named", True) for r in records], dtype=float)
    ones = np.ones(len(records))
    correct = {
        "place": verdict.place == np.array([r["place"] for r in records]),
        "time": verdict.time == np.array([r["time_of_day"] for r in records]),
        "weather": verdict.weather == np.array([r["weather"] for r in records]),
        "style": verdict.style == np.array([r["style"] for r in records]),
        "shot_size": verdict.shot_size == np.array([r["shot_size"] for r in records]),
        "variant": verdict.variant == np.array([t["variant"] for t in truth]),
    }
    numerators = {k: v.astype(float) for k, v in correct.items()}
    denominators = {k: ones for k in correct}
    numerators["style_unnamed"] = correct["style"] * unnamed
    denominators["style_unnamed"] = unnamed
    hits = (verdict.found & named).sum(1).astype(float)
    numerators["lt"], denominators["lt"] = hits, named.sum(1).astype(float)
    numerators["lt_precision"], denominators["lt_precision"] = hits, verdict.found.sum(1).astype(float)
    return FrameScores(numerators, denominators, verdict.presence, named, verdict.place, verdict.variant)


def score_frames(images: list[Image.Image], records: list[dict], judge: Judge | None = None) -> dict:
    """The judge's accuracies on `images` against their ground-truth `records`.

    place / time / weather / style / shot_size / variant: accuracy; lt: share of (frame,
    character present in the record) pairs the judge finds; lt_precision: share of the
    judge's findings that are right; presence_auc: threshold-free (all frame x cast pairs).
    """
    judge = judge or load_judge()
    scores = judge_frames(judge, images, records)
    result: dict = {"frames": len(images)}
    for metric in ("place", "time", "weather", "style", "shot_size", "variant", "lt", "lt_precision"):
        value = scores.value(metric)
        result[metric] = round(0.0 if value is None else value, 4)  # nothing to find / nothing found
    auc = scores.value("presence_auc")
    result["presence_auc"] = float("nan") if auc is None else round(auc, 4)
    result["identities"] = len(judge.config.identities)
    return result


def presence_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of scores for labels (Mann-Whitney, ties counted half)."""
    scores, labels = scores.ravel(), labels.ravel().astype(bool)
    positives, negatives = scores[labels], scores[~labels]
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positives, negatives]))  # ties get their average rank
    rank_sum = ranks[: len(positives)].sum()
    return float((rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))
