"""Time of day and weather: the light every colour is painted under, the sky, and overlays.

An `Atmosphere` turns a daylight colour into the colour seen at dawn, sunset or night, in
rain, fog or snow. Scenery goes through `paint` (with a distance for aerial perspective and
fog); characters go through `paint_figure`, which is lit a little brighter than the scenery
(a key light), so the cast stays recognisable at night.

Overlays (rain streaks, snow flakes, a fog veil) are drawn once per (weather, time, size)
as RGBA tiles and scrolled per frame, so weather costs one alpha-composite per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from train.data.world.colour import RGB, clamp, mix

TIMES_OF_DAY = ("dawn", "day", "sunset", "night")
WEATHERS = ("clear", "rain", "fog", "snow")

# (sky top, sky at horizon, scenery light multiplier, scenery light offset,
#  figure light multiplier, figure light offset)
_TIME_LIGHT: dict[str, tuple[RGB, RGB, tuple[float, float, float], RGB, tuple[float, float, float], RGB]] = {
    "day": ((70, 140, 226), (178, 216, 246), (1.0, 1.0, 1.0), (0, 0, 0), (1.0, 1.0, 1.0), (0, 0, 0)),
    "dawn": ((92, 104, 176), (252, 184, 168), (0.9, 0.84, 0.9), (16, 6, 12), (0.97, 0.92, 0.95), (10, 4, 8)),
    "sunset": ((64, 46, 122), (255, 146, 70), (1.0, 0.76, 0.6), (20, 4, 0), (1.02, 0.86, 0.74), (14, 4, 0)),
    "night": ((6, 10, 32), (28, 40, 84), (0.34, 0.4, 0.62), (0, 2, 12), (0.7, 0.72, 0.86), (10, 10, 18)),
}
# Indoors the room lamps, not the sky, light the scene; the sky only shows through windows.
# (scenery multiplier, scenery offset, figure multiplier, figure offset): at night the room
# falls dark and bluish around warm lamp light, which keeps night apart from sunset.
_INDOOR_LIGHT: dict[str, tuple[tuple[float, float, float], RGB, tuple[float, float, float], RGB]] = {
    "day": ((1.0, 1.0, 1.0), (0, 0, 0), (1.0, 1.0, 1.0), (0, 0, 0)),
    "dawn": ((0.92, 0.86, 0.92), (8, 2, 8), (0.96, 0.9, 0.94), (6, 2, 6)),
    "sunset": ((1.0, 0.84, 0.68), (14, 4, 0), (1.0, 0.88, 0.74), (10, 4, 0)),
    "night": ((0.5, 0.48, 0.58), (4, 4, 10), (0.84, 0.76, 0.66), (6, 4, 4)),
}
_OVERCAST: dict[str, RGB] = {"rain": (116, 124, 136), "fog": (198, 202, 206), "snow": (214, 218, 226)}


@dataclass(frozen=True)
class Atmosphere:
    """The light of one scene; build it with `atmosphere(time_of_day, weather, indoor)`."""

    time_of_day: str
    weather: str
    indoor: bool
    sky_top: RGB
    sky_horizon: RGB
    mul: tuple[float, float, float]
    add: RGB
    figure_mul: tuple[float, float, float]
    figure_add: RGB
    fog_colour: RGB
    fog_strength: float
    desaturate: float

    @property
    def is_dark(self) -> bool:
        return self.time_of_day == "night"

    def paint(self, c: RGB, distance: float = 0.0) -> RGB:
        """A daylight scenery colour under this light; distance in [0, 1] adds haze/fog."""
        r = c[0] * self.mul[0] + self.add[0]
        g = c[1] * self.mul[1] + self.add[1]
        b = c[2] * self.mul[2] + self.add[2]
        if self.desaturate:
            grey = 0.299 * r + 0.587 * g + 0.114 * b
            k = self.desaturate
            r, g, b = r + (grey - r) * k, g + (grey - g) * k, b + (grey - b) * k
        out = (clamp(r), clamp(g), clamp(b))
        haze = self.fog_strength * distance
        return mix(out, self.fog_colour, haze) if haze > 0 else out

    def paint_figure(self, c: RGB) -> RGB:
        """A character colour under this light (brighter than scenery: the key light)."""
        r = c[0] * self.figure_mul[0] + self.figure_add[0]
        g = c[1] * self.figure_mul[1] + self.figure_add[1]
        b = c[2] * self.figure_mul[2] + self.figure_add[2]
        if self.desaturate:
            grey = 0.299 * r + 0.587 * g + 0.114 * b
            k = self.desaturate * 0.5
            r, g, b = r + (grey - r) * k, g + (grey - g) * k, b + (grey - b) * k
        return (clamp(r), clamp(g), clamp(b))

    def snowy(self, ground: RGB) -> RGB:
        """Ground colour under a layer of fresh snow when it snows (otherwise unchanged)."""
        return mix(ground, (236, 240, 248), 0.7) if self.weather == "snow" and not self.indoor else ground


@lru_cache(maxsize=64)
def atmosphere(time_of_day: str, weather: str, indoor: bool) -> Atmosphere:
    """The light for a time of day and weather, outdoors or indoors."""
    if time_of_day not in _TIME_LIGHT:
        raise ValueError(f"unknown time of day {time_of_day!r}; use one of {', '.join(TIMES_OF_DAY)}")
    if weather not in WEATHERS:
        raise ValueError(f"unknown weather {weather!r}; use one of {', '.join(WEATHERS)}")
    sky_top, sky_horizon, mul, add, figure_mul, figure_add = _TIME_LIGHT[time_of_day]
    desaturate = 0.0
    fog_strength = 0.18 if not indoor else 0.0  # aerial perspective: far things fade a little
    night = time_of_day == "night"
    if weather != "clear":
        grey = _OVERCAST[weather]
        # Clouds hide the sun: the sky goes grey, keeping a hint of the time-of-day colour.
        sky_top = mix(sky_top, grey if not night else (30, 34, 44), 0.78)
        sky_horizon = mix(sky_horizon, grey if not night else (44, 48, 60), 0.78)
        if not indoor:
            dim = {"rain": 0.8, "fog": 0.95, "snow": 0.96}[weather]
            mul = (mul[0] * dim, mul[1] * dim, mul[2] * dim)
            desaturate = {"rain": 0.3, "fog": 0.35, "snow": 0.2}[weather]
            fog_strength = {"rain": 0.35, "fog": 0.85, "snow": 0.4}[weather]
    if indoor:
        mul, add, figure_mul, figure_add = _INDOOR_LIGHT[time_of_day]
    fog_base = {"fog": (200, 204, 208), "snow": (220, 224, 232)}.get(weather, sky_horizon)
    fog_colour = mix(fog_base, sky_horizon, 0.5) if not night else mix(fog_base, (40, 46, 64), 0.8)
    return Atmosphere(
        time_of_day=time_of_day,
        weather=weather,
        indoor=indoor,
        sky_top=sky_top,
        sky_horizon=sky_horizon,
        mul=mul,
        add=add,
        figure_mul=figure_mul,
        figure_add=figure_add,
        fog_colour=fog_colour,
        fog_strength=fog_strength,
        desaturate=desaturate,
    )


def sky_gradient(top: RGB, bottom: RGB, width: int, height: int) -> Image.Image:
    """A vertical gradient image, top colour at row 0 and bottom colour at the last row."""
    t = np.linspace(0.0, 1.0, max(height, 1), dtype=np.float32)[:, None]
    column = np.asarray(top, np.float32)[None, :] * (1 - t) + np.asarray(bottom, np.float32)[None, :] * t
    # Build one column and let Pillow repeat it: filling the full array in numpy costs 10x more.
    column = np.ascontiguousarray((column + 0.5).astype(np.uint8)[:, None, :])
    return Image.fromarray(column).resize((width, height), Image.Resampling.NEAREST)


@lru_cache(maxsize=16)
def _overlay_tile(weather: str, time_of_day: str, width: int, height: int) -> Image.Image:
    """An RGBA weather tile twice the frame height, so frames scroll through it seamlessly."""
    supersample = 2
    w, h = width * supersample, 2 * height * supersample
    tile = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    # A fixed seed: the tile is part of the world's look, not of any one movie.
    rng = np.random.default_rng(1234 + WEATHERS.index(weather))
    night = time_of_day == "night"
    if weather == "rain":
        colour = (200, 210, 230) if not night else (120, 130, 160)
        for _ in range(int(0.005 * w * h / supersample**2)):
            x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            length = float(rng.uniform(8, 16)) * supersample
            alpha = int(rng.uniform(60, 120))
            draw.line([(x, y), (x - 0.22 * length, y + length)], fill=(*colour, alpha), width=supersample)
            draw.line(
                [(x, y + h), (x - 0.22 * length, y + length + h)], fill=(*colour, alpha), width=supersample
            )
            draw.line(
                [(x, y - h), (x - 0.22 * length, y + length - h)], fill=(*colour, alpha), width=supersample
            )
    elif weather == "snow":
        colour = (255, 255, 255) if not night else (200, 206, 224)
        for _ in range(int(0.005 * w * h / supersample**2)):
            x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            r = float(rng.uniform(0.5, 1.3)) * supersample
            alpha = int(rng.uniform(150, 240))
            for dy in (-h, 0, h):
                draw.ellipse((x - r, y - r + dy, x + r, y + r + dy), fill=(*colour, alpha))
    elif weather == "fog":
        # A veil that thickens towards the ground, with soft horizontal banks.
        rows = np.linspace(0.0, 1.0, h // 2, dtype=np.float32)
        banks = 0.5 + 0.5 * np.sin(rows * np.pi * 6.0)
        alpha = (40 + 40 * banks).astype(np.uint8)
        alpha = np.concatenate([alpha, alpha])[:, None].repeat(w, axis=1)
        colour = (206, 210, 214) if not night else (60, 66, 84)
        rgb = np.broadcast_to(np.asarray(colour, np.uint8), (h, w, 3))
        tile = Image.fromarray(np.dstack([rgb, alpha]))
    return tile.reduce(supersample)


def apply_weather(image: Image.Image, weather: str, time_of_day: str, offset: float) -> Image.Image:
    """Composite the weather over an RGB frame; `offset` in [0, 1) scrolls the tile (motion)."""
    if weather == "clear":
        return image
    width, height = image.size
    tile = _overlay_tile(weather, time_of_day, width, height)
    speed = {"rain": 1.0, "snow": 0.25, "fog": 0.05}[weather]
    top = int((offset * speed % 1.0) * height)
    # Rain falls: later offsets show the tile further up, so the streaks move down.
    window = tile.crop((0, height - top, width, 2 * height - top))
    base = image.convert("RGBA")
    base.alpha_composite(window)
    return base.convert("RGB")
