"""Per-movie colour grades: a fixed, global transform of every frame of a movie.

A grade is a 3x4 colour matrix (saturation, channel gains, offsets), a per-channel tone
curve and a vignette, all done by Pillow's C paths (about 0.3 ms per frame). Because the
transform is the same for every frame, a model can learn it from a few reference frames
of the movie (the paper's few-shot style conditioning, 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops

_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Style:
    key: str
    description: str  # one sentence, used as the script's style text
    saturation: float = 1.0
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lift: tuple[float, float, float] = (0.0, 0.0, 0.0)  # output level of black per channel
    gain: tuple[float, float, float] = (255.0, 255.0, 255.0)  # output level of white per channel
    contrast: float = 0.0  # strength of an S-curve, 0 = linear
    gamma: float = 1.0
    vignette: float = 0.0  # darkening at the corners, 0..1
    monochrome: bool = False

    def matrix(self) -> tuple[float, ...]:
        """The 3x4 affine colour matrix Pillow's convert() takes, row by row."""
        s = 0.0 if self.monochrome else self.saturation
        rows = []
        for channel in range(3):
            row = [(1 - s) * _LUMA[k] + (s if k == channel else 0.0) for k in range(3)]
            rows.extend([v * self.gains[channel] for v in row] + [self.offsets[channel]])
        return tuple(rows)


STYLES: dict[str, Style] = {
    style.key: style
    for style in (
        Style("natural", "Natural colour with a neutral grade.", contrast=0.1),
        Style(
            "pastel",
            "Soft pastel colours with lifted shadows.",
            saturation=0.55,
            lift=(70.0, 62.0, 72.0),
            gain=(252.0, 246.0, 250.0),
            gamma=0.9,
        ),
        Style(
            "noir",
            "Black and white film noir with hard contrast.",
            monochrome=True,
            contrast=0.75,
            gamma=1.12,
            vignette=0.5,
        ),
        Style(
            "warm-film",
            "Warm faded film with golden tones.",
            saturation=0.85,
            gains=(1.08, 1.0, 0.8),
            offsets=(10.0, 4.0, 0.0),
            lift=(28.0, 20.0, 10.0),
            gain=(252.0, 240.0, 214.0),
            vignette=0.3,
        ),
        Style(
            "neon",
            "Saturated neon colours with magenta shadows.",
            saturation=1.7,
            lift=(40.0, 0.0, 60.0),
            gain=(255.0, 240.0, 255.0),
            contrast=0.45,
            gamma=1.1,
            vignette=0.25,
        ),
        Style(
            "cool-teal",
            "A cool teal grade with blue shadows.",
            saturation=0.8,
            gains=(0.8, 1.02, 1.1),
            offsets=(0.0, 8.0, 16.0),
            lift=(0.0, 18.0, 30.0),
            contrast=0.2,
        ),
        Style(
            "sepia",
            "Old sepia photograph tones.",
            monochrome=True,
            lift=(42.0, 26.0, 12.0),
            gain=(250.0, 226.0, 178.0),
            contrast=0.15,
            vignette=0.35,
        ),
    )
}


def get_style(key: str) -> Style:
    try:
        return STYLES[key]
    except KeyError:
        raise ValueError(f"unknown style {key!r}; use one of {', '.join(STYLES)}") from None


@lru_cache(maxsize=16)
def _tone_curve(key: str) -> list[int]:
    """The 768-entry lookup table (R, G, B) of a style's tone curve."""
    style = STYLES[key]
    x = np.linspace(0.0, 1.0, 256)
    if style.gamma != 1.0:
        x = x**style.gamma
    if style.contrast:
        s_curve = x * x * (3 - 2 * x)  # smoothstep: darker shadows, brighter highlights
        x = x + style.contrast * (s_curve - x)
    table = []
    for channel in range(3):
        lo, hi = style.lift[channel], style.gain[channel]
        table.extend(np.clip(lo + (hi - lo) * x, 0, 255).round().astype(int).tolist())
    return table


@lru_cache(maxsize=16)
def _vignette(strength: float, width: int, height: int) -> Image.Image:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = (xs - (width - 1) / 2) / (width / 2)
    dy = (ys - (height - 1) / 2) / (height / 2)
    r2 = (dx * dx + dy * dy) / 2
    mask = 1.0 - strength * np.clip(r2, 0, 1) ** 1.3
    grey = (mask * 255).round().astype(np.uint8)
    return Image.fromarray(np.dstack([grey, grey, grey]))


def apply_style(image: Image.Image, key: str) -> Image.Image:
    """Grade an RGB frame with the style called `key`."""
    style = get_style(key)
    neutral = style.saturation == 1.0 and style.gains == (1.0, 1.0, 1.0) and style.offsets == (0.0, 0.0, 0.0)
    out = image if neutral and not style.monochrome else image.convert("RGB", style.matrix())
    out = out.point(_tone_curve(key))
    if style.vignette:
        out = ImageChops.multiply(out, _vignette(style.vignette, *out.size))
    return out
