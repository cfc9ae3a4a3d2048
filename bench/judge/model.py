"""The judge: a small CNN that reads a toy-cinema keyframe the way a viewer would.

Input: (B, 3, H, W) frames in [0, 1], H x W = 128 x 224 (the toy world's keyframe size).
Outputs (`JudgeOutput`), all logits:

    place        (B, P)        P = 12 places
    time         (B, 4)        dawn / day / sunset / night
    weather      (B, 4)
    style        (B, S)        S = 7 grades
    shot_size    (B, 6)
    variant      (B, V)        V = 3 per-movie looks of a place
    presence     (B, K)        K held-out identities (multi-label): max over the cell map
    cells        (B, K+1, h, w) per-cell identity (0 = nobody), h x w = H/8 x W/8
    largest      (B, K+1)      the identity with the biggest box (0 = nobody in frame)

Why a cell map: a character at an extreme-wide shot covers a few dozen pixels, and a global
average pool dilutes it into the backdrop. Training supervises every cell with the identity
whose body box covers it (ground-truth boxes, training only) and the frame-level presence is
the max over cells, so at test time the judge reads the whole frame and needs no boxes.

It shares nothing with any model bundle: trained from scratch, only on ground-truth renders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class JudgeConfig:
    places: tuple[str, ...]
    times: tuple[str, ...]
    weathers: tuple[str, ...]
    styles: tuple[str, ...]
    shot_sizes: tuple[str, ...]
    variants: int
    identities: tuple[str, ...]  # identity ids of the held-out cast, in head order
    widths: tuple[int, ...] = (32, 64, 96, 160)  # per stage; stage k runs at stride 4 * 2**k
    blocks: tuple[int, ...] = (1, 2, 2, 1)
    cell_stage: int = 1  # the stage whose feature map (stride 8) carries the identity cells
    dropout: float = 0.1
    height: int = 128
    width: int = 224

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> JudgeConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass
class JudgeOutput:
    place: torch.Tensor
    time: torch.Tensor
    weather: torch.Tensor
    style: torch.Tensor
    shot_size: torch.Tensor
    variant: torch.Tensor
    presence: torch.Tensor
    cells: torch.Tensor
    largest: torch.Tensor
    features: torch.Tensor = field(default=None)  # (B, C) pooled features, for identity distances


class _Block(nn.Module):
    """A residual 3x3 block (BatchNorm: the judge trains on large uniform batches)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.GELU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class JudgeNet(nn.Module):
    def __init__(self, config: JudgeConfig):
        super().__init__()
        self.config = config
        w = config.widths
        # A 4x4 patchify stem: (B, 3, H, W) -> (B, w0, H/4, W/4); small figures keep their
        # detail in the channels instead of being averaged away by early pooling.
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 4, stride=4), nn.BatchNorm2d(w[0]), nn.GELU())
        stages = []
        for k, (width, count) in enumerate(zip(w, config.blocks, strict=True)):
            layers: list[nn.Module] = []
            if k > 0:  # downsample by 2: (B, w[k-1], h, w) -> (B, w[k], h/2, w/2)
                layers += [
                    nn.Conv2d(w[k - 1], width, 2, stride=2, bias=False),
                    nn.BatchNorm2d(width),
                    nn.GELU(),
                ]
            layers += [_Block(width) for _ in range(count)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        k = len(config.identities)
        cell_width = w[config.cell_stage]
        self.cell_head = nn.Sequential(
            nn.Conv2d(cell_width + w[-1], cell_width, 1), nn.GELU(), nn.Conv2d(cell_width, k + 1, 1)
        )
        self.drop = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict(
            {
                "place": nn.Linear(w[-1], len(config.places)),
                "time": nn.Linear(w[-1], len(config.times)),
                "weather": nn.Linear(w[-1], len(config.weathers)),
                "style": nn.Linear(w[-1], len(config.styles)),
                "shot_size": nn.Linear(w[-1], len(config.shot_sizes)),
                "variant": nn.Linear(w[-1], config.variants),
                "largest": nn.Linear(w[-1], k + 1),
            }
        )

    def forward(self, images: torch.Tensor) -> JudgeOutput:
        x = self.stem(images)  # (B, w0, H/4, W/4)
        cell_features = None
        for k, stage in enumerate(self.stages):
            x = stage(x)
            if k == self.config.cell_stage:
                cell_features = x  # (B, wc, H/8, W/8)
        pooled = x.mean(dim=(2, 3))  # (B, wL)
        # Context for the cells: the frame's global features broadcast to every cell.
        context = pooled[:, :, None, None].expand(-1, -1, *cell_features.shape[2:])
        cells = self.cell_head(torch.cat([cell_features, context], dim=1))  # (B, K+1, H/8, W/8)
        # Presence of identity k: its best cell's logit against "nobody" there.
        diff = cells[:, 1:] - cells[:, :1]  # (B, K, h, w)
        presence = diff.flatten(2).amax(dim=2)  # (B, K)
        h = self.drop(pooled)
        out = {name: head(h) for name, head in self.heads.items()}
        return JudgeOutput(presence=presence, cells=cells, features=pooled, **out)
