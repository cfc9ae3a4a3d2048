"""The judge's training data: ground-truth renders of the held-out cast, as labelled tensors.

Frames come from the judge's own movies (`bench.heldout.judge_movie_seeds`): the held-out
identities in movies that no bench evaluates. Every frame carries its labels as integer
indices into the judge config's vocabularies, plus the cell map of who covers which part
of the frame (from the ground-truth body boxes; used only as a training target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from bench.heldout import held_out_identities, judge_movie_seeds
from bench.judge.model import JudgeConfig
from train.data.world import (
    PLACES,
    SHOT_SIZES,
    STYLES,
    TIMES_OF_DAY,
    WEATHERS,
    generate_movie,
    render_keyframe,
)
from train.data.world.movie import PLACE_VARIANTS

CELL_STRIDE = 8


def default_config() -> JudgeConfig:
    """Vocabularies of today's world and the held-out cast."""
    return JudgeConfig(
        places=tuple(PLACES),
        times=tuple(TIMES_OF_DAY),
        weathers=tuple(WEATHERS),
        styles=tuple(STYLES),
        shot_sizes=tuple(SHOT_SIZES),
        variants=PLACE_VARIANTS,
        identities=tuple(i.identity_id for i in held_out_identities()),
    )


@dataclass
class LabelledFrames:
    """N frames and their labels; `images` uint8 (N, H, W, 3), the rest integer tensors."""

    images: torch.Tensor  # (N, H, W, 3) uint8
    place: torch.Tensor  # (N,)
    time: torch.Tensor
    weather: torch.Tensor
    style: torch.Tensor
    shot_size: torch.Tensor
    variant: torch.Tensor
    presence: torch.Tensor  # (N, K) float 0/1
    largest: torch.Tensor  # (N,) 0 = nobody, k + 1 = identity k
    cells: torch.Tensor  # (N, H/8, W/8) int64, 0 = nobody

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: torch.Tensor) -> LabelledFrames:
        return LabelledFrames(**{k: v[index] for k, v in vars(self).items()})


def labels_of(record: dict, config: JudgeConfig) -> dict:
    """One ground-truth record (a ground_truth.jsonl line) as label indices."""
    k = {identity: n for n, identity in enumerate(config.identities)}
    h, w = config.height // CELL_STRIDE, config.width // CELL_STRIDE
    presence = np.zeros(len(config.identities), np.float32)
    cells = np.zeros((h, w), np.int64)
    largest, largest_area = 0, 0.0
    # Paint the smaller (farther) boxes first, so the nearest character owns shared cells.
    characters = sorted(
        record["characters"], key=lambda c: (c["box"][2] - c["box"][0]) * (c["box"][3] - c["box"][1])
    )
    for character in characters:
        n = k.get(character["identity"])
        if n is None:
            continue
        presence[n] = 1.0
        x0, y0, x1, y1 = character["box"]
        area = (x1 - x0) * (y1 - y0)
        if area > largest_area:
            largest, largest_area = n + 1, area
        cx0, cy0 = int(x0 // CELL_STRIDE), int(y0 // CELL_STRIDE)
        cx1, cy1 = max(cx0 + 1, int(np.ceil(x1 / CELL_STRIDE))), max(cy0 + 1, int(np.ceil(y1 / CELL_STRIDE)))
        cells[max(cy0, 0) : min(cy1, h), max(cx0, 0) : min(cx1, w)] = n + 1
    return {
        "place": config.places.index(record["place"]),
        "time": config.times.index(record["time_of_day"]),
        "weather": config.weathers.index(record["weather"]),
        "style": config.styles.index(record["style"]),
        "shot_size": config.shot_sizes.index(record["shot_size"]),
        "variant": int(record.get("variant", 0)),
        "presence": presence,
        "largest": largest,
        "cells": cells,
    }


def stack(images: list[Image.Image], records: list[dict], config: JudgeConfig) -> LabelledFrames:
    """Frames and their ground-truth records as one `LabelledFrames`."""
    labels = [labels_of(r, config) for r in records]
    arrays = np.stack([np.asarray(image.convert("RGB"), dtype=np.uint8) for image in images])
    return LabelledFrames(
        images=torch.from_numpy(arrays),
        **{
            key: torch.as_tensor(np.stack([lab[key] for lab in labels]))
            for key in (
                "place",
                "time",
                "weather",
                "style",
                "shot_size",
                "variant",
                "presence",
                "largest",
                "cells",
            )
        },
    )


def render_movies(seeds: list[int], shots: int, config: JudgeConfig) -> LabelledFrames:
    """Every keyframe of one `shots`-long movie per seed, cast from the held-out identities."""
    cast = held_out_identities()
    images, records = [], []
    for seed in seeds:
        movie = generate_movie(seed, cast, num_shots=shots)
        for spec, record in zip(movie.frames, movie.ground_truth, strict=True):
            images.append(render_keyframe(spec)[0])
            records.append(record)
    return stack(images, records, config)


def judge_frames(movies: int, shots: int, config: JudgeConfig, offset: int = 0) -> LabelledFrames:
    """The judge's frames: `movies` of its own movies from position `offset` of its seed stream."""
    return render_movies(judge_movie_seeds(movies, offset), shots, config)
