"""Backdrops: the scenery of each place under a time of day, weather and camera angle.

A backdrop is drawn once on a supersampled canvas wider than the frame (so the camera can
pan) and cached by the renderer. Everything stands on the ground plane of
`train.data.world.camera.Ground`: an object `d` metres away stands on row `ground.y(d)` and
is `ground.ppm(d)` pixels per metre tall, so the same place looks consistent from a high or
a low angle. Colours are daylight colours passed through the scene's `Atmosphere`, with the
distance driving haze and fog. `variant` is a per-movie look of a place that no script
names: it moves things around (a different corner of the same beach) and tints the large
surfaces - ground, sea, walls and floors - towards `VARIANT_TINTS`; the recognisable
landmarks of each place always stay in view.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from train.data.world.atmosphere import Atmosphere, atmosphere, sky_gradient
from train.data.world.camera import (
    BACKDROP_MARGIN,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    SUPERSAMPLE,
    CameraRig,
    Ground,
    rig,
)
from train.data.world.colour import RGB, mix, outline_of, shade
from train.data.world.places import get_place

FAR_M = 60.0  # distance at which haze reaches its full strength
# variant -> (tint, strength) mixed into the large surfaces; variant 0 keeps the place's own
# colours. Magenta and teal, so no variant looks like a time of day's warm or blue light.
VARIANT_TINTS: tuple[tuple[RGB, float], ...] = (
    ((0, 0, 0), 0.0),
    ((196, 70, 150), 0.38),
    ((30, 168, 150), 0.38),
)


class _Canvas:
    """The backdrop being drawn, with the ground geometry and the scene's light."""

    def __init__(self, atm: Atmosphere, rig: CameraRig, variant: int, place_key: str):
        self.frame_w = FRAME_WIDTH * SUPERSAMPLE
        self.width = round(self.frame_w * (1 + 2 * BACKDROP_MARGIN))
        self.height = FRAME_HEIGHT * SUPERSAMPLE
        self.x0 = BACKDROP_MARGIN * self.frame_w
        self.ground = Ground(rig.horizon * self.height, self.height, rig.height_m)
        self.hy = self.ground.horizon_px
        self.atm = atm
        # Start from the horizon colour so no seam between sky and ground can show black.
        self.image = Image.new("RGB", (self.width, self.height), atm.sky_horizon)
        self.draw = ImageDraw.Draw(self.image, "RGBA")
        # String seeds hash stably (random.Random hashes str with SHA-512, not hash()).
        self.rng = random.Random(f"{place_key}/{variant}")
        self.ink = max(1, SUPERSAMPLE)
        if not 0 <= variant < len(VARIANT_TINTS):
            raise ValueError(f"unknown place variant {variant}; use 0-{len(VARIANT_TINTS) - 1}")
        self.tint, self.tint_strength = VARIANT_TINTS[variant]

    # -- geometry ------------------------------------------------------------------------

    def x(self, frame_fraction: float) -> float:
        """Canvas x of a horizontal position given in frame widths (0..1 is the centre view)."""
        return self.x0 + frame_fraction * self.frame_w

    def y(self, distance_m: float) -> float:
        return self.ground.y(distance_m)

    def ppm(self, distance_m: float) -> float:
        return self.ground.ppm(distance_m)

    def nearest_visible(self) -> float:
        """The distance of the bottom row of the canvas."""
        return self.ground.distance_at(self.height)

    # -- colour --------------------------------------------------------------------------

    def paint(self, c: RGB, distance_m: float = 0.0) -> RGB:
        return self.atm.paint(c, min(1.0, distance_m / FAR_M))

    def surface(self, c: RGB) -> RGB:
        """A large surface's daylight colour in this variant's look (before the light)."""
        return mix(c, self.tint, self.tint_strength) if self.tint_strength else c

    def shape(self, kind: str, xy, c: RGB, distance_m: float = 0.0, ink: bool = True, **kw) -> None:
        """Draw an ellipse/polygon/rectangle/rounded_rectangle in painted colour with an outline."""
        colour = self.paint(c, distance_m)
        outline = outline_of(colour) if ink else None
        getattr(self.draw, kind)(xy, fill=colour, outline=outline, width=self.ink if ink else 0, **kw)

    def gradient(self, box: tuple[float, float, float, float], top: RGB, bottom: RGB) -> None:
        x0, y0, x1, y1 = (round(v) for v in box)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.width), min(y1, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        self.image.paste(sky_gradient(top, bottom, x1 - x0, y1 - y0), (x0, y0))

    def glow(self, x: float, y: float, radius: float, colour: RGB, strength: int = 90) -> None:
        """A soft light halo (night lamps, windows): stacked translucent discs."""
        for k in range(5, 0, -1):
            r = radius * k / 5
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, strength // 5))


# --- shared pieces ------------------------------------------------------------------------


def _sky(c: _Canvas, sun_x: float = 0.72) -> None:
    """Sky gradient, sun or moon and stars, clouds. Only what is above the horizon shows."""
    atm = c.atm
    if c.hy <= 0:
        return
    c.gradient((0, 0, c.width, c.hy + 2), atm.sky_top, atm.sky_horizon)
    clear = atm.weather == "clear"
    s = SUPERSAMPLE
    if clear and atm.time_of_day == "night":
        for _ in range(90):
            x, y = c.rng.uniform(0, c.width), c.rng.uniform(0, c.hy * 0.95)
            r = c.rng.choice((0.6, 0.8, 1.1)) * s
            c.draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240, c.rng.randint(120, 230)))
        mx, my, mr = c.x(sun_x), c.hy * 0.3, 9 * s
        c.glow(mx, my, mr * 3, (200, 210, 255), 60)
        c.draw.ellipse((mx - mr, my - mr, mx + mr, my + mr), fill=(246, 244, 220))
        c.draw.ellipse(
            (mx - mr + 5 * s, my - mr - 2 * s, mx + mr + 5 * s, my + mr - 2 * s),
            fill=mix(atm.sky_top, atm.sky_horizon, 0.3),
        )
    elif clear:
        sun = {
            "day": ((255, 250, 220), 0.28, 8),
            "dawn": ((255, 220, 180), 0.85, 11),
            "sunset": ((255, 170, 70), 0.86, 14),
        }[atm.time_of_day]
        colour, height, radius = sun
        sx, sy, sr = c.x(sun_x), c.hy * height, radius * s
        c.glow(sx, sy, sr * 3.2, colour, 110)
        c.draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=colour)
    if atm.time_of_day != "night" or not clear:
        # Clouds: white puffs on clear days, heavy grey banks in bad weather.
        base = (255, 255, 255) if clear else (150, 154, 162)
        if atm.time_of_day == "sunset":
            base = mix(base, (255, 170, 150), 0.45)
        cloud = c.paint(base) if not clear else mix(base, atm.sky_horizon, 0.25)
        for _ in range(4 if clear else 9):
            x = c.rng.uniform(0, c.width)
            y = c.rng.uniform(0.12, 0.6) * c.hy
            w = c.rng.uniform(30, 60) * s
            for k in range(4):
                dx = (k - 1.5) * w * 0.28
                r = w * (0.22 if k in (1, 2) else 0.15)
                c.draw.ellipse((x + dx - r, y - r * 0.8, x + dx + r, y + r * 0.6), fill=cloud)


def _ground(c: _Canvas, top_y: float, far: RGB, near: RGB) -> None:
    atm = c.atm
    far_c = c.paint(atm.snowy(c.surface(far)), FAR_M)
    near_c = c.paint(atm.snowy(c.surface(near)), c.nearest_visible())
    c.gradient((0, top_y, c.width, c.height), far_c, near_c)


def _pine(
    c: _Canvas, x: float, d: float, height_m: float, colour: RGB = (40, 110, 60), snow: bool = False
) -> None:
    ppm = c.ppm(d)
    base = c.y(d)
    h = height_m * ppm
    w = h * 0.42
    trunk = c.paint((100, 70, 45), d)
    c.draw.rectangle((x - w * 0.07, base - h * 0.18, x + w * 0.07, base), fill=trunk)
    green = c.paint(colour, d)
    white = c.paint((240, 244, 250), d)
    ink = outline_of(green)
    for k in range(3):
        y_top = base - h * (1.0 - 0.22 * k)
        y_bot = base - h * (0.52 - 0.18 * k) + h * 0.06
        half = w * (0.3 + 0.2 * k)
        tri = [(x, y_top), (x + half, y_bot), (x - half, y_bot)]
        c.draw.polygon(tri, fill=green, outline=ink if h > 20 else None)
        if snow or c.atm.weather == "snow":
            cap = [
                (x, y_top),
                (x + half * 0.45, y_top + (y_bot - y_top) * 0.4),
                (x - half * 0.45, y_top + (y_bot - y_top) * 0.4),
            ]
            c.draw.polygon(cap, fill=white)


def _round_tree(c: _Canvas, x: float, d: float, height_m: float, canopy: RGB = (66, 150, 64)) -> None:
    ppm = c.ppm(d)
    base = c.y(d)
    h = height_m * ppm
    trunk = c.paint((110, 76, 48), d)
    # Distant trees get a hairline outline: a full-width ink line would read as a dark band
    # along the horizon once a close-up magnifies the backdrop.
    ink = c.ink if d < 30 else 1
    c.draw.rectangle(
        (x - h * 0.05, base - h * 0.55, x + h * 0.05, base), fill=trunk, outline=outline_of(trunk), width=ink
    )
    leaf = c.paint(canopy, d)
    light = c.paint(mix(canopy, (200, 230, 120), 0.25), d)
    edge = outline_of(leaf) if d < 30 else mix(leaf, outline_of(leaf), 0.5)
    for dx, dy, r in ((-0.17, -0.62, 0.24), (0.17, -0.64, 0.24), (0.0, -0.8, 0.28)):
        c.draw.ellipse(
            (x + dx * h - r * h, base + dy * h - r * h, x + dx * h + r * h, base + dy * h + r * h),
            fill=leaf,
            outline=edge,
            width=ink,
        )
    c.draw.ellipse((x - 0.12 * h, base - 0.95 * h, x + 0.04 * h, base - 0.84 * h), fill=light)
    if c.atm.weather == "snow":
        snow = c.paint((240, 244, 250), d)
        c.draw.chord((x - 0.26 * h, base - 1.08 * h, x + 0.26 * h, base - 0.64 * h), 180, 360, fill=snow)


def _sea(
    c: _Canvas, top_y: float, bottom_y: float, deep: RGB = (34, 96, 160), shallow: RGB = (56, 160, 180)
) -> None:
    atm = c.atm
    if bottom_y <= top_y:
        return
    c.gradient(
        (0, top_y, c.width, bottom_y), c.paint(c.surface(deep), FAR_M), c.paint(c.surface(shallow), 20)
    )
    foam = c.paint((230, 240, 245), 30)
    for k in range(7):
        y = top_y + (bottom_y - top_y) * (0.15 + 0.12 * k)
        seg = (16 + 6 * k) * SUPERSAMPLE
        for i in range(int(c.width / seg) + 1):
            x = i * seg + c.rng.uniform(0, seg * 0.6)
            c.draw.line(
                [(x, y), (x + seg * 0.35, y)], fill=(*foam, 110), width=max(1, SUPERSAMPLE // 2 + k // 3)
            )
    if atm.weather == "clear" and atm.time_of_day in ("sunset", "dawn", "night"):
        # The sun (or moon) paints a glittering path on the water.
        colour = (255, 190, 100) if atm.time_of_day != "night" else (220, 220, 200)
        sx = c.x(0.72 if atm.time_of_day != "dawn" else 0.72)
        for k in range(10):
            y = top_y + (bottom_y - top_y) * (k + 0.5) / 10
            w = (4 + 3 * k) * SUPERSAMPLE
            c.draw.line([(sx - w, y), (sx + w, y)], fill=(*colour, 120), width=SUPERSAMPLE)


def _window(
    c: _Canvas, box: tuple[float, float, float, float], frame: RGB = (240, 240, 236), panes: int = 2
) -> None:
    """A window onto the outside: sky colours of the scene, rain/snow hints, lit at night."""
    x0, y0, x1, y1 = box
    atm = c.atm
    c.gradient((x0, y0, x1, y1), atm.sky_top, atm.sky_horizon)
    if atm.time_of_day == "night":
        for _ in range(6):
            x, y = c.rng.uniform(x0, x1), c.rng.uniform(y0, y1)
            c.draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=(255, 240, 200))
    if atm.weather == "rain":
        for _ in range(int((x1 - x0) / 3)):
            x, y = c.rng.uniform(x0, x1), c.rng.uniform(y0, y1 - 8)
            c.draw.line([(x, y), (x - 1, y + 8)], fill=(220, 230, 245, 150), width=1)
    elif atm.weather == "snow":
        for _ in range(int((x1 - x0) / 2)):
            x, y = c.rng.uniform(x0, x1), c.rng.uniform(y0, y1)
            c.draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=(255, 255, 255, 220))
    elif atm.weather == "fog":
        c.draw.rectangle(box, fill=(210, 214, 218, 150))
    f = c.paint(frame)
    w = 3 * SUPERSAMPLE
    c.draw.rectangle(box, outline=f, width=w)
    for k in range(1, panes):
        xm = x0 + (x1 - x0) * k / panes
        c.draw.line([(xm, y0), (xm, y1)], fill=f, width=w // 2 + 1)
    c.draw.line([(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)], fill=f, width=w // 2 + 1)


def _lamp_glow(c: _Canvas, x: float, y: float, radius: float) -> None:
    if c.atm.time_of_day in ("night", "dawn") or (c.atm.weather != "clear" and c.atm.time_of_day == "sunset"):
        c.glow(x, y, radius, (255, 214, 140), 130)


def _room(
    c: _Canvas, wall: RGB, floor_far: RGB, floor_near: RGB, wall_distance: float, wall_height_m: float = 2.7
) -> tuple[float, float]:
    """Ceiling, back wall and floor of a room; returns (wall top y, floor line y)."""
    wall, floor_far, floor_near = c.surface(wall), c.surface(floor_far), c.surface(floor_near)
    floor_y = c.y(wall_distance)
    top_y = floor_y - wall_height_m * c.ppm(wall_distance)
    if top_y > 0:
        c.gradient((0, 0, c.width, top_y), c.paint(shade(wall, 0.7)), c.paint(shade(wall, 0.86)))
    c.gradient((0, max(top_y, 0), c.width, floor_y), c.paint(shade(wall, 0.95)), c.paint(wall))
    c.gradient((0, floor_y, c.width, c.height), c.paint(floor_far), c.paint(floor_near))
    c.draw.rectangle(
        (0, floor_y - 0.12 * c.ppm(wall_distance), c.width, floor_y), fill=c.paint(shade(wall, 0.6))
    )
    return top_y, floor_y


# --- the twelve places -------------------------------------------------------------------


def _beach(c: _Canvas) -> None:
    _sky(c)
    shore = c.y(40)
    _sea(c, c.hy, shore)
    _ground(c, shore, (222, 200, 150), (242, 218, 168))
    wet = c.paint((200, 176, 130), 40)
    c.draw.rectangle((0, shore, c.width, shore + 2.5 * SUPERSAMPLE), fill=wet)
    foam = c.paint((250, 250, 250), 40)
    points = [
        (x, shore + math.sin(x / (9 * SUPERSAMPLE)) * 1.2 * SUPERSAMPLE) for x in range(0, c.width + 8, 8)
    ]
    c.draw.line(points, fill=foam, width=2 * SUPERSAMPLE)
    # Palm trees on both sides of the centre view.
    for fx, d, lean in (
        (0.04 + c.rng.uniform(-0.03, 0.03), 9.0, 1),
        (0.93 + c.rng.uniform(-0.03, 0.03), 11.0, -1),
        (1.18, 14.0, -1),
    ):
        x, base, ppm = c.x(fx), c.y(d), c.ppm(d)
        h = 6.5 * ppm
        trunk = [(x + lean * 0.35 * h * (t**2), base - h * t) for t in np.linspace(0, 1, 7)]
        bark = c.paint((150, 108, 64), d)
        c.draw.line(trunk, fill=outline_of(bark), width=max(2, round(0.09 * h)), joint="curve")
        c.draw.line(trunk, fill=bark, width=max(1, round(0.06 * h)), joint="curve")
        tx, ty = trunk[-1]
        leaf = c.paint((48, 150, 62), d)
        for k in range(7):
            a = math.pi * (1.05 + k / 6 * 0.9) + c.rng.uniform(-0.1, 0.1)
            length = 0.42 * h
            tip = (tx + math.cos(a) * length, ty + math.sin(a) * length * 0.5 + 0.22 * h)
            mid = (tx + math.cos(a) * length * 0.5, ty + math.sin(a) * length * 0.45 - 0.02 * h)
            c.draw.polygon(
                [(tx, ty), (mid[0], mid[1] - 0.05 * h), tip, (mid[0], mid[1] + 0.05 * h)],
                fill=leaf,
                outline=outline_of(leaf),
            )
        coco = c.paint((100, 70, 40), d)
        r = 0.035 * h
        for dx in (-r, r):
            c.draw.ellipse((tx + dx - r, ty - r + r, tx + dx + r, ty + r + r), fill=coco)
    # A striped umbrella and a towel.
    d = 12.0 + c.rng.uniform(-2, 2)
    ux, base, ppm = c.x(0.7 + c.rng.uniform(-0.05, 0.05)), c.y(d), c.ppm(d)
    c.draw.line(
        [(ux, base), (ux, base - 2.2 * ppm)],
        fill=c.paint((240, 240, 240), d),
        width=max(1, round(0.06 * ppm)),
    )
    box = (ux - 1.4 * ppm, base - 2.8 * ppm, ux + 1.4 * ppm, base - 1.6 * ppm)
    for k in range(6):
        colour = (220, 40, 44) if k % 2 == 0 else (250, 250, 250)
        c.draw.pieslice(box, 180 + 30 * k, 210 + 30 * k, fill=c.paint(colour, d))
    c.draw.arc(box, 180, 360, fill=outline_of(c.paint((220, 40, 44), d)), width=c.ink)
    tx = ux + 0.6 * ppm
    c.draw.polygon(
        [
            (tx, base - 0.1 * ppm),
            (tx + 1.6 * ppm, base - 0.1 * ppm),
            (tx + 1.9 * ppm, base + 0.3 * ppm),
            (tx + 0.2 * ppm, base + 0.3 * ppm),
        ],
        fill=c.paint((60, 140, 220), d),
    )
    c.draw.line(
        [(tx + 0.1 * ppm, base + 0.1 * ppm), (tx + 1.75 * ppm, base + 0.1 * ppm)],
        fill=c.paint((250, 250, 250), d),
        width=c.ink,
    )


def _forest(c: _Canvas) -> None:
    _sky(c, sun_x=0.3)
    _ground(c, c.hy, (70, 104, 52), (66, 92, 40))
    # A dirt path runs from the distance towards the camera.
    path = c.paint((150, 118, 78), 10)
    far, near = c.y(80), c.height
    c.draw.polygon([(c.x(0.48), far), (c.x(0.52), far), (c.x(0.78), near), (c.x(0.22), near)], fill=path)
    # Far tree line, then rows of pines getting nearer (and bigger, darker).
    for _ in range(40):
        _pine(c, c.rng.uniform(0, c.width), 70 + c.rng.uniform(0, 40), 12, (46, 100, 70))
    for _ in range(22):
        fx = c.rng.uniform(-0.25, 1.25)
        if 0.38 < fx < 0.62:
            fx += 0.3 if fx > 0.5 else -0.3
        _pine(c, c.x(fx), c.rng.uniform(14, 40), c.rng.uniform(9, 14), (36, 110, 58))
    for fx, d in ((0.02, 6.5), (0.97, 7.0), (-0.15, 5.0), (1.16, 5.5)):
        _pine(c, c.x(fx + c.rng.uniform(-0.03, 0.03)), d, 12, (30, 96, 50))
    fern = c.paint((60, 140, 60), 5)
    for _ in range(26):
        x, d = c.rng.uniform(0, c.width), c.rng.uniform(4, 12)
        y, r = c.y(d), 0.35 * c.ppm(d)
        c.draw.ellipse((x - r, y - r * 0.6, x + r, y + r * 0.3), fill=fern)
    for _ in range(5):
        x, d = c.rng.uniform(0, c.width), c.rng.uniform(4, 10)
        y, r = c.y(d), 0.12 * c.ppm(d)
        c.draw.rectangle((x - r * 0.3, y - r, x + r * 0.3, y), fill=c.paint((240, 230, 210), d))
        c.draw.chord((x - r, y - 1.8 * r, x + r, y - 0.4 * r), 180, 360, fill=c.paint((210, 40, 40), d))


def _street(c: _Canvas) -> None:
    _sky(c, sun_x=0.2)
    kerb_d, front_d = 10.0, 14.0
    facade_y = c.y(front_d)
    _ground(c, c.hy, (150, 150, 150), (150, 150, 150))
    night = c.atm.time_of_day == "night"
    palette = [
        (170, 80, 62),
        (222, 202, 160),
        (120, 132, 152),
        (204, 162, 74),
        (96, 150, 150),
        (186, 110, 90),
    ]
    x = 0.0
    ppm = c.ppm(front_d)
    while x < c.width:
        w = c.rng.uniform(7, 12) * ppm
        h = c.rng.uniform(9, 20) * ppm
        colour = c.rng.choice(palette)
        c.shape("rectangle", (x, facade_y - h, x + w, facade_y), colour, front_d)
        wall = c.paint(colour, front_d)
        c.draw.rectangle((x, facade_y - h, x + w, facade_y - h + 0.5 * ppm), fill=shade(wall, 0.75))
        cols = max(2, int(w / (2.2 * ppm)))
        rows = max(2, int((h - 3.5 * ppm) / (2.6 * ppm)))
        for i in range(cols):
            for j in range(rows):
                wx = x + (i + 0.5) * w / cols
                wy = facade_y - 3.6 * ppm - j * 2.6 * ppm
                lit = night and c.rng.random() < 0.55
                glass = (255, 214, 120) if lit else c.paint((150, 190, 220), front_d)
                c.draw.rectangle(
                    (wx - 0.45 * ppm, wy - 0.7 * ppm, wx + 0.45 * ppm, wy + 0.7 * ppm),
                    fill=glass,
                    outline=shade(wall, 0.6),
                    width=c.ink,
                )
        # Ground-floor door and a striped shop awning.
        door = c.paint((90, 60, 40), front_d)
        dx = x + w * c.rng.uniform(0.25, 0.7)
        c.draw.rectangle((dx - 0.6 * ppm, facade_y - 2.2 * ppm, dx + 0.6 * ppm, facade_y), fill=door)
        if c.rng.random() < 0.5:
            stripes = c.rng.choice([(200, 40, 50), (40, 120, 60), (40, 80, 170)])
            for k in range(6):
                colour = stripes if k % 2 == 0 else (245, 245, 240)
                c.draw.polygon(
                    [
                        (x + w * k / 6, facade_y - 3.0 * ppm),
                        (x + w * (k + 1) / 6, facade_y - 3.0 * ppm),
                        (x + w * (k + 1) / 6 + 0.2 * ppm, facade_y - 2.4 * ppm),
                        (x + w * k / 6 + 0.2 * ppm, facade_y - 2.4 * ppm),
                    ],
                    fill=c.paint(colour, front_d),
                )
        x += w + c.rng.uniform(0, 0.6) * ppm
    # Pavement slabs, kerb, road with lane markings.
    kerb_y = c.y(kerb_d)
    c.gradient(
        (0, facade_y, c.width, kerb_y), c.paint((176, 174, 170), front_d), c.paint((186, 184, 180), kerb_d)
    )
    for k in range(int(c.width / (1.5 * ppm)) + 1):
        c.draw.line(
            [(k * 1.5 * ppm, facade_y), (k * 1.5 * ppm - 0.4 * ppm, kerb_y)],
            fill=c.paint((150, 150, 148), kerb_d),
            width=1,
        )
    c.draw.rectangle(
        (0, kerb_y, c.width, kerb_y + 0.2 * c.ppm(kerb_d)), fill=c.paint((120, 120, 120), kerb_d)
    )
    road_top = kerb_y + 0.2 * c.ppm(kerb_d)
    c.gradient((0, road_top, c.width, c.height), c.paint((80, 80, 86), kerb_d), c.paint((66, 66, 72), 3))
    if c.atm.weather == "snow":
        c.draw.rectangle((0, road_top, c.width, c.height), fill=(235, 238, 244, 120))
    lane_y = c.y(6.5)
    for k in range(int(c.width / (60 * SUPERSAMPLE)) + 1):
        x = k * 60 * SUPERSAMPLE + 10 * SUPERSAMPLE
        c.draw.rectangle(
            (x, lane_y - 0.6 * SUPERSAMPLE, x + 28 * SUPERSAMPLE, lane_y + 0.6 * SUPERSAMPLE),
            fill=c.paint((240, 236, 220), 6.5),
        )
    # Street lamps on the kerb.
    for fx in (0.12, 0.62, 1.12):
        lx, base, p = c.x(fx + c.rng.uniform(-0.03, 0.03)), kerb_y, c.ppm(kerb_d)
        pole = c.paint((50, 56, 60), kerb_d)
        c.draw.rectangle((lx - 0.07 * p, base - 4.5 * p, lx + 0.07 * p, base), fill=pole)
        c.draw.line(
            [(lx, base - 4.5 * p), (lx + 0.6 * p, base - 4.6 * p)], fill=pole, width=max(1, round(0.1 * p))
        )
        lamp = (255, 230, 160) if night else c.paint((230, 230, 220), kerb_d)
        c.draw.ellipse((lx + 0.35 * p, base - 4.7 * p, lx + 0.95 * p, base - 4.35 * p), fill=lamp)
        _lamp_glow(c, lx + 0.65 * p, base - 4.5 * p, 1.8 * p)
    # The blue car parked by the kerb.
    cd = kerb_d - 1.2
    cx, base, p = c.x(0.36 + c.rng.uniform(-0.08, 0.08)), c.y(cd), c.ppm(cd)
    body = (40, 90, 200)
    c.shape(
        "rounded_rectangle",
        (cx - 2.1 * p, base - 1.2 * p, cx + 2.1 * p, base - 0.3 * p),
        body,
        cd,
        radius=0.3 * p,
    )
    c.shape(
        "rounded_rectangle",
        (cx - 1.2 * p, base - 1.85 * p, cx + 1.0 * p, base - 1.1 * p),
        body,
        cd,
        radius=0.35 * p,
    )
    glass = c.paint((170, 210, 235), cd)
    c.draw.rectangle((cx - 1.0 * p, base - 1.7 * p, cx - 0.15 * p, base - 1.2 * p), fill=glass)
    c.draw.rectangle((cx + 0.0 * p, base - 1.7 * p, cx + 0.8 * p, base - 1.2 * p), fill=glass)
    for wx in (-1.3, 1.3):
        c.shape(
            "ellipse",
            (cx + wx * p - 0.42 * p, base - 0.72 * p, cx + wx * p + 0.42 * p, base + 0.1 * p),
            (30, 30, 34),
            cd,
        )
    if night:
        c.glow(cx + 2.1 * p, base - 0.8 * p, 0.8 * p, (255, 240, 200), 150)


def _office(c: _Canvas) -> None:
    top, floor = _room(c, (206, 214, 222), (104, 116, 140), (92, 104, 128), 7.0)
    p = c.ppm(7.0)
    night = c.atm.time_of_day == "night"
    # Ceiling lights.
    for k in range(5):
        lx = c.x(-0.2 + 0.35 * k)
        colour = (255, 250, 230) if night else c.paint((240, 240, 236))
        c.draw.rectangle(
            (lx - 1.2 * p, max(top, 0) + 0.05 * p, lx + 1.2 * p, max(top, 0) + 0.2 * p), fill=colour
        )
        if night:
            c.glow(lx, max(top, 0) + 0.2 * p, 1.6 * p, (255, 240, 200), 70)
    # A wide window with a city skyline, blinds half down.
    wx0, wx1 = c.x(0.52 + c.rng.uniform(-0.04, 0.04)), c.x(1.05)
    wy0, wy1 = floor - 2.4 * p, floor - 0.9 * p
    _window(c, (wx0, wy0, wx1, wy1), (236, 236, 236), panes=3)
    sky_line = c.paint((90, 100, 120), 60)
    x = wx0 + 2
    while x < wx1 - 2:
        w, h = c.rng.uniform(0.3, 0.7) * p, c.rng.uniform(0.3, 1.0) * p
        c.draw.rectangle((x, wy1 - h, min(x + w, wx1 - 2), wy1 - 2), fill=sky_line)
        x += w + 1
    for k in range(6):
        y = wy0 + (k + 1) * 0.14 * p
        c.draw.line([(wx0, y), (wx1, y)], fill=c.paint((226, 226, 222)), width=max(1, SUPERSAMPLE))
    # Whiteboard with marker scribbles.
    bx0, bx1 = c.x(0.08), c.x(0.38)
    by0, by1 = floor - 2.3 * p, floor - 1.2 * p
    c.shape("rectangle", (bx0, by0, bx1, by1), (248, 248, 246))
    for k, colour in enumerate(((40, 80, 200), (200, 40, 40), (30, 130, 60))):
        y = by0 + (k + 1) * (by1 - by0) / 4
        pts = [(bx0 + 6 + i * (bx1 - bx0 - 12) / 8, y + math.sin(i * 1.7 + k) * 2) for i in range(9)]
        c.draw.line(pts, fill=c.paint(colour), width=max(1, SUPERSAMPLE))
    # Desks with monitors, chairs.
    for fx in (-0.15, 0.22, 0.62, 1.02):
        dx = c.x(fx + c.rng.uniform(-0.02, 0.02))
        d = 6.2
        base, q = c.y(d), c.ppm(d)
        c.shape(
            "rectangle", (dx - 0.8 * q, base - 0.75 * q, dx + 0.8 * q, base - 0.66 * q), (220, 200, 170), d
        )
        for lx in (-0.72, 0.72):
            c.draw.rectangle(
                (dx + lx * q - 0.04 * q, base - 0.66 * q, dx + lx * q + 0.04 * q, base),
                fill=c.paint((90, 90, 96), d),
            )
        c.shape(
            "rectangle", (dx - 0.36 * q, base - 1.28 * q, dx + 0.36 * q, base - 0.86 * q), (40, 42, 48), d
        )
        screen = (120, 190, 255) if night else c.paint((120, 180, 230), d)
        c.draw.rectangle((dx - 0.3 * q, base - 1.22 * q, dx + 0.3 * q, base - 0.92 * q), fill=screen)
        c.draw.rectangle(
            (dx - 0.04 * q, base - 0.86 * q, dx + 0.04 * q, base - 0.75 * q), fill=c.paint((40, 42, 48), d)
        )
        if night:
            c.glow(dx, base - 1.07 * q, 0.6 * q, (140, 200, 255), 80)
    # A potted plant by the window.
    px, base, q = c.x(0.5), c.y(6.6), c.ppm(6.6)
    c.shape(
        "polygon",
        [
            (px - 0.25 * q, base - 0.5 * q),
            (px + 0.25 * q, base - 0.5 * q),
            (px + 0.18 * q, base),
            (px - 0.18 * q, base),
        ],
        (200, 110, 60),
    )
    for dx, dy, r in ((-0.2, -0.9, 0.3), (0.2, -0.95, 0.3), (0.0, -1.25, 0.32), (0.0, -0.7, 0.3)):
        c.shape(
            "ellipse",
            (px + dx * q - r * q, base + dy * q - r * q, px + dx * q + r * q, base + dy * q + r * q),
            (50, 140, 60),
        )


def _checker_floor(c: _Canvas, floor_y: float, a: RGB, b: RGB, tile_m: float = 0.6) -> None:
    """A tiled floor in perspective from the back wall to the camera."""
    far = c.ground.distance_at(floor_y + 0.5)
    vanishing = c.x(0.5)
    d = far
    row = 0
    while True:
        near = d - tile_m
        y0, y1 = c.y(d), c.y(max(near, 0.3))
        if y0 >= c.height:
            break
        ppm0, ppm1 = c.ppm(d), c.ppm(max(near, 0.3))
        for k in range(-24, 25):
            x00, x01 = vanishing + k * tile_m * ppm0, vanishing + (k + 1) * tile_m * ppm0
            x10, x11 = vanishing + k * tile_m * ppm1, vanishing + (k + 1) * tile_m * ppm1
            if max(x01, x11) < 0 or min(x00, x10) > c.width:
                continue
            colour = a if (k + row) % 2 == 0 else b
            c.draw.polygon([(x00, y0), (x01, y0), (x11, y1), (x10, y1)], fill=c.paint(colour))
        d = near
        row += 1
        if near <= 0.3:
            break


def _kitchen(c: _Canvas) -> None:
    wall_d = 6.0
    top, floor = _room(c, (236, 236, 228), (60, 60, 64), (60, 60, 64), wall_d)
    _checker_floor(c, floor, (236, 232, 222), (58, 58, 64))
    p = c.ppm(wall_d)
    # Tiles on the wall between counter and cabinets.
    tile = c.paint((206, 208, 204))
    counter_y = floor - 0.92 * p
    cab_bottom = floor - 1.6 * p
    for k in range(int(c.width / (0.3 * p)) + 1):
        c.draw.line([(k * 0.3 * p, cab_bottom), (k * 0.3 * p, counter_y)], fill=tile, width=1)
    y = cab_bottom
    while y < counter_y:
        c.draw.line([(0, y), (c.width, y)], fill=tile, width=1)
        y += 0.3 * p
    wood = (184, 132, 82)
    # Upper cabinets with a window between them.
    wx0, wx1 = c.x(0.36), c.x(0.62)
    for x0, x1 in ((0, wx0 - 0.2 * p), (wx1 + 0.2 * p, c.x(1.0)), (c.x(1.0) + 0.4 * p, c.width)):
        c.shape("rectangle", (x0, floor - 2.6 * p, x1, cab_bottom), wood)
        n = max(1, int((x1 - x0) / (0.8 * p)))
        for k in range(n):
            xa = x0 + (k + 0.5) * (x1 - x0) / n
            c.draw.rectangle(
                (xa - 0.02 * p, cab_bottom - 0.3 * p, xa + 0.02 * p, cab_bottom - 0.1 * p),
                fill=c.paint((60, 50, 40)),
            )
    _window(c, (wx0, floor - 2.4 * p, wx1, floor - 1.2 * p))
    # Counter with base cabinets, a sink under the window and a stove with a pot.
    c.shape("rectangle", (0, counter_y + 0.06 * p, c.width, floor), wood)
    c.shape("rectangle", (0, counter_y, c.width, counter_y + 0.08 * p), (230, 230, 232))
    for k in range(int(c.width / (0.8 * p)) + 1):
        x = k * 0.8 * p
        c.draw.line([(x, counter_y + 0.1 * p), (x, floor)], fill=outline_of(c.paint(wood)), width=c.ink)
    sx = (wx0 + wx1) / 2
    c.draw.rectangle(
        (sx - 0.5 * p, counter_y - 0.02 * p, sx + 0.5 * p, counter_y + 0.05 * p),
        fill=c.paint((170, 176, 184)),
    )
    c.draw.line(
        [(sx, counter_y), (sx, counter_y - 0.35 * p), (sx + 0.15 * p, counter_y - 0.35 * p)],
        fill=c.paint((170, 176, 184)),
        width=max(1, round(0.05 * p)),
    )
    stove_x = c.x(0.8 + c.rng.uniform(-0.04, 0.04))
    c.shape("rectangle", (stove_x - 0.5 * p, counter_y, stove_x + 0.5 * p, floor), (40, 40, 44))
    c.draw.rectangle(
        (stove_x - 0.38 * p, counter_y + 0.25 * p, stove_x + 0.38 * p, floor - 0.12 * p),
        fill=c.paint((70, 70, 76)),
    )
    c.shape(
        "rounded_rectangle",
        (stove_x - 0.3 * p, counter_y - 0.32 * p, stove_x + 0.3 * p, counter_y),
        (200, 50, 40),
        radius=0.06 * p,
    )
    c.draw.rectangle(
        (stove_x - 0.4 * p, counter_y - 0.3 * p, stove_x - 0.3 * p, counter_y - 0.24 * p),
        fill=c.paint((40, 40, 40)),
    )
    # A tall fridge in the corner.
    fx = c.x(0.06 + c.rng.uniform(-0.03, 0.03))
    c.shape(
        "rounded_rectangle",
        (fx - 0.45 * p, floor - 2.0 * p, fx + 0.45 * p, floor),
        (230, 234, 240),
        radius=0.08 * p,
    )
    c.draw.line(
        [(fx - 0.45 * p, floor - 1.35 * p), (fx + 0.45 * p, floor - 1.35 * p)],
        fill=c.paint((170, 174, 180)),
        width=c.ink,
    )
    c.draw.rectangle(
        (fx + 0.3 * p, floor - 1.7 * p, fx + 0.36 * p, floor - 1.45 * p), fill=c.paint((150, 154, 160))
    )
    c.draw.rectangle(
        (fx + 0.3 * p, floor - 1.2 * p, fx + 0.36 * p, floor - 0.8 * p), fill=c.paint((150, 154, 160))
    )
    if c.atm.time_of_day == "night":
        c.glow(sx, floor - 2.6 * p, 1.4 * p, (255, 220, 150), 90)


def _harbour(c: _Canvas) -> None:
    _sky(c, sun_x=0.25)
    hills = c.paint((90, 120, 140), FAR_M)
    pts = (
        [(0, c.hy)]
        + [(x, c.hy - (8 + 6 * math.sin(x / 70 + 1)) * SUPERSAMPLE) for x in range(0, c.width + 20, 20)]
        + [(c.width, c.hy)]
    )
    c.draw.polygon(pts, fill=hills)
    pier_d = 9.0
    pier_y = c.y(pier_d)
    _sea(c, c.hy, pier_y, (30, 90, 130), (40, 120, 140))
    # A yellow crane on the far quay.
    kx, kd = c.x(0.85 + c.rng.uniform(-0.05, 0.05)), 45.0
    base, q = c.y(kd), c.ppm(kd)
    crane = c.paint((240, 190, 40), kd)
    c.draw.line([(kx, base), (kx, base - 18 * q)], fill=crane, width=max(2, round(0.6 * q)))
    c.draw.line(
        [(kx - 4 * q, base - 17 * q), (kx + 12 * q, base - 17 * q)], fill=crane, width=max(2, round(0.5 * q))
    )
    c.draw.line(
        [(kx + 9 * q, base - 17 * q), (kx + 9 * q, base - 9 * q)], fill=c.paint((60, 60, 60), kd), width=1
    )
    # Boats on the water.
    for fx, d, hull in (
        (0.2, 24.0, (210, 50, 50)),
        (0.55, 30.0, (240, 240, 240)),
        (1.1, 20.0, (40, 90, 170)),
    ):
        bx, base, q = c.x(fx + c.rng.uniform(-0.05, 0.05)), c.y(d), c.ppm(d)
        c.shape(
            "polygon",
            [
                (bx - 3 * q, base - 1.2 * q),
                (bx + 3.3 * q, base - 1.2 * q),
                (bx + 2.4 * q, base),
                (bx - 2.4 * q, base),
            ],
            hull,
            d,
        )
        c.shape("rectangle", (bx - 1.2 * q, base - 2.3 * q, bx + 0.6 * q, base - 1.2 * q), (236, 236, 230), d)
        c.draw.line(
            [(bx + 1.2 * q, base - 1.2 * q), (bx + 1.2 * q, base - 6 * q)],
            fill=c.paint((80, 60, 40), d),
            width=max(1, round(0.15 * q)),
        )
        c.shape(
            "polygon",
            [(bx + 1.3 * q, base - 5.8 * q), (bx + 3.2 * q, base - 1.6 * q), (bx + 1.3 * q, base - 1.6 * q)],
            (250, 250, 244),
            d,
        )
    # The wooden pier with posts, crates and a rope coil.
    c.gradient((0, pier_y, c.width, c.height), c.paint((150, 110, 70), pier_d), c.paint((166, 122, 78), 2))
    plank = c.paint((110, 80, 50), 6)
    d = pier_d
    while True:
        d -= 0.5
        y = c.y(max(d, 0.4))
        if y > c.height or d <= 0.4:
            break
        c.draw.line([(0, y), (c.width, y)], fill=plank, width=1)
    for k in range(9):
        x = c.x(-0.2 + 0.18 * k)
        q = c.ppm(pier_d)
        c.shape(
            "rectangle",
            (x - 0.14 * q, pier_y - 0.7 * q, x + 0.14 * q, pier_y + 0.2 * q),
            (90, 64, 40),
            pier_d,
        )
    crate = (170, 120, 60)
    cx, d = c.x(0.86 + c.rng.uniform(-0.04, 0.04)), 7.0
    base, q = c.y(d), c.ppm(d)
    for ox, oy in ((0, 0), (0.9, 0), (0.45, 0.85)):
        x0, y1 = cx + ox * q, base - oy * q
        c.shape("rectangle", (x0, y1 - 0.85 * q, x0 + 0.85 * q, y1), crate, d)
        c.draw.line(
            [(x0, y1 - 0.85 * q), (x0 + 0.85 * q, y1)], fill=outline_of(c.paint(crate, d)), width=c.ink
        )
    rx, d = c.x(0.08), 6.0
    base, q = c.y(d), c.ppm(d)
    for k in range(3):
        r = (0.45 - 0.12 * k) * q
        c.draw.ellipse(
            (rx - r, base - 0.3 * q - r * 0.5, rx + r, base - 0.3 * q + r * 0.5),
            outline=c.paint((200, 170, 110), d),
            width=max(1, round(0.1 * q)),
        )
    if c.atm.time_of_day != "night" and c.atm.weather == "clear":
        gull = (250, 250, 250)
        for _ in range(4):
            x, y = c.rng.uniform(0, c.width), c.rng.uniform(0.2, 0.7) * c.hy
            s = 3 * SUPERSAMPLE
            c.draw.line([(x - s, y - s * 0.4), (x, y), (x + s, y - s * 0.4)], fill=gull, width=SUPERSAMPLE)


def _lighthouse(c: _Canvas) -> None:
    _sky(c, sun_x=0.25)
    cliff_d = 14.0
    cliff_y = c.y(cliff_d)
    _sea(c, c.hy, cliff_y + 30)
    # A grassy headland rising on the right, rocks and surf at its foot.
    q = c.ppm(30)
    hill_top = c.y(30) - 6 * q
    grass = c.surface((92, 150, 70))
    hill = [
        (c.x(0.38), c.y(30) + 2),
        (c.x(0.52), hill_top + 2 * q),
        (c.x(0.62), hill_top),
        (c.width, hill_top - 0.5 * q),
        (c.width, c.y(30) + 2),
    ]
    c.shape("polygon", hill, grass, 30)
    rocks = c.paint((110, 110, 116), 30)
    for k in range(7):
        x = c.x(0.36 + 0.07 * k)
        r = c.rng.uniform(1.0, 2.0) * q
        c.draw.ellipse(
            (x - r, c.y(30) - r * 0.8, x + r, c.y(30) + r * 0.5),
            fill=rocks,
            outline=outline_of(rocks),
            width=1,
        )
        c.draw.ellipse(
            (x - r * 1.3, c.y(30) + r * 0.2, x + r * 1.3, c.y(30) + r * 0.7),
            fill=c.paint((240, 246, 250), 30),
        )
    # The lighthouse: tapered tower with red bands, gallery, lantern, dome.
    lx = c.x(0.74 + c.rng.uniform(-0.03, 0.03))
    base = hill_top - 0.2 * q
    h = 18 * q
    bw, tw = 2.0 * q, 1.3 * q
    c.shape(
        "polygon",
        [(lx - bw, base), (lx + bw, base), (lx + tw, base - h), (lx - tw, base - h)],
        (244, 244, 240),
        30,
    )
    for k in range(4):
        t0, t1 = (k * 2 + 1) / 8, (k * 2 + 2) / 8
        w0, w1 = bw + (tw - bw) * t0, bw + (tw - bw) * t1
        c.draw.polygon(
            [
                (lx - w0, base - h * t0),
                (lx + w0, base - h * t0),
                (lx + w1, base - h * t1),
                (lx - w1, base - h * t1),
            ],
            fill=c.paint((206, 40, 40), 30),
        )
    c.shape("rectangle", (lx - 1.4 * q, base - h - 0.4 * q, lx + 1.4 * q, base - h), (40, 40, 44), 30)
    night = c.atm.time_of_day == "night"
    lantern = (255, 236, 140) if night else c.paint((250, 230, 150), 30)
    c.draw.rectangle(
        (lx - 0.8 * q, base - h - 2.2 * q, lx + 0.8 * q, base - h - 0.4 * q),
        fill=lantern,
        outline=c.paint((40, 40, 44), 30),
        width=c.ink,
    )
    c.shape(
        "pieslice",
        (lx - 1.0 * q, base - h - 3.2 * q, lx + 1.0 * q, base - h - 1.2 * q),
        (200, 36, 36),
        30,
        start=180,
        end=360,
    )
    if night or c.atm.weather in ("fog", "rain"):
        ly = base - h - 1.3 * q
        c.draw.polygon(
            [(lx, ly - 0.3 * q), (c.x(-0.3), ly - 14 * q), (c.x(-0.3), ly + 6 * q)], fill=(255, 240, 170, 55)
        )
        c.glow(lx, ly, 4 * q, (255, 236, 150), 140)
    # The keeper's cottage.
    hx, hb = lx + 3.5 * q, hill_top + 0.3 * q
    c.shape("rectangle", (hx, hb - 2.2 * q, hx + 3.2 * q, hb), (240, 236, 226), 30)
    c.shape(
        "polygon",
        [(hx - 0.3 * q, hb - 2.2 * q), (hx + 1.6 * q, hb - 3.6 * q), (hx + 3.5 * q, hb - 2.2 * q)],
        (180, 50, 40),
        30,
    )
    # The grassy cliff top where the characters stand.
    c.gradient(
        (0, cliff_y, c.width, c.height),
        c.paint(c.atm.snowy(grass), cliff_d),
        c.paint(c.atm.snowy((100, 160, 74)), 3),
    )
    edge = c.paint((70, 120, 56), cliff_d)
    c.draw.line(
        [(x, cliff_y + math.sin(x / 23) * 2) for x in range(0, c.width + 10, 10)],
        fill=edge,
        width=2 * SUPERSAMPLE,
    )
    path = c.paint((200, 186, 150), 6)
    c.draw.polygon(
        [(c.x(0.6), cliff_y), (c.x(0.66), cliff_y), (c.x(0.5), c.height), (c.x(0.3), c.height)], fill=path
    )


def _snow_mountain(c: _Canvas) -> None:
    _sky(c, sun_x=0.8)
    # Two ranges of sharp peaks with snow caps; the far one fades into the sky.
    for d, colour, count, height_m in ((160.0, (132, 146, 180), 5, 70.0), (90.0, (100, 114, 146), 4, 34.0)):
        q = c.ppm(d)
        painted = c.paint(colour, d)
        cap = c.paint((248, 250, 254), d)
        for k in range(count):
            px = c.x(-0.25 + (k + 0.5) * 1.5 / count + c.rng.uniform(-0.08, 0.08))
            top = c.hy - height_m * q * c.rng.uniform(0.7, 1.1)
            base = c.hy + 1
            w = (base - top) * c.rng.uniform(0.8, 1.1)
            c.draw.polygon(
                [(px - w, base), (px, top), (px + w, base)], fill=painted, outline=outline_of(painted)
            )
            t = 0.32
            snowline = top + (base - top) * t
            c.draw.polygon(
                [
                    (px, top),
                    (px + w * t, snowline),
                    (px + w * t * 0.5, snowline - (base - top) * 0.06),
                    (px + w * t * 0.1, snowline + (base - top) * 0.04),
                    (px - w * t * 0.4, snowline - (base - top) * 0.05),
                    (px - w * t, snowline),
                ],
                fill=cap,
            )
    c.gradient(
        (0, c.hy, c.width, c.height),
        c.paint(c.surface((230, 236, 246)), FAR_M),
        c.paint(c.surface((214, 224, 240)), 3),
    )
    drift = c.paint((200, 212, 232), 10)
    for k in range(4):
        d = 8 + 8 * k
        y = c.y(d)
        pts = [
            (x, y + math.sin(x / (40 + 10 * k) + k) * 1.5 * SUPERSAMPLE) for x in range(0, c.width + 12, 12)
        ]
        c.draw.line(pts, fill=drift, width=SUPERSAMPLE)
    for _ in range(14):
        fx = c.rng.uniform(-0.25, 1.25)
        if 0.3 < fx < 0.7:
            continue
        _pine(c, c.x(fx), c.rng.uniform(10, 40), c.rng.uniform(6, 10), (34, 90, 64), snow=True)
    for fx, d in ((0.03, 7.0), (0.95, 8.0)):
        _pine(c, c.x(fx), d, 8, (30, 86, 60), snow=True)
    rock = (120, 120, 128)
    for _ in range(4):
        x, d = c.rng.uniform(0, c.width), c.rng.uniform(6, 20)
        y, r = c.y(d), 0.5 * c.ppm(d)
        c.shape("chord", (x - r, y - r, x + r, y + r * 0.4), rock, d, start=180, end=360)
        c.draw.chord(
            (x - r * 0.8, y - r * 1.05, x + r * 0.8, y - r * 0.3), 180, 360, fill=c.paint((246, 248, 252), d)
        )


def _ship_deck(c: _Canvas) -> None:
    _sky(c, sun_x=0.7)
    rail_d = 9.0
    rail_y = c.y(rail_d)
    _sea(c, c.hy, rail_y)
    # Deck planks converge towards the bow.
    c.gradient(
        (0, rail_y, c.width, c.height),
        c.paint(c.surface((186, 136, 86)), rail_d),
        c.paint(c.surface((196, 146, 92)), 2),
    )
    seam = c.paint((130, 90, 56), 5)
    vx = c.x(0.5)
    for k in range(-30, 31):
        c.draw.line(
            [(vx + k * 0.3 * c.ppm(rail_d), rail_y), (vx + k * 0.3 * c.ppm(1.5), c.y(1.5))],
            fill=seam,
            width=1,
        )
    q = c.ppm(rail_d)
    white = (244, 244, 240)
    # Railing: posts, a mid rail and a top rail.
    c.shape("rectangle", (0, rail_y - 1.1 * q, c.width, rail_y - 0.95 * q), white, rail_d)
    c.draw.rectangle((0, rail_y - 0.55 * q, c.width, rail_y - 0.48 * q), fill=c.paint(white, rail_d))
    for k in range(int(c.width / (1.2 * q)) + 1):
        x = k * 1.2 * q
        c.draw.rectangle((x - 0.06 * q, rail_y - 1.05 * q, x + 0.06 * q, rail_y), fill=c.paint(white, rail_d))
    # The lifebuoy on the rail.
    bx, by = c.x(0.66 + c.rng.uniform(-0.04, 0.04)), rail_y - 0.75 * q
    r = 0.5 * q
    for k in range(8):
        colour = (220, 40, 40) if k % 2 == 0 else (250, 250, 250)
        c.draw.pieslice((bx - r, by - r, bx + r, by + r), 45 * k, 45 * k + 45, fill=c.paint(colour, rail_d))
    hole = c.paint((120, 150, 170), rail_d)
    c.draw.ellipse((bx - r * 0.5, by - r * 0.5, bx + r * 0.5, by + r * 0.5), fill=hole)
    # The mast with rigging and a flag.
    mx, md = c.x(0.14 + c.rng.uniform(-0.04, 0.04)), 6.0
    mb, mq = c.y(md), c.ppm(md)
    wood = c.paint((120, 84, 50), md)
    c.draw.rectangle(
        (mx - 0.14 * mq, 0, mx + 0.14 * mq, mb), fill=wood, outline=outline_of(wood), width=c.ink
    )
    rope = c.paint((90, 80, 60), md)
    for end in (-0.35, 0.4, 1.2):
        c.draw.line([(mx, mb - 6 * mq), (c.x(end), rail_y - 1.0 * q)], fill=rope, width=1)
    c.draw.polygon(
        [(mx + 0.14 * mq, mb - 7.4 * mq), (mx + 1.2 * mq, mb - 7.1 * mq), (mx + 0.14 * mq, mb - 6.8 * mq)],
        fill=c.paint((30, 80, 200), md),
    )
    # Barrels.
    for fx, d in ((0.9, 7.0), (0.97, 7.4)):
        x, base, p = c.x(fx), c.y(d), c.ppm(d)
        c.shape(
            "rounded_rectangle",
            (x - 0.35 * p, base - 0.95 * p, x + 0.35 * p, base),
            (140, 90, 50),
            d,
            radius=0.15 * p,
        )
        for t in (0.25, 0.7):
            c.draw.line(
                [(x - 0.35 * p, base - t * 0.95 * p), (x + 0.35 * p, base - t * 0.95 * p)],
                fill=c.paint((70, 70, 76), d),
                width=c.ink,
            )


def _desert(c: _Canvas) -> None:
    _sky(c, sun_x=0.3)
    mesa = (190, 100, 62)
    for fx, w_m, h_m in ((0.1, 40, 14), (0.62, 60, 10), (1.05, 30, 16)):
        d = 150.0
        q = c.ppm(d)
        x = c.x(fx + c.rng.uniform(-0.05, 0.05))
        top = c.hy - h_m * q * 4
        c.shape(
            "polygon",
            [
                (x - w_m * q, c.hy + 1),
                (x - w_m * q * 0.75, top),
                (x + w_m * q * 0.75, top),
                (x + w_m * q, c.hy + 1),
            ],
            mesa,
            90,
        )
        c.draw.line(
            [(x - w_m * q * 0.75, top + 2), (x + w_m * q * 0.75, top + 2)],
            fill=c.paint(shade(mesa, 1.15), 90),
            width=SUPERSAMPLE,
        )
    _ground(c, c.hy, (226, 186, 124), (236, 200, 136))
    # Dunes: bands of light and shadow across the sand.
    for k, d in enumerate((60.0, 30.0, 14.0)):
        y = c.y(d)
        amp = c.ppm(d) * 1.4
        crest = [
            (x, y - amp * (0.6 + 0.4 * math.sin(x / (70 + 30 * k) + k * 1.7)))
            for x in range(0, c.width + 10, 10)
        ]
        sand = c.paint(c.atm.snowy((232, 192, 128) if k % 2 else (220, 178, 112)), d)
        c.draw.polygon([(0, c.height), *crest, (c.width, c.height)], fill=sand)
        c.draw.line(crest, fill=c.paint((246, 214, 156), d), width=SUPERSAMPLE)
    # Saguaro cacti.
    for fx, d in ((0.08, 10.0), (0.86, 13.0), (0.56, 30.0), (1.15, 9.0)):
        x, base, q = c.x(fx + c.rng.uniform(-0.03, 0.03)), c.y(d), c.ppm(d)
        green = (64, 140, 72)
        c.shape("rounded_rectangle", (x - 0.3 * q, base - 4 * q, x + 0.3 * q, base), green, d, radius=0.3 * q)
        c.shape(
            "rounded_rectangle",
            (x - 1.1 * q, base - 2.8 * q, x - 0.6 * q, base - 1.4 * q),
            green,
            d,
            radius=0.25 * q,
        )
        c.shape(
            "rectangle", (x - 1.1 * q, base - 1.65 * q, x - 0.25 * q, base - 1.25 * q), green, d, ink=False
        )
        c.shape(
            "rounded_rectangle",
            (x + 0.6 * q, base - 3.3 * q, x + 1.05 * q, base - 2.0 * q),
            green,
            d,
            radius=0.22 * q,
        )
        c.shape(
            "rectangle", (x + 0.25 * q, base - 2.25 * q, x + 1.05 * q, base - 1.9 * q), green, d, ink=False
        )
    for _ in range(6):
        x, d = c.rng.uniform(0, c.width), c.rng.uniform(5, 25)
        y, r = c.y(d), 0.4 * c.ppm(d)
        c.shape("chord", (x - r, y - r, x + r, y + r * 0.3), (150, 100, 70), d, start=180, end=360)


def _park(c: _Canvas) -> None:
    _sky(c, sun_x=0.75)
    _ground(c, c.hy, (110, 176, 84), (96, 170, 72))
    for _ in range(30):
        x, d = c.rng.uniform(0, c.width), c.rng.uniform(50, 70)
        _round_tree(c, x, d, 8, (90, 150, 90))
    path = (222, 204, 160)
    pts_l, pts_r = [], []
    for t in np.linspace(0, 1, 12):
        d = 40 * (1 - t) + 1.2 * t
        y = c.y(d)
        center = c.x(0.5 + 0.25 * math.sin(t * 2.5 + 0.6))
        half = 1.5 * c.ppm(d)
        pts_l.append((center - half, y))
        pts_r.append((center + half, y))
    c.draw.polygon(pts_l + pts_r[::-1], fill=c.paint(c.atm.snowy(path), 10))
    for fx, d in ((0.06, 11.0), (0.9, 13.0), (0.3, 26.0), (1.18, 10.0), (-0.18, 12.0), (0.68, 34.0)):
        _round_tree(c, c.x(fx + c.rng.uniform(-0.03, 0.03)), d, 7.5)
    # A bench beside the path.
    bx, d = c.x(0.74 + c.rng.uniform(-0.04, 0.04)), 12.0
    base, q = c.y(d), c.ppm(d)
    wood = (150, 100, 58)
    for k in range(3):
        c.shape(
            "rectangle",
            (bx - 1.0 * q, base - (0.9 - 0.14 * k) * q, bx + 1.0 * q, base - (0.8 - 0.14 * k) * q),
            wood,
            d,
        )
    c.shape("rectangle", (bx - 1.0 * q, base - 0.48 * q, bx + 1.0 * q, base - 0.4 * q), wood, d)
    for lx in (-0.85, 0.85):
        c.draw.rectangle(
            (bx + lx * q - 0.05 * q, base - 0.42 * q, bx + lx * q + 0.05 * q, base),
            fill=c.paint((50, 50, 54), d),
        )
    # Lamp post.
    lx, d = c.x(0.22), 9.0
    base, q = c.y(d), c.ppm(d)
    post = c.paint((40, 70, 50), d)
    c.draw.rectangle((lx - 0.06 * q, base - 3.6 * q, lx + 0.06 * q, base), fill=post)
    night = c.atm.time_of_day == "night"
    c.draw.ellipse(
        (lx - 0.25 * q, base - 4.0 * q, lx + 0.25 * q, base - 3.5 * q),
        fill=(255, 230, 160) if night else c.paint((230, 230, 220), d),
    )
    _lamp_glow(c, lx, base - 3.75 * q, 1.6 * q)
    # Flower beds.
    for _ in range(60):
        fx = c.rng.choice((c.rng.uniform(-0.25, 0.15), c.rng.uniform(0.85, 1.25)))
        d = c.rng.uniform(3.5, 9)
        x, y, r = c.x(fx), c.y(d) - c.rng.uniform(0, 0.2) * c.ppm(d), 0.09 * c.ppm(d)
        colour = c.rng.choice(((230, 50, 60), (250, 210, 40), (240, 120, 180), (250, 250, 250)))
        c.draw.ellipse((x - r, y - r, x + r, y + r), fill=c.paint(colour, d))


def _living_room(c: _Canvas) -> None:
    wall_d = 6.0
    top, floor = _room(c, (222, 190, 150), (150, 100, 62), (160, 108, 66), wall_d)
    p = c.ppm(wall_d)
    stripe = c.paint((206, 172, 134))
    for k in range(int(c.width / (0.5 * p)) + 1):
        c.draw.rectangle((k * 0.5 * p, max(top, 0), k * 0.5 * p + 0.12 * p, floor - 0.12 * p), fill=stripe)
    seam = c.paint((120, 80, 48))
    d = wall_d
    while d > 0.6:
        d -= 0.45
        y = c.y(d)
        if y > c.height:
            break
        c.draw.line([(0, y), (c.width, y)], fill=seam, width=1)
    # Window with red curtains.
    wx0, wx1 = c.x(0.56 + c.rng.uniform(-0.03, 0.03)), c.x(0.84)
    wy0, wy1 = floor - 2.3 * p, floor - 1.0 * p
    _window(c, (wx0, wy0, wx1, wy1))
    curtain = (176, 40, 44)
    for x0 in (wx0 - 0.35 * p, wx1 - 0.15 * p):
        c.shape(
            "polygon",
            [
                (x0, wy0 - 0.2 * p),
                (x0 + 0.5 * p, wy0 - 0.2 * p),
                (x0 + 0.6 * p, wy1 + 0.4 * p),
                (x0 - 0.1 * p, wy1 + 0.4 * p),
            ],
            curtain,
        )
    c.draw.rectangle(
        (wx0 - 0.5 * p, wy0 - 0.28 * p, wx1 + 0.5 * p, wy0 - 0.18 * p), fill=c.paint((90, 60, 40))
    )
    # Bookshelf with coloured spines.
    sx = c.x(-0.05 + c.rng.uniform(-0.03, 0.03))
    c.shape("rectangle", (sx - 0.7 * p, floor - 2.1 * p, sx + 0.7 * p, floor), (110, 70, 40))
    spines = ((200, 50, 50), (50, 90, 180), (230, 190, 60), (60, 140, 80), (240, 240, 230), (120, 60, 150))
    for shelf in range(4):
        y1 = floor - 0.1 * p - shelf * 0.5 * p
        x = sx - 0.62 * p
        while x < sx + 0.55 * p:
            w = c.rng.uniform(0.07, 0.14) * p
            c.draw.rectangle(
                (x, y1 - c.rng.uniform(0.3, 0.42) * p, x + w, y1), fill=c.paint(c.rng.choice(spines))
            )
            x += w + 0.01 * p
        c.draw.rectangle((sx - 0.66 * p, y1, sx + 0.66 * p, y1 + 0.05 * p), fill=c.paint((80, 50, 30)))
    # The green sofa against the wall, a painting above it.
    fx = c.x(0.3 + c.rng.uniform(-0.03, 0.03))
    green = (70, 136, 92)
    c.shape(
        "rounded_rectangle",
        (fx - 1.4 * p, floor - 1.0 * p, fx + 1.4 * p, floor - 0.35 * p),
        green,
        radius=0.2 * p,
    )
    c.shape(
        "rounded_rectangle",
        (fx - 1.35 * p, floor - 0.55 * p, fx + 1.35 * p, floor - 0.12 * p),
        shade(green, 1.1),
        radius=0.12 * p,
    )
    for ax in (-1.45, 1.15):
        c.shape(
            "rounded_rectangle",
            (fx + ax * p, floor - 0.75 * p, fx + (ax + 0.3) * p, floor - 0.08 * p),
            green,
            radius=0.12 * p,
        )
    c.shape("rectangle", (fx - 0.6 * p, floor - 2.0 * p, fx + 0.6 * p, floor - 1.3 * p), (190, 150, 60))
    c.gradient(
        (fx - 0.52 * p, floor - 1.93 * p, fx + 0.52 * p, floor - 1.37 * p),
        c.paint((120, 170, 220)),
        c.paint((110, 160, 90)),
    )
    # Floor lamp, lit at night.
    lx = c.x(0.95)
    c.draw.rectangle((lx - 0.03 * p, floor - 1.6 * p, lx + 0.03 * p, floor), fill=c.paint((60, 50, 40)))
    night = c.atm.time_of_day in ("night", "dawn")
    shade_colour = (255, 226, 160) if night else c.paint((240, 226, 190))
    c.draw.polygon(
        [
            (lx - 0.22 * p, floor - 1.55 * p),
            (lx + 0.22 * p, floor - 1.55 * p),
            (lx + 0.14 * p, floor - 1.9 * p),
            (lx - 0.14 * p, floor - 1.9 * p),
        ],
        fill=shade_colour,
        outline=outline_of(shade_colour),
    )
    if night:
        c.glow(lx, floor - 1.7 * p, 1.6 * p, (255, 210, 140), 140)
    # A round rug on the floor.
    ry, rq = c.y(4.6), c.ppm(4.6)
    c.draw.ellipse(
        (c.x(0.5) - 2.2 * rq, ry - 0.5 * rq, c.x(0.5) + 2.2 * rq, ry + 0.5 * rq),
        fill=c.paint((170, 70, 60)),
        outline=c.paint((220, 170, 90)),
        width=2 * SUPERSAMPLE,
    )


_DRAW: dict[str, Callable[[_Canvas], None]] = {
    "beach": _beach,
    "forest": _forest,
    "street": _street,
    "office": _office,
    "kitchen": _kitchen,
    "harbour": _harbour,
    "lighthouse": _lighthouse,
    "snow-mountain": _snow_mountain,
    "ship-deck": _ship_deck,
    "desert": _desert,
    "park": _park,
    "living-room": _living_room,
}


def draw_backdrop(place_key: str, variant: int, atm: Atmosphere, rig: CameraRig) -> Image.Image:
    """The supersampled backdrop canvas (RGB, (1 + 2 * margin) frame widths wide)."""
    get_place(place_key)  # a clear error for an unknown place
    canvas = _Canvas(atm, rig, variant, place_key)
    _DRAW[place_key](canvas)
    return canvas.image


@lru_cache(maxsize=64)
def backdrop(place_key: str, variant: int, time_of_day: str, weather: str, angle: str) -> Image.Image:
    """The cached backdrop of a place; callers must copy it before drawing on it.

    A scene reuses one backdrop per camera angle for all its shots, so a small per-process
    cache removes almost all backdrop drawing from the per-frame cost.
    """
    atm = atmosphere(time_of_day, weather, get_place(place_key).indoor)
    return draw_backdrop(place_key, variant, atm, rig(angle))
