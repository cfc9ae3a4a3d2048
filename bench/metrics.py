"""Storyboard quality metrics (paper 4.2; DESIGN section 6), reusable by every bench.

Dimensions:
    B  images (keyframes)
    E  the CLIP joint embedding width (image and text)
    N, C  CLIP spatial tokens and their width
    F  recogniser feature width = E + 2C (pooled embedding, mean and max over patches)
    K  labels of a linear probe (characters, or styles)
    R  reference frames

    CLIP score  100 x cosine(image embedding, plot-sentence embedding), per keyframe.
    ST          mean image cosine of adjacent keyframes (same movie) sharing a character.
    LT          over (keyframe, named character) pairs, the fraction in which an independent
                recogniser finds the character. The recogniser is a linear probe on frozen
                CLIP features, fitted on ground-truth renders only.
    FD          Frechet distance between Gaussian fits of two sets of CLIP image embeddings
                (FID's formula on CLIP features).

All CLIP quantities come from one open_clip model (the bundle's, `OpenClipEncoder`), so the
numbers of different rows of a table are comparable; they are not comparable across bundles.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from PIL import Image
from torch import nn

logger = logging.getLogger(__name__)


# -- CLIP features ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameFeatures:
    """CLIP features of B images."""

    embeddings: torch.Tensor  # (B, E) unit-length image embeddings
    recogniser: torch.Tensor  # (B, F) pooled embedding ; mean ; max over patch tokens

    def __len__(self) -> int:
        return self.embeddings.shape[0]

    def subset(self, index: Sequence[int]) -> FrameFeatures:
        index = torch.as_tensor(list(index), dtype=torch.long)
        return FrameFeatures(self.embeddings[index], self.recogniser[index])

    @staticmethod
    def concat(parts: Sequence[FrameFeatures]) -> FrameFeatures:
        return FrameFeatures(
            torch.cat([p.embeddings for p in parts]), torch.cat([p.recogniser for p in parts])
        )


@torch.no_grad()
def frame_features(clip, images: Sequence[Image.Image], *, batch_size: int = 32) -> FrameFeatures:
    """CLIP features of PIL images with `clip`, an `core.encoders.OpenClipEncoder`.

    The recogniser reads the patch tokens as well as the pooled embedding: max-pooling over
    patches keeps a small character of a wide shot visible to a linear probe, where the pooled
    embedding is dominated by the scenery.
    """
    if len(images) == 0:
        raise ValueError("No images were given to measure; pass at least one keyframe.")
    embeddings, recogniser = [], []
    for i in range(0, len(images), batch_size):
        pixels = clip.to_pixels(images[i : i + batch_size])
        pooled, patches = clip.encode_image_tokens(pixels)  # (b, E), (b, N, C)
        pooled = nn.functional.normalize(pooled.float(), dim=-1)
        patches = patches.float()
        embeddings.append(pooled.cpu())
        recogniser.append(torch.cat([pooled, patches.mean(1), patches.amax(1)], dim=-1).cpu())  # (b, F)
    return FrameFeatures(torch.cat(embeddings), torch.cat(recogniser))


@torch.no_grad()
def text_embeddings(clip, texts: Sequence[str], *, batch_size: int = 64) -> torch.Tensor:
    """(B, E) unit-length CLIP text embeddings of sentences."""
    if len(texts) == 0:
        raise ValueError("No sentences were given to embed; pass at least one.")
    rows = [
        clip.embed_texts(texts[i : i + batch_size]).float().cpu() for i in range(0, len(texts), batch_size)
    ]
    return torch.cat(rows)


# -- the metrics ------------------------------------------------------------------------------


def clip_scores(image_embeddings: torch.Tensor, text_embeddings: torch.Tensor) -> torch.Tensor:
    """(B,) 100 x cosine of each image with its own text; both (B, E), any length."""
    if image_embeddings.shape != text_embeddings.shape:
        raise ValueError(
            f"CLIP scores pair each image with its text, but got {tuple(image_embeddings.shape)} image and "
            f"{tuple(text_embeddings.shape)} text embeddings."
        )
    image = nn.functional.normalize(image_embeddings.float(), dim=-1)
    text = nn.functional.normalize(text_embeddings.float(), dim=-1)
    return 100.0 * (image * text).sum(-1)


def adjacent_pairs(
    characters: Sequence[Collection[Hashable]], groups: Sequence[Hashable]
) -> list[tuple[int, int]]:
    """(t, t+1) for adjacent keyframes of the same group (movie) that share a character."""
    if len(characters) != len(groups):
        raise ValueError(f"Got {len(characters)} character lists for {len(groups)} keyframes.")
    return [
        (t, t + 1)
        for t in range(len(characters) - 1)
        if groups[t] == groups[t + 1] and set(characters[t]) & set(characters[t + 1])
    ]


def short_term_consistency(
    embeddings: torch.Tensor, characters: Sequence[Collection[Hashable]], groups: Sequence[Hashable]
) -> tuple[float | None, int]:
    """ST: mean image cosine over adjacent same-movie keyframes sharing a character, and the pair count.

    embeddings (B, E) in story order; characters[t]: who the script puts in keyframe t;
    groups[t]: its movie. None when no pair qualifies.
    """
    if embeddings.shape[0] != len(characters):
        raise ValueError(f"Got {embeddings.shape[0]} embeddings for {len(characters)} keyframes.")
    pairs = adjacent_pairs(characters, groups)
    if not pairs:
        return None, 0
    unit = nn.functional.normalize(embeddings.float(), dim=-1)
    a = torch.tensor([p[0] for p in pairs])
    b = torch.tensor([p[1] for p in pairs])
    return float((unit[a] * unit[b]).sum(-1).mean()), len(pairs)


def long_term_consistency(
    found: Sequence[Collection[Hashable]],
    named: Sequence[Collection[Hashable]],
    known: Collection[Hashable] | None = None,
) -> tuple[float | None, int]:
    """LT: the fraction of (keyframe, named character) pairs in which the character was found.

    found[t]: what the recogniser finds in keyframe t; named[t]: whom the script names there.
    Characters outside `known` (the recogniser's labels) are left out: a recogniser cannot be
    asked about someone it never saw. Returns (LT or None when there is no pair, pair count).
    """
    if len(found) != len(named):
        raise ValueError(f"Got recognitions for {len(found)} keyframes but names for {len(named)}.")
    hits = pairs = 0
    for seen, asked in zip(found, named, strict=True):
        for character in set(asked):
            if known is not None and character not in known:
                continue
            pairs += 1
            hits += character in seen
    return (hits / pairs if pairs else None), pairs


def long_term_hits(
    found: Sequence[Collection[Hashable]],
    named: Sequence[Collection[Hashable]],
    known: Collection[Hashable] | None = None,
) -> np.ndarray:
    """Per keyframe (hits, pairs) of `long_term_consistency`, shape (T, 2): what LT sums."""
    if len(found) != len(named):
        raise ValueError(f"Got recognitions for {len(found)} keyframes but names for {len(named)}.")
    counts = np.zeros((len(found), 2), dtype=np.int64)
    for t, (seen, asked) in enumerate(zip(found, named, strict=True)):
        for character in set(asked):
            if known is not None and character not in known:
                continue
            counts[t, 1] += 1
            counts[t, 0] += character in seen
    return counts


def paired_bootstrap_interval(
    a: np.ndarray, b: np.ndarray, draws: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile interval of LT(a) - LT(b) when keyframes are resampled (the same draw for both).

    a, b: `long_term_hits` of two rows rendered from the same shots (so their pair counts agree).
    """
    if a.shape != b.shape or not np.array_equal(a[:, 1], b[:, 1]):
        raise ValueError("Both rows must be measured on the same keyframes and names.")
    if a[:, 1].sum() == 0:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(draws, len(a)))  # (draws, T)
    pairs = a[picks, 1].sum(axis=1)
    valid = pairs > 0
    diffs = (a[picks, 0].sum(axis=1) - b[picks, 0].sum(axis=1))[valid] / pairs[valid]
    tail = (1.0 - level) / 2.0
    return float(np.quantile(diffs, tail)), float(np.quantile(diffs, 1.0 - tail))


def bootstrap_mean_interval(
    values: Sequence[float], draws: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile interval of the mean of `values` (e.g. paired per-shot differences) when the
    items are resampled with replacement; None for fewer than two values."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(draws, array.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def false_positive_rate(
    found: Sequence[Collection[Hashable]], named: Sequence[Collection[Hashable]], labels: Collection[Hashable]
) -> float | None:
    """Over (keyframe, label) pairs where the label is NOT named, the fraction found anyway.

    The counterweight of LT: a recogniser (or a generator) that puts everyone everywhere
    scores LT 1 but a high false-positive rate.
    """
    hits = pairs = 0
    for seen, asked in zip(found, named, strict=True):
        for label in set(labels) - set(asked):
            pairs += 1
            hits += label in seen
    return hits / pairs if pairs else None


def mean_reference_cosine(embeddings: torch.Tensor, references: torch.Tensor) -> float:
    """Mean image cosine of every keyframe (B, E) to every reference frame (R, E)."""
    if embeddings.shape[0] == 0 or references.shape[0] == 0:
        raise ValueError("Both the keyframes and the reference frames must be non-empty.")
    a = nn.functional.normalize(embeddings.float(), dim=-1)
    b = nn.functional.normalize(references.float(), dim=-1)
    return float((a @ b.T).mean())


def frechet_distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor, eps: float = 1e-6) -> float:
    """FD between Gaussian fits of feature sets a (n, E) and b (m, E) (FID's formula).

    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)). With fewer samples than dimensions
    the covariances are singular; as in pytorch-fid, a small ridge is added when the matrix
    square root is not finite, and the numerically imaginary part is dropped.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"FD compares two (n, E) feature sets of one width; got {a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"FD needs at least 2 samples per set to fit a covariance; got {len(a)} and {len(b)}."
        )
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        ridge = np.eye(cov_a.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    covmean = np.real(covmean)
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)  # round-off can leave a tiny negative for identical sets


# -- linear probes (the independent recognisers) --------------------------------------------


@dataclass(frozen=True)
class ProbeConfig:
    """A one-vs-rest logistic regression fitted full-batch with L-BFGS."""

    weight_decay: float = 1e-3  # L2 on the weights, per sample
    max_iter: int = 200
    threshold: float = 0.5  # probability above which a label counts as found


class LinearProbe:
    """One logistic output per label on standardised features: (B, F) -> (B, K) probabilities.

    Used as a multi-label recogniser (`recognise`: every label above the threshold, e.g. all
    characters in a frame) and as a classifier (`classify`: the most probable label, e.g.
    the style). Positives are up-weighted per label (neg/pos) so rare characters count.
    """

    def __init__(self, labels: Sequence[Hashable], mean, std, linear: nn.Linear, config: ProbeConfig):
        self.labels = list(labels)
        self.mean = mean
        self.std = std
        self.linear = linear
        self.config = config

    @classmethod
    def fit(
        cls,
        features: torch.Tensor,
        present: Sequence[Collection[Hashable]],
        *,
        labels: Sequence[Hashable] | None = None,
        config: ProbeConfig | None = None,
    ) -> LinearProbe:
        """Fit on features (B, F) where present[i] holds the labels true for sample i."""
        config = config or ProbeConfig()
        if features.ndim != 2 or features.shape[0] != len(present):
            raise ValueError(
                f"A probe needs one label set per feature row; got features {tuple(features.shape)} "
                f"and {len(present)} label sets."
            )
        if features.shape[0] < 2:
            raise ValueError("A probe needs at least 2 training samples.")
        labels = sorted({x for row in present for x in row}, key=str) if labels is None else list(labels)
        if not labels:
            raise ValueError("The probe's training samples carry no label at all; nothing can be learned.")
        x = features.double()
        mean = x.mean(0)
        std = x.std(0).clamp_min(1e-6)
        x = (x - mean) / std
        column = {label: k for k, label in enumerate(labels)}
        y = torch.zeros(x.shape[0], len(labels), dtype=torch.float64)
        for i, row in enumerate(present):
            for label in row:
                if label in column:
                    y[i, column[label]] = 1.0
        positives = y.sum(0)
        pos_weight = ((y.shape[0] - positives) / positives.clamp_min(1.0)).clamp(1.0, 100.0)

        # Zero initialisation and full-batch L-BFGS: the fit is deterministic.
        linear = nn.Linear(x.shape[1], len(labels)).double()
        nn.init.zeros_(linear.weight)
        nn.init.zeros_(linear.bias)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        optimiser = torch.optim.LBFGS(
            linear.parameters(), max_iter=config.max_iter, line_search_fn="strong_wolfe"
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = loss_fn(linear(x), y) + config.weight_decay * linear.weight.pow(2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            optimiser.step(closure)
        linear.requires_grad_(False)
        return cls(labels, mean, std, linear, config)

    @torch.no_grad()
    def probabilities(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) -> (B, K) per-label probabilities."""
        if features.ndim != 2 or features.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"The probe reads features of width {self.mean.shape[0]}; got {tuple(features.shape)}."
            )
        x = (features.double() - self.mean) / self.std
        return torch.sigmoid(self.linear(x)).float()

    def recognise(self, features: torch.Tensor) -> list[set]:
        """The labels found in each sample (probability above the threshold)."""
        found = self.probabilities(features) >= self.config.threshold
        return [{self.labels[k] for k in row.nonzero().flatten().tolist()} for row in found]

    def classify(self, features: torch.Tensor) -> list:
        """The most probable label of each sample."""
        return [self.labels[k] for k in self.probabilities(features).argmax(-1).tolist()]

    def evaluate(self, features: torch.Tensor, present: Sequence[Collection[Hashable]]) -> dict:
        """Multi-label accuracy figures on samples with known labels (held-out ground truth)."""
        found = self.recognise(features)
        recall, pairs = long_term_consistency(found, present, known=self.labels)
        false_positives = false_positive_rate(found, present, self.labels)
        exact = [seen == (set(truth) & set(self.labels)) for seen, truth in zip(found, present, strict=True)]
        decisions = [
            (label in seen) == (label in truth)
            for seen, truth in zip(found, present, strict=True)
            for label in self.labels
        ]
        return {
            "samples": len(found),
            "recall": _round(recall),
            "pairs": pairs,
            "false_positive_rate": _round(false_positives),
            "label_accuracy": _round(sum(decisions) / len(decisions)) if decisions else None,
            "exact_match": _round(sum(exact) / len(exact)) if exact else None,
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)
