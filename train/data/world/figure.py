"""Drawing one character: the pose geometry, the body in its outfit, and the head.

Everything is measured in canvas pixels of the supersampled canvas the caller draws on.
The unit is `h`, the height of the skull from chin to crown: a standing figure is about
4.4 h tall (cartoon proportions; a big head keeps faces readable at wide shots).

`figure_geometry` is pure arithmetic (no drawing), so ground-truth boxes can be computed
without rendering; `draw_figure` draws exactly that geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageDraw

from train.data.world.cast import (
    EYE_COLOURS,
    HAIR_COLOURS,
    HAT_COLOURS,
    METALS,
    OUTFIT_COLOURS,
    SKIN_TONES,
    Identity,
)
from train.data.world.colour import RGB, mix, outline_of, shade

ACTIONS = ("stand", "walk", "sit", "raise-arms", "talk", "point")
EXPRESSIONS = ("neutral", "happy", "sad", "surprised", "angry")

Point = tuple[float, float]
Box = tuple[float, float, float, float]

# Skull width / skull height per face shape.
FACE_WIDTH = {"round": 0.9, "oval": 0.78, "square": 0.86, "long": 0.7, "heart": 0.82}
# Proportions of the standing body in head heights.
NECK, TORSO, LEGS = 0.14, 1.42, 1.72
SHOULDERS, WAIST = 1.22, 0.96
ARM_WIDTH, LEG_WIDTH = 0.3, 0.36
UPPER_ARM, FOREARM = 0.72, 0.66

# Trousers and shoes are a function of the outfit type, so the description (which names
# the outfit type) still determines every colour on screen.
TROUSERS: dict[str, RGB | None] = {
    "t-shirt": (56, 84, 140),
    "hoodie": (64, 64, 72),
    "suit": None,  # same cloth as the jacket
    "dress": None,  # bare legs
    "raincoat": (48, 50, 60),
    "sweater": (128, 108, 80),
}
SHOES: dict[str, RGB] = {
    "t-shirt": (236, 236, 236),
    "hoodie": (52, 52, 60),
    "suit": (30, 28, 30),
    "dress": (160, 40, 56),
    "raincoat": (70, 60, 50),
    "sweater": (96, 60, 38),
}
SHORT_SLEEVES = ("t-shirt", "dress")
INK_EYE = (28, 22, 28)
MOUTH = (124, 36, 44)


@dataclass(frozen=True)
class Pose:
    """What a figure is doing: action, expression, facing (-1 left .. 1 right), phase in [0, 1)."""

    action: str = "stand"
    expression: str = "neutral"
    facing: float = 0.0
    phase: float = 0.0


@dataclass(frozen=True)
class Foreshortening:
    """How the camera angle distorts proportions: high angles enlarge heads, low ones legs."""

    head: float = 1.0
    legs: float = 1.0


@dataclass(frozen=True)
class FigureGeometry:
    """Where every part of one figure lands on the canvas."""

    u: float  # body unit: head height before foreshortening
    hh: float  # drawn skull height
    hw: float  # drawn skull width
    skull: Box  # (left, top, right, bottom) of the skull
    face_x: float  # centre of the facial features (shifted by yaw)
    cx: float
    shoulder_y: float
    hip_y: float
    foot_y: float
    knee_y: float
    arms: tuple[
        tuple[Point, Point, Point], tuple[Point, Point, Point]
    ]  # (shoulder, elbow, hand), left then right
    legs: tuple[tuple[Point, Point, Point], tuple[Point, Point, Point]]  # (hip, knee, ankle)
    seat: Box | None
    box: Box
    face_box: Box
    direction: int  # +1 turned towards frame right, -1 towards frame left


def _arm_angles(action: str, side: int, direction: int, phase: float) -> tuple[float, float]:
    """(upper arm, forearm) angles in degrees from straight down; positive turns to frame right."""
    wave = math.sin(2 * math.pi * phase)
    if action == "raise-arms":
        return side * (150 + 8 * wave), side * (166 + 6 * wave)
    if action == "walk":
        swing = 24 * wave * (1 if side < 0 else -1)
        return side * 8 + swing * direction, side * 8 + swing * direction + 14 * direction
    if action == "sit":
        return side * 10, -side * 22
    if action == "talk" and side == direction:
        return side * 24, side * (104 + 22 * wave)
    if action == "point" and side == direction:
        return side * 84, side * 88
    return side * 12, side * 6


def _along(start: Point, angle: float, length: float) -> Point:
    rad = math.radians(angle)
    return (start[0] + math.sin(rad) * length, start[1] + math.cos(rad) * length)


def _head_extent(identity: Identity, skull: Box, hw: float, hh: float, direction: int) -> Box:
    """The box the hair and hat reach beyond the skull (matches `_draw_hair` and `_draw_hat`)."""
    left, top, right, bottom = skull
    up = {"curly": 0.36, "spiky": 0.3, "bun": 0.33, "mohawk": 0.36}.get(identity.hair_style, 0.1)
    side = {"curly": 0.4, "long": 0.13, "bob": 0.15, "ponytail": 0.1}.get(identity.hair_style, 0.09)
    up = max(up, {"cap": 0.15, "beanie": 0.36, "fedora": 0.33, "top hat": 0.63}.get(identity.hat, 0.0))
    if identity.hat == "fedora":
        side = max(side, 0.3)
    elif identity.hat == "top hat":
        side = max(side, 0.18)
    x0, x1 = left - side * hw, right + side * hw
    if identity.hair_style == "ponytail":
        if direction >= 0:
            x0 = min(x0, left - 0.35 * hw)
        else:
            x1 = max(x1, right + 0.35 * hw)
    if identity.hat == "cap":
        x0, x1 = (x0, max(x1, right + 0.28 * hw)) if direction >= 0 else (min(x0, left - 0.28 * hw), x1)
    return (x0, top - up * hh, x1, bottom + 0.04 * hh)


def figure_geometry(
    identity: Identity,
    pose: Pose,
    cx: float,
    foot_y: float,
    u: float,
    foreshortening: Foreshortening = Foreshortening(),
) -> FigureGeometry:
    """Place every joint of a figure standing (or sitting) with its feet at (cx, foot_y)."""
    if pose.action not in ACTIONS:
        raise ValueError(f"unknown action {pose.action!r}; use one of {', '.join(ACTIONS)}")
    if pose.expression not in EXPRESSIONS:
        raise ValueError(f"unknown expression {pose.expression!r}; use one of {', '.join(EXPRESSIONS)}")
    direction = 1 if pose.facing >= 0 else -1
    hh = u * foreshortening.head
    hw = hh * FACE_WIDTH[identity.face_shape]
    legs = LEGS * u * foreshortening.legs
    walking = pose.action == "walk"
    # Walking bobs the body up twice per stride.
    bob = 0.05 * u * abs(math.sin(2 * math.pi * pose.phase)) if walking else 0.0
    if pose.action == "sit":
        hip_y = foot_y - 0.95 * u * foreshortening.legs
        knee_y = hip_y + 0.16 * u
    else:
        hip_y = foot_y - legs - bob
        knee_y = hip_y + legs * 0.5
    shoulder_y = hip_y - TORSO * u
    chin_y = shoulder_y - NECK * u
    head_cx = cx + pose.facing * 0.06 * u
    skull = (head_cx - hw / 2, chin_y - hh, head_cx + hw / 2, chin_y)
    face_x = head_cx + pose.facing * 0.16 * hw

    arms = []
    for side in (-1, 1):
        shoulder = (cx + side * (SHOULDERS / 2 - 0.1) * u, shoulder_y + 0.14 * u)
        upper, fore = _arm_angles(pose.action, side, direction, pose.phase)
        elbow = _along(shoulder, upper, UPPER_ARM * u)
        hand = _along(elbow, fore, FOREARM * u)
        arms.append((shoulder, elbow, hand))

    leg_points = []
    stride = 0.34 * u * math.sin(2 * math.pi * pose.phase) if walking else 0.0
    for side in (-1, 1):
        hip = (cx + side * 0.22 * u, hip_y - 0.06 * u)
        if pose.action == "sit":
            knee = (cx + side * 0.3 * u, knee_y)
            ankle = (cx + side * 0.3 * u, foot_y - 0.08 * u)
        else:
            swing = stride * (1 if side < 0 else -1) * direction
            # The foot swinging back lifts off the ground.
            lift = 0.1 * u * max(0.0, -swing * direction / (0.34 * u)) if walking else 0.0
            ankle = (hip[0] + side * 0.04 * u + swing, foot_y - 0.08 * u - lift)
            knee = ((hip[0] + ankle[0]) / 2 + 0.05 * u * direction * (1 if walking else 0), knee_y)
        leg_points.append((hip, knee, ankle))

    seat = (cx - 0.85 * u, hip_y - 0.08 * u, cx + 0.85 * u, foot_y) if pose.action == "sit" else None

    xs = [skull[0], skull[2]]
    ys = [skull[1], skull[3]]
    reach = 0.5 * ARM_WIDTH * u + 0.16 * u
    for shoulder, elbow, hand in arms:
        for x, y in (shoulder, elbow, hand):
            xs += [x - reach, x + reach]
            ys += [y - reach, y + reach]
    for _hip, _knee, ankle in leg_points:
        xs += [ankle[0] - 0.3 * u, ankle[0] + 0.3 * u]
        ys.append(ankle[1] + 0.16 * u)
    xs += [cx - SHOULDERS / 2 * u, cx + SHOULDERS / 2 * u]
    if identity.outfit_type in ("dress", "raincoat"):
        xs += [cx - 0.74 * u, cx + 0.74 * u]
    head = _head_extent(identity, skull, hw, hh, direction)
    xs += [head[0], head[2]]
    ys += [head[1], head[3]]
    box = (min(xs), min(ys), max(xs), max(ys))
    # A face detector's box: the skull with ears and hairline, not the hat or a ponytail.
    face_box = (skull[0] - 0.1 * hw, skull[1] - 0.08 * hh, skull[2] + 0.1 * hw, skull[3] + 0.03 * hh)
    return FigureGeometry(
        u=u,
        hh=hh,
        hw=hw,
        skull=skull,
        face_x=face_x,
        cx=cx,
        shoulder_y=shoulder_y,
        hip_y=hip_y,
        foot_y=foot_y,
        knee_y=knee_y,
        arms=(arms[0], arms[1]),
        legs=(leg_points[0], leg_points[1]),
        seat=seat,
        box=box,
        face_box=face_box,
        direction=direction,
    )


# --- drawing --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _unit_face_outline(shape: str, points: int = 36) -> tuple[Point, ...]:
    """The face outline in a unit box centred at 0 (x, y in [-0.5, 0.5], y down)."""
    exponent = {"round": 2.3, "oval": 2.1, "square": 3.8, "long": 2.4, "heart": 2.3}[shape]
    outline = []
    for i in range(points):
        t = 2 * math.pi * i / points
        s, c = math.sin(t), math.cos(t)
        x = math.copysign(abs(c) ** (2 / exponent), c) * 0.5
        y = math.copysign(abs(s) ** (2 / exponent), s) * 0.5
        if shape == "oval":
            x *= 1 - 0.16 * max(0.0, 2 * y)
        elif shape == "heart":
            x *= 1 - 0.5 * max(0.0, 2 * y) ** 1.4
        outline.append((x, y))
    return tuple(outline)


class _Pen:
    """Draw calls with the world's cartoon ink outline at one line width."""

    def __init__(self, draw: ImageDraw.ImageDraw, ink_width: int):
        self.draw = draw
        self.ink = ink_width

    def ellipse(self, box: Box, fill: RGB, ink: bool = True) -> None:
        if box[2] - box[0] < 1 or box[3] - box[1] < 1:
            return
        if ink:
            self.draw.ellipse(box, fill=fill, outline=outline_of(fill), width=self.ink)
        else:
            self.draw.ellipse(box, fill=fill)

    def polygon(self, points: list[Point], fill: RGB, ink: bool = True) -> None:
        # Fill, then stroke the closed outline as a plain line: Pillow's wide polygon
        # outline costs three times as much and looks the same after downsampling.
        self.draw.polygon(points, fill=fill)
        if ink:
            self.draw.line([*points, points[0]], fill=outline_of(fill), width=self.ink)

    def chord(self, box: Box, start: float, end: float, fill: RGB, ink: bool = True) -> None:
        """The part of an ellipse between two angles (degrees, clockwise from 3 o'clock)."""
        self.polygon(_arc_points(box, start, end), fill, ink)

    def rounded(self, box: Box, radius: float, fill: RGB, ink: bool = True) -> None:
        """A rounded rectangle (Pillow's own is ten times slower: it draws four pieslices)."""
        x0, y0, x1, y1 = box
        r = max(0.0, min(radius, (x1 - x0) / 2, (y1 - y0) / 2))
        points: list[Point] = []
        for cx, cy, start in (
            (x1 - r, y0 + r, 270),
            (x1 - r, y1 - r, 0),
            (x0 + r, y1 - r, 90),
            (x0 + r, y0 + r, 180),
        ):
            points += _arc_points((cx - r, cy - r, cx + r, cy + r), start, start + 90, 4)
        self.polygon(points, fill, ink)

    def limb(
        self, points: list[Point], width: float, fill: RGB, ink: bool = True, start_cap: bool = True
    ) -> None:
        """A thick jointed line with round joints and ends (an arm or leg)."""
        r = width / 2
        caps = points if start_cap else points[1:]
        if ink:
            o = r + self.ink
            colour = outline_of(fill)
            self.draw.line(points, fill=colour, width=max(1, round(2 * o)))
            for x, y in caps:
                self.draw.ellipse((x - o, y - o, x + o, y + o), fill=colour)
        self.draw.line(points, fill=fill, width=max(1, round(width)))
        for x, y in caps:
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


@lru_cache(maxsize=64)
def _unit_arc(start: float, end: float, segments: int) -> tuple[Point, ...]:
    steps = [math.radians(start + (end - start) * k / segments) for k in range(segments + 1)]
    return tuple((math.cos(t), math.sin(t)) for t in steps)


def _arc_points(box: Box, start: float, end: float, segments: int = 14) -> list[Point]:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    rx, ry = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    return [(cx + rx * x, cy + ry * y) for x, y in _unit_arc(start, end, segments)]


def draw_figure(
    draw: ImageDraw.ImageDraw,
    identity: Identity,
    pose: Pose,
    geometry: FigureGeometry,
    paint=lambda c: c,
    seat_colour: RGB = (120, 84, 52),
) -> None:
    """Draw a figure at `geometry`; `paint` maps daylight colours to the scene's light."""
    g = geometry
    u = g.u
    pen = _Pen(draw, max(1, round(g.hh * 0.04)))
    skin = paint(SKIN_TONES[identity.skin])
    cloth = paint(OUTFIT_COLOURS[identity.outfit_colour])
    kind = identity.outfit_type
    trousers_base = TROUSERS[kind]
    if kind == "suit":
        trousers = shade(cloth, 0.85)
    elif trousers_base is None:
        trousers = skin
    else:
        trousers = paint(trousers_base)
    shoes = paint(SHOES[kind])

    if g.seat is not None:
        x0, y0, x1, y1 = g.seat
        wood = paint(seat_colour)
        leg = 0.14 * u
        pen.polygon(
            [(x0 + 0.1 * u, y0), (x0 + 0.1 * u + leg, y0), (x0 + 0.1 * u + leg, y1), (x0 + 0.1 * u, y1)],
            shade(wood, 0.8),
        )
        pen.polygon(
            [(x1 - 0.1 * u - leg, y0), (x1 - 0.1 * u, y0), (x1 - 0.1 * u, y1), (x1 - 0.1 * u - leg, y1)],
            shade(wood, 0.8),
        )
        pen.polygon([(x0, y0), (x1, y0), (x1, y0 + 0.22 * u), (x0, y0 + 0.22 * u)], wood)

    _draw_back_hair(pen, identity, g, paint)

    # Legs, then shoes, then the coat or skirt that hangs over them.
    for hip, knee, ankle in g.legs:
        pen.limb([hip, knee, ankle], LEG_WIDTH * u, trousers, start_cap=False)
    for _hip, _knee, ankle in g.legs:
        fx = ankle[0] + g.direction * 0.06 * u
        pen.ellipse((fx - 0.24 * u, ankle[1] - 0.04 * u, fx + 0.24 * u, ankle[1] + 0.16 * u), shoes)
    cx, sy, hy = g.cx, g.shoulder_y, g.hip_y
    if kind == "dress":
        hem = hy + (0.62 if g.seat is None else 0.3) * u
        pen.polygon(
            [
                (cx - 0.46 * u, hy - 0.2 * u),
                (cx + 0.46 * u, hy - 0.2 * u),
                (cx + 0.72 * u, hem),
                (cx - 0.72 * u, hem),
            ],
            cloth,
        )
    elif kind == "raincoat":
        hem = hy + (0.78 if g.seat is None else 0.3) * u
        pen.polygon(
            [
                (cx - 0.5 * u, hy - 0.2 * u),
                (cx + 0.5 * u, hy - 0.2 * u),
                (cx + 0.66 * u, hem),
                (cx - 0.66 * u, hem),
            ],
            cloth,
        )

    half_s, half_w, corner = SHOULDERS / 2 * u, WAIST / 2 * u, 0.2 * u
    torso = [
        (cx - half_s, sy + corner),
        (cx - half_s + corner, sy),
        (cx + half_s - corner, sy),
        (cx + half_s, sy + corner),
        (cx + half_w, hy),
        (cx - half_w, hy),
    ]
    # The neck goes under the torso (collars and hoods overlap it) and under the chin.
    neck_w = 0.18 * g.hw
    chin = g.skull[3]
    pen.polygon(
        [
            (cx - neck_w, chin - 0.2 * u),
            (cx + neck_w, chin - 0.2 * u),
            (cx + neck_w, sy + 0.12 * u),
            (cx - neck_w, sy + 0.12 * u),
        ],
        shade(skin, 0.88),
        ink=False,
    )
    pen.polygon(torso, cloth)
    _draw_outfit_details(pen, identity, g, cloth, paint)

    sleeve_split = 0.55 if kind in SHORT_SLEEVES else 1.0
    for shoulder, elbow, hand in g.arms:
        if sleeve_split < 1.0:
            cut = (
                shoulder[0] + (elbow[0] - shoulder[0]) * sleeve_split,
                shoulder[1] + (elbow[1] - shoulder[1]) * sleeve_split,
            )
            pen.limb([cut, elbow, hand], ARM_WIDTH * u * 0.86, skin)
            pen.limb([shoulder, cut], ARM_WIDTH * u, cloth)
        else:
            pen.limb([shoulder, elbow, hand], ARM_WIDTH * u, cloth)
        r = 0.15 * u
        pen.ellipse((hand[0] - r, hand[1] - r, hand[0] + r, hand[1] + r), skin)
        if pose.action == "point" and (hand[0] - shoulder[0]) * g.direction > 0.8 * u:
            tip = (hand[0] + g.direction * 0.32 * u, hand[1])
            pen.limb([hand, tip], 0.1 * u, skin, ink=False)

    draw_head(pen, identity, pose, g, paint)


def _draw_outfit_details(pen: _Pen, identity: Identity, g: FigureGeometry, cloth: RGB, paint) -> None:
    u, cx, sy, hy = g.u, g.cx, g.shoulder_y, g.hip_y
    kind = identity.outfit_type
    if g.hh < 14:
        # At extreme-wide sizes details are sub-pixel; only the silhouette and colour count.
        return
    dark = shade(cloth, 0.72)
    if kind == "suit":
        shirt = paint((244, 244, 240))
        pen.polygon([(cx - 0.26 * u, sy), (cx + 0.26 * u, sy), (cx, sy + 0.8 * u)], shirt)
        tie = paint((150, 28, 40)) if identity.outfit_colour not in ("red", "pink") else paint((30, 40, 90))
        pen.polygon(
            [
                (cx - 0.06 * u, sy + 0.06 * u),
                (cx + 0.06 * u, sy + 0.06 * u),
                (cx + 0.09 * u, sy + 0.6 * u),
                (cx, sy + 0.72 * u),
                (cx - 0.09 * u, sy + 0.6 * u),
            ],
            tie,
        )
        pen.draw.line([(cx - 0.3 * u, sy), (cx - 0.02 * u, sy + 0.84 * u)], fill=dark, width=pen.ink)
        pen.draw.line([(cx + 0.3 * u, sy), (cx + 0.02 * u, sy + 0.84 * u)], fill=dark, width=pen.ink)
    elif kind == "hoodie":
        pen.ellipse((cx - 0.5 * u, sy - 0.22 * u, cx + 0.5 * u, sy + 0.26 * u), dark)
        pen.polygon(
            [
                (cx - 0.32 * u, hy - 0.5 * u),
                (cx + 0.32 * u, hy - 0.5 * u),
                (cx + 0.38 * u, hy - 0.08 * u),
                (cx - 0.38 * u, hy - 0.08 * u),
            ],
            shade(cloth, 0.85),
        )
        string = paint((236, 236, 236))
        pen.draw.line(
            [(cx - 0.1 * u, sy + 0.1 * u), (cx - 0.12 * u, sy + 0.5 * u)], fill=string, width=pen.ink
        )
        pen.draw.line(
            [(cx + 0.1 * u, sy + 0.1 * u), (cx + 0.12 * u, sy + 0.5 * u)], fill=string, width=pen.ink
        )
    elif kind == "sweater":
        stripe = (
            mix(cloth, (250, 250, 250), 0.55) if identity.outfit_colour != "white" else paint((60, 90, 190))
        )
        for top in (0.42, 0.82):
            y0, y1 = sy + top * u, sy + (top + 0.16) * u
            inset0 = (y0 - sy) / (hy - sy) * (SHOULDERS - WAIST) / 2 * u
            inset1 = (y1 - sy) / (hy - sy) * (SHOULDERS - WAIST) / 2 * u
            half = SHOULDERS / 2 * u
            pen.polygon(
                [
                    (cx - half + inset0, y0),
                    (cx + half - inset0, y0),
                    (cx + half - inset1, y1),
                    (cx - half + inset1, y1),
                ],
                stripe,
                ink=False,
            )
        pen.ellipse((cx - 0.3 * u, sy - 0.1 * u, cx + 0.3 * u, sy + 0.14 * u), dark)
    elif kind == "raincoat":
        pen.polygon(
            [
                (cx - 0.36 * u, sy - 0.06 * u),
                (cx, sy + 0.3 * u),
                (cx - 0.12 * u, sy + 0.4 * u),
                (cx - 0.46 * u, sy + 0.06 * u),
            ],
            dark,
        )
        pen.polygon(
            [
                (cx + 0.36 * u, sy - 0.06 * u),
                (cx, sy + 0.3 * u),
                (cx + 0.12 * u, sy + 0.4 * u),
                (cx + 0.46 * u, sy + 0.06 * u),
            ],
            dark,
        )
        r = 0.05 * u
        for k in range(4):
            y = sy + (0.55 + 0.4 * k) * u
            pen.draw.ellipse((cx - r, y - r, cx + r, y + r), fill=outline_of(cloth))
    elif kind in ("t-shirt", "dress"):
        pen.chord((cx - 0.28 * u, sy - 0.16 * u, cx + 0.28 * u, sy + 0.2 * u), 0, 180, dark, ink=False)


def _draw_back_hair(pen: _Pen, identity: Identity, g: FigureGeometry, paint) -> None:
    """Hair that sits behind the face and shoulders (drawn before the body)."""
    style = identity.hair_style
    if style in ("bald", "mohawk", "buzz"):
        return
    hair = paint(HAIR_COLOURS[identity.hair_colour])
    left, top, right, bottom = g.skull
    hw, hh = g.hw, g.hh
    mid = (left + right) / 2
    if style == "long":
        pen.rounded((left - 0.13 * hw, top - 0.1 * hh, right + 0.13 * hw, bottom + 0.55 * hh), 0.5 * hw, hair)
    elif style == "bob":
        pen.rounded((left - 0.15 * hw, top - 0.1 * hh, right + 0.15 * hw, top + 0.94 * hh), 0.45 * hw, hair)
    elif style == "curly":
        box = (left - 0.3 * hw, top - 0.27 * hh, right + 0.3 * hw, top + 0.86 * hh)
        cxh, cyh = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        rx, ry = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
        bump = 0.15 * hw
        for k in range(14):
            t = 2 * math.pi * k / 14
            x, y = cxh + rx * math.cos(t), cyh + ry * math.sin(t)
            pen.ellipse((x - bump, y - bump, x + bump, y + bump), hair)
        pen.ellipse(box, hair, ink=False)
    elif style == "ponytail":
        side = -g.direction
        x = mid + side * 0.56 * hw
        pen.ellipse((x - 0.18 * hw, top + 0.12 * hh, x + 0.18 * hw, top + 0.95 * hh), hair)
    if style in ("short", "ponytail", "bun", "spiky"):
        pen.ellipse((left - 0.06 * hw, top - 0.09 * hh, right + 0.06 * hw, top + 0.72 * hh), hair)
    if style == "bun":
        r = 0.2 * hh
        pen.ellipse((mid - r, top - 0.13 * hh - r, mid + r, top - 0.13 * hh + r), hair)


def _draw_front_hair(pen: _Pen, identity: Identity, g: FigureGeometry, paint) -> None:
    """Fringe and hair on top of the skull (drawn over the face)."""
    style = identity.hair_style
    hair = paint(HAIR_COLOURS[identity.hair_colour])
    left, top, right, bottom = g.skull
    hw, hh = g.hw, g.hh
    mid = (left + right) / 2
    draw = pen.draw
    if style == "bald":
        if hh >= 24:
            shine = mix(paint(SKIN_TONES[identity.skin]), (255, 255, 255), 0.35)
            draw.ellipse((mid - 0.18 * hw, top + 0.06 * hh, mid + 0.02 * hw, top + 0.14 * hh), fill=shine)
        return
    if style == "mohawk":
        pen.polygon(
            [
                (mid - 0.1 * hw, top + 0.3 * hh),
                (mid - 0.13 * hw, top - 0.2 * hh),
                (mid, top - 0.36 * hh),
                (mid + 0.13 * hw, top - 0.2 * hh),
                (mid + 0.1 * hw, top + 0.3 * hh),
            ],
            hair,
        )
        return
    if style == "buzz":
        fuzz = mix(hair, paint(SKIN_TONES[identity.skin]), 0.25)
        pen.chord((left - 0.02 * hw, top - 0.04 * hh, right + 0.02 * hw, top + 0.56 * hh), 180, 360, fuzz)
        return
    depth = {"bob": 0.78, "long": 0.66, "curly": 0.5, "ponytail": 0.5, "bun": 0.5}.get(style, 0.62)
    pen.chord((left - 0.05 * hw, top - 0.09 * hh, right + 0.05 * hw, top + depth * hh), 180, 360, hair)
    if style == "short":
        # A side-swept fringe, falling towards the side the character faces.
        d = g.direction
        draw.polygon(
            [
                (mid - d * 0.1 * hw, top + 0.1 * hh),
                (mid + d * 0.42 * hw, top + 0.12 * hh),
                (mid + d * 0.3 * hw, top + 0.34 * hh),
            ],
            fill=hair,
        )
    elif style == "long":
        for side in (-1, 1):
            edge = left if side < 0 else right
            draw.polygon(
                [
                    (edge - side * 0.05 * hw, top + 0.2 * hh),
                    (edge + side * 0.02 * hw, top + 0.2 * hh),
                    (edge + side * 0.1 * hw, bottom + 0.3 * hh),
                    (edge - side * 0.16 * hw, bottom + 0.3 * hh),
                ],
                fill=hair,
            )
    elif style == "curly":
        r = 0.13 * hw
        for k in range(5):
            x = left + hw * (0.12 + 0.19 * k)
            pen.ellipse((x - r, top + 0.1 * hh - r, x + r, top + 0.1 * hh + r), hair)
    elif style == "spiky":
        spikes = []
        for k in range(7):
            t = math.pi * (1 + k / 6)
            radius = 0.5 if k % 2 == 0 else 0.85
            spikes.append(
                (
                    mid + math.cos(t) * hw * 0.55 * radius * 1.1,
                    top + 0.3 * hh + math.sin(t) * hh * 0.6 * radius,
                )
            )
        pen.polygon([(left - 0.04 * hw, top + 0.3 * hh), *spikes, (right + 0.04 * hw, top + 0.3 * hh)], hair)


def _draw_hat(pen: _Pen, identity: Identity, g: FigureGeometry, paint) -> None:
    if identity.hat == "none":
        return
    colour = paint(HAT_COLOURS[identity.hat_colour])
    left, top, right, _bottom = g.skull
    hw, hh = g.hw, g.hh
    mid = (left + right) / 2
    dark = shade(colour, 0.72)
    draw = pen.draw
    if identity.hat == "cap":
        pen.chord((left - 0.06 * hw, top - 0.15 * hh, right + 0.06 * hw, top + 0.58 * hh), 180, 360, colour)
        d = g.direction
        brim_x = mid + d * 0.25 * hw
        pen.ellipse((brim_x - 0.56 * hw, top + 0.15 * hh, brim_x + 0.56 * hw, top + 0.29 * hh), dark)
    elif identity.hat == "beanie":
        pen.chord((left - 0.08 * hw, top - 0.25 * hh, right + 0.08 * hw, top + 0.66 * hh), 180, 360, colour)
        pen.rounded((left - 0.09 * hw, top + 0.08 * hh, right + 0.09 * hw, top + 0.27 * hh), 0.06 * hh, dark)
        r = 0.1 * hh
        pen.ellipse(
            (mid - r, top - 0.26 * hh - r, mid + r, top - 0.26 * hh + r), mix(colour, (255, 255, 255), 0.6)
        )
    elif identity.hat == "fedora":
        pen.ellipse((left - 0.3 * hw, top + 0.02 * hh, right + 0.3 * hw, top + 0.22 * hh), colour)
        crown = [
            (left + 0.02 * hw, top + 0.13 * hh),
            (left + 0.1 * hw, top - 0.31 * hh),
            (mid, top - 0.24 * hh),
            (right - 0.1 * hw, top - 0.31 * hh),
            (right - 0.02 * hw, top + 0.13 * hh),
        ]
        pen.polygon(crown, colour)
        draw.polygon(
            [
                (left + 0.03 * hw, top + 0.0 * hh),
                (right - 0.03 * hw, top + 0.0 * hh),
                (right - 0.02 * hw, top + 0.12 * hh),
                (left + 0.02 * hw, top + 0.12 * hh),
            ],
            fill=dark,
        )
    elif identity.hat == "top hat":
        pen.ellipse((left - 0.18 * hw, top + 0.04 * hh, right + 0.18 * hw, top + 0.2 * hh), colour)
        pen.polygon(
            [
                (left + 0.06 * hw, top - 0.62 * hh),
                (right - 0.06 * hw, top - 0.62 * hh),
                (right - 0.06 * hw, top + 0.13 * hh),
                (left + 0.06 * hw, top + 0.13 * hh),
            ],
            colour,
        )
        band = paint((180, 30, 40)) if identity.hat_colour != "red" else paint((30, 30, 34))
        draw.rectangle((left + 0.06 * hw, top - 0.06 * hh, right - 0.06 * hw, top + 0.06 * hh), fill=band)


def draw_head(pen: _Pen, identity: Identity, pose: Pose, g: FigureGeometry, paint) -> None:
    """Ears, face, beard, features, glasses, fringe, earrings and hat, in that order."""
    left, top, right, bottom = g.skull
    hw, hh = g.hw, g.hh
    draw = pen.draw
    skin = paint(SKIN_TONES[identity.skin])
    yaw = max(-1.0, min(1.0, pose.facing))
    fx = g.face_x

    # Ears: the one turned away from the camera hides behind the head.
    if hh >= 10:
        for side in (-1, 1):
            if side * yaw < -0.45:
                continue
            edge = left if side < 0 else right
            pen.ellipse(
                (edge - 0.09 * hw, top + 0.42 * hh, edge + 0.09 * hw, top + 0.66 * hh), shade(skin, 0.94)
            )

    outline = _unit_face_outline(identity.face_shape)
    midx, midy = (left + right) / 2, (top + bottom) / 2
    face = [(midx + x * hw, midy + y * hh) for x, y in outline]
    pen.polygon(face, skin)

    hair = paint(HAIR_COLOURS[identity.hair_colour])
    if identity.beard != "none":
        _draw_beard(pen, identity.beard, face, fx, g, hair)

    expression = pose.expression
    eye_y = top + 0.52 * hh
    spread = 0.2 * hw * (1 - 0.22 * abs(yaw))
    talking = pose.action == "talk" and math.sin(2 * math.pi * pose.phase * 3) > -0.2
    mouth_y = top + 0.8 * hh
    if hh < 18:
        # Tiny faces: two dark dots and a hint of mouth read better than detailed features.
        r = max(0.9, 0.06 * hh)
        for side in (-1, 1):
            ex = fx + side * spread
            draw.ellipse((ex - r, eye_y - r, ex + r, eye_y + r), fill=INK_EYE)
        if hh >= 12:
            w = 0.16 * hw
            if expression == "happy" or talking:
                pen.chord(
                    (fx - w, mouth_y - 0.08 * hh, fx + w, mouth_y + 0.06 * hh), 0, 180, MOUTH, ink=False
                )
            else:
                draw.line([(fx - w, mouth_y), (fx + w, mouth_y)], fill=shade(skin, 0.5), width=1)
    else:
        _draw_features(pen, identity, expression, talking, skin, hair, fx, eye_y, spread, mouth_y, g, yaw)

    _draw_glasses(pen, identity.glasses, fx, eye_y, spread, g)
    _draw_front_hair(pen, identity, g, paint)
    if identity.earrings != "none" and hh >= 16:
        metal = paint(METALS[identity.earrings])
        r = max(1.0, 0.05 * hh)
        for side in (-1, 1):
            if side * yaw < -0.45:
                continue
            edge = left if side < 0 else right
            draw.ellipse(
                (edge - r, top + 0.68 * hh - r, edge + r, top + 0.68 * hh + r),
                fill=metal,
                outline=outline_of(metal),
                width=max(1, pen.ink // 2),
            )
    _draw_hat(pen, identity, g, paint)


def _draw_beard(pen: _Pen, beard: str, face: list[Point], fx: float, g: FigureGeometry, hair: RGB) -> None:
    left, top, right, bottom = g.skull
    hw, hh = g.hw, g.hh
    if beard == "full":
        lower = [(x, y) for x, y in face if y > top + 0.55 * hh]
        lower.sort(key=lambda p: p[0])
        midx = (left + right) / 2
        jaw = [(midx + (x - midx) * 1.03, y + 0.03 * hh) for x, y in lower]
        upper = [
            (right - 0.06 * hw, top + 0.6 * hh),
            (fx + 0.16 * hw, top + 0.72 * hh),
            (fx, top + 0.7 * hh),
            (fx - 0.16 * hw, top + 0.72 * hh),
            (left + 0.06 * hw, top + 0.6 * hh),
        ]
        pen.polygon(jaw + upper, hair)
    elif beard == "goatee":
        pen.ellipse((fx - 0.14 * hw, top + 0.84 * hh, fx + 0.14 * hw, bottom + 0.05 * hh), hair)
        pen.ellipse((fx - 0.2 * hw, top + 0.7 * hh, fx + 0.2 * hw, top + 0.77 * hh), hair, ink=False)
    elif beard == "moustache":
        pen.ellipse((fx - 0.22 * hw, top + 0.68 * hh, fx + 0.22 * hw, top + 0.77 * hh), hair)


def _draw_features(
    pen, identity, expression, talking, skin, hair, fx, eye_y, spread, mouth_y, g, yaw
) -> None:
    draw = pen.draw
    hw, hh = g.hw, g.hh
    top = g.skull[1]
    thin = max(1, round(0.03 * hh))
    white = (250, 250, 250)
    iris = EYE_COLOURS[identity.eye_colour]
    wide = 1.25 if expression == "surprised" else 1.0
    for side in (-1, 1):
        ex = fx + side * spread
        ew, eh = 0.12 * hw * wide, 0.085 * hh * wide
        if expression == "happy" and not talking:
            # Smiling eyes: the lower lid rises, so draw the upper half of the eye.
            draw.chord(
                (ex - ew, eye_y - eh, ex + ew, eye_y + eh * 1.2),
                180,
                360,
                fill=white,
                outline=INK_EYE,
                width=thin,
            )
            ir = 0.062 * hh
            draw.pieslice(
                (ex + yaw * 0.03 * hw - ir, eye_y - ir * 0.9, ex + yaw * 0.03 * hw + ir, eye_y + ir * 1.1),
                180,
                360,
                fill=iris,
            )
        else:
            draw.ellipse((ex - ew, eye_y - eh, ex + ew, eye_y + eh), fill=white, outline=INK_EYE, width=thin)
            ir = 0.066 * hh * (0.85 if expression == "surprised" else 1.0)
            ix = ex + yaw * 0.04 * hw
            draw.ellipse((ix - ir, eye_y - ir, ix + ir, eye_y + ir), fill=iris)
            pr = ir * 0.48
            draw.ellipse((ix - pr, eye_y - pr, ix + pr, eye_y + pr), fill=INK_EYE)
            if hh >= 40:
                hr = ir * 0.3
                draw.ellipse(
                    (ix + ir * 0.2, eye_y - ir * 0.6, ix + ir * 0.2 + 2 * hr, eye_y - ir * 0.6 + 2 * hr),
                    fill=white,
                )
        # Brows carry most of the emotion at medium sizes.
        brow_y = eye_y - 0.15 * hh - (0.04 * hh if expression == "surprised" else 0.0)
        inner = {"angry": 0.05, "sad": -0.05}.get(expression, 0.0) * hh
        brow = shade(hair, 0.8) if identity.hair_style != "bald" else shade(skin, 0.55)
        if identity.hair_colour in ("white", "blonde", "grey") and identity.hair_style != "bald":
            brow = shade(hair, 0.62)
        x_in, x_out = ex - side * 0.12 * hw, ex + side * 0.13 * hw
        draw.line([(x_out, brow_y), (x_in, brow_y + inner)], fill=brow, width=max(1, round(0.045 * hh)))

    nose = shade(skin, 0.82)
    draw.line(
        [
            (fx + yaw * 0.04 * hw, top + 0.6 * hh),
            (fx + yaw * 0.08 * hw - 0.02 * hw, top + 0.7 * hh),
            (fx + 0.04 * hw, top + 0.71 * hh),
        ],
        fill=nose,
        width=thin,
    )

    mw = 0.17 * hw
    if talking:
        open_h = 0.07 * hh
        draw.ellipse(
            (fx - 0.1 * hw, mouth_y - open_h, fx + 0.1 * hw, mouth_y + open_h),
            fill=MOUTH,
            outline=INK_EYE,
            width=thin,
        )
    elif expression == "happy":
        draw.chord(
            (fx - mw, mouth_y - 0.08 * hh, fx + mw, mouth_y + 0.1 * hh),
            0,
            180,
            fill=MOUTH,
            outline=INK_EYE,
            width=thin,
        )
        draw.chord(
            (fx - mw * 0.8, mouth_y - 0.02 * hh, fx + mw * 0.8, mouth_y + 0.04 * hh), 0, 180, fill=white
        )
        if hh >= 30:
            blush = mix(skin, (240, 110, 130), 0.35)
            for side in (-1, 1):
                bx = fx + side * (spread + 0.04 * hw)
                draw.ellipse((bx - 0.08 * hw, top + 0.66 * hh, bx + 0.08 * hw, top + 0.72 * hh), fill=blush)
    elif expression == "sad":
        draw.arc((fx - mw, mouth_y, fx + mw, mouth_y + 0.14 * hh), 200, 340, fill=INK_EYE, width=thin + 1)
    elif expression == "surprised":
        draw.ellipse(
            (fx - 0.07 * hw, mouth_y - 0.07 * hh, fx + 0.07 * hw, mouth_y + 0.07 * hh),
            fill=MOUTH,
            outline=INK_EYE,
            width=thin,
        )
    elif expression == "angry":
        draw.line(
            [
                (fx - mw, mouth_y + 0.035 * hh),
                (fx - mw * 0.45, mouth_y),
                (fx + mw * 0.45, mouth_y),
                (fx + mw, mouth_y + 0.035 * hh),
            ],
            fill=INK_EYE,
            width=thin + 1,
        )
    else:
        draw.arc(
            (fx - mw, mouth_y - 0.06 * hh, fx + mw, mouth_y + 0.03 * hh),
            30,
            150,
            fill=INK_EYE,
            width=thin + 1,
        )


def _draw_glasses(pen: _Pen, glasses: str, fx: float, eye_y: float, spread: float, g: FigureGeometry) -> None:
    if glasses == "none":
        return
    draw = pen.draw
    hw, hh = g.hw, g.hh
    frame = (26, 26, 30)
    width = max(1, round(0.04 * hh))
    r = 0.15 * hw
    centres = [fx - spread, fx + spread]
    if glasses == "sunglasses":
        for ex in centres:
            pen.rounded(
                (ex - r, eye_y - 0.7 * r, ex + r, eye_y + 0.75 * r), 0.35 * r, (20, 20, 28), ink=False
            )
            if hh >= 30:
                draw.line(
                    [(ex - 0.5 * r, eye_y - 0.3 * r), (ex - 0.1 * r, eye_y - 0.5 * r)],
                    fill=(120, 130, 150),
                    width=width,
                )
    elif glasses == "round":
        for ex in centres:
            draw.ellipse((ex - r, eye_y - r, ex + r, eye_y + r), outline=frame, width=width)
    else:
        for ex in centres:
            draw.rectangle((ex - r, eye_y - 0.72 * r, ex + r, eye_y + 0.72 * r), outline=frame, width=width)
    draw.line(
        [(centres[0] + r * 0.9, eye_y - 0.1 * r), (centres[1] - r * 0.9, eye_y - 0.1 * r)],
        fill=frame,
        width=width,
    )
