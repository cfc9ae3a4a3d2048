"""Rendering a keyframe: backdrop view, characters, camera roll, weather, grade.

    spec -> blocking (positions, boxes) -> backdrop crop (cached) -> figures, far to near
         -> dutch roll -> 2x box-filter down to 224x128 -> weather overlay -> style grade

Backdrops are the expensive part (about 5 ms each) and are shared by every shot of a scene
from the same camera angle, so they are cached per process; the per-frame work is the
figures and a few Pillow C calls, which keeps keyframes at several hundred per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

from train.data.world.atmosphere import apply_weather, atmosphere
from train.data.world.blocking import FrameLayout, frame_layout, roll_scale
from train.data.world.camera import FRAME_HEIGHT, FRAME_WIDTH, SUPERSAMPLE
from train.data.world.figure import draw_figure
from train.data.world.places import get_place
from train.data.world.scenery import backdrop
from train.data.world.spec import FrameSpec
from train.data.world.styles import apply_style


@dataclass(frozen=True)
class CharacterBoxes:
    """Ground truth for one character in a rendered frame (frame pixels, clipped)."""

    name: str
    identity: str
    box: tuple[int, int, int, int]
    face_box: tuple[int, int, int, int]
    action: str
    expression: str

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "identity": self.identity,
            "box": list(self.box),
            "face_box": list(self.face_box),
            "action": self.action,
            "expression": self.expression,
        }


@lru_cache(maxsize=96)
def _backdrop_view(
    place: str,
    variant: int,
    time_of_day: str,
    weather: str,
    angle: str,
    crop: tuple[float, float, float, float],
) -> Image.Image:
    full = backdrop(place, variant, time_of_day, weather, angle)
    size = (FRAME_WIDTH * SUPERSAMPLE, FRAME_HEIGHT * SUPERSAMPLE)
    if abs(crop[2] - crop[0] - size[0]) < 1e-6 and all(abs(v - round(v)) < 1e-6 for v in crop):
        return full.crop(tuple(round(v) for v in crop))
    # A magnified backdrop is soft anyway (a longer lens, out of focus), so resample it at
    # the output size and repeat pixels up to the canvas: half the cost of a full resample,
    # and identical after the final 2x box filter.
    small = full.resize((FRAME_WIDTH, FRAME_HEIGHT), Image.Resampling.BILINEAR, box=crop)
    return small.resize(size, Image.Resampling.NEAREST)


def character_boxes(layout: FrameLayout) -> list[CharacterBoxes]:
    """Ground-truth boxes of every character of a laid-out frame, in spec order."""
    return [
        CharacterBoxes(
            name=p.spec.identity.name,
            identity=p.spec.identity.identity_id,
            box=p.box,
            face_box=p.face_box,
            action=p.spec.action,
            expression=p.spec.expression,
        )
        for p in layout.placements
    ]


def _roll(canvas: Image.Image, degrees: float) -> Image.Image:
    """Rotate the canvas about its centre, magnified so no empty corner shows (dutch angle)."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    inv = 1.0 / roll_scale(degrees)
    w, h = canvas.size
    cx, cy = w / 2, h / 2
    # Output pixel -> input pixel: the inverse of the forward map used for the boxes.
    a, b = inv * cos, -inv * sin
    d, e = inv * sin, inv * cos
    c = cx - a * cx - b * cy
    f = cy - d * cx - e * cy
    return canvas.transform((w, h), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR)


def render_keyframe(spec: FrameSpec) -> tuple[Image.Image, list[CharacterBoxes]]:
    """Render one 224x128 RGB frame and the ground-truth boxes of its characters."""
    place = get_place(spec.place)
    atm = atmosphere(spec.time_of_day, spec.weather, place.indoor)
    layout = frame_layout(spec)
    crop = tuple(round(v, 3) for v in layout.view.crop)
    canvas = _backdrop_view(
        spec.place, spec.variant, spec.time_of_day, spec.weather, spec.camera_angle, crop
    ).copy()
    # Figures are opaque: an RGB draw skips Pillow's per-pixel blending (40% faster);
    # only the translucent contact shadows need the RGBA one.
    draw = ImageDraw.Draw(canvas)
    shadows = ImageDraw.Draw(canvas, "RGBA")
    feet_visible = spec.shot_size in ("extreme-wide", "wide", "full")
    for placement in sorted(layout.placements, key=lambda p: p.order):
        g = placement.geometry
        if feet_visible:
            # A contact shadow anchors the figure on the ground.
            shadows.ellipse(
                (g.cx - 0.75 * g.u, g.foot_y - 0.12 * g.u, g.cx + 0.75 * g.u, g.foot_y + 0.16 * g.u),
                fill=(0, 0, 0, 60 if not atm.is_dark else 90),
            )
        draw_figure(draw, placement.spec.identity, placement.pose, g, atm.paint_figure, place.seat)
    if layout.view.roll_degrees:
        canvas = _roll(canvas, layout.view.roll_degrees)
    frame = canvas.reduce(SUPERSAMPLE)
    if not place.indoor:
        frame = apply_weather(frame, spec.weather, spec.time_of_day, spec.weather_phase)
    frame = apply_style(frame, spec.style)
    return frame, character_boxes(layout)
