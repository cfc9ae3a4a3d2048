"""Blocking: where each character of a frame stands, how big, and its ground-truth boxes.

Wide and extreme-wide shots follow the camera's ground plane (see `camera.Ground`): a
character `d` metres away stands on the ground row for `d` and is `PERSON_HEIGHT_M` tall at
that distance, so the cast and the scenery share one perspective. Tighter shots frame the
body instead: a full shot shows head to toe, a medium shot from the head to the hips, a
close-up the head and shoulders, an extreme close-up the face.

Everything here is arithmetic, so a movie knows its ground-truth boxes without rendering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from train.data.world.camera import (
    BACKDROP_MARGIN,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    PERSON_HEIGHT_M,
    SHOT_ZOOM,
    SUPERSAMPLE,
    Ground,
    check_shot_size,
    rig,
)
from train.data.world.figure import LEGS, NECK, TORSO, FigureGeometry, Foreshortening, Pose, figure_geometry
from train.data.world.spec import CharacterSpec, FrameSpec

Box = tuple[float, float, float, float]

# Height of a standing figure in head units, beyond the skull: neck, torso, legs, sole.
_BODY_UNITS = NECK + TORSO + LEGS + 0.06


@dataclass(frozen=True)
class Placement:
    """One character as placed in a frame (canvas coordinates are supersampled)."""

    spec: CharacterSpec
    pose: Pose
    geometry: FigureGeometry
    order: float  # draw order: larger is nearer the camera
    box: tuple[int, int, int, int]  # frame pixels, clipped to the frame
    face_box: tuple[int, int, int, int]
    visible: bool


@dataclass(frozen=True)
class CameraView:
    """Which part of the backdrop canvas the frame shows, after clamping pan/tilt to it."""

    crop: Box  # backdrop canvas pixels
    pan: float  # effective pan/tilt (frame widths/heights) after clamping
    tilt: float
    zoom: float  # total backdrop magnification
    roll_degrees: float


@dataclass(frozen=True)
class FrameLayout:
    view: CameraView
    placements: tuple[Placement, ...]  # in spec order


def camera_view(spec: FrameSpec) -> CameraView:
    """The backdrop crop for a frame: shot-size zoom about the horizon, then pan and tilt."""
    check_shot_size(spec.shot_size)
    camera = rig(spec.camera_angle)
    if not spec.zoom > 0:
        raise ValueError(f"the camera zoom is {spec.zoom:g}; it must be positive (1.0 means no zoom)")
    fw, fh = FRAME_WIDTH * SUPERSAMPLE, FRAME_HEIGHT * SUPERSAMPLE
    canvas_w = round(fw * (1 + 2 * BACKDROP_MARGIN))
    zoom = max(1.0, SHOT_ZOOM[spec.shot_size] * spec.zoom)
    crop_w, crop_h = fw / zoom, fh / zoom
    horizon = min(max(camera.horizon, 0.0), 1.0) * fh
    left = (canvas_w - crop_w) / 2 + spec.pan * crop_w
    top = horizon - horizon / zoom - spec.tilt * crop_h
    left = min(max(left, 0.0), canvas_w - crop_w)
    top = min(max(top, 0.0), fh - crop_h)
    pan = (left - (canvas_w - crop_w) / 2) / crop_w
    tilt = (horizon - horizon / zoom - top) / crop_h
    return CameraView((left, top, left + crop_w, top + crop_h), pan, tilt, zoom, camera.roll_degrees)


def _clip_box(box: Box) -> tuple[tuple[int, int, int, int], bool]:
    x0 = max(0, math.floor(box[0]))
    y0 = max(0, math.floor(box[1]))
    x1 = min(FRAME_WIDTH, math.ceil(box[2]))
    y1 = min(FRAME_HEIGHT, math.ceil(box[3]))
    visible = x1 - x0 >= 1 and y1 - y0 >= 1
    if not visible:
        return (0, 0, 0, 0), False
    return (x0, y0, x1, y1), True


def _rotate_box(box: Box, degrees: float) -> Box:
    """The axis-aligned box around `box` after the frame rotates (dutch angle) and rescales."""
    if not degrees:
        return box
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    scale = roll_scale(degrees)
    cx, cy = FRAME_WIDTH / 2, FRAME_HEIGHT / 2
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = x - cx, y - cy
        # Image y points down, so a counter-clockwise turn on screen uses -theta here.
        xs.append(cx + scale * (dx * cos + dy * sin))
        ys.append(cy + scale * (-dx * sin + dy * cos))
    return (min(xs), min(ys), max(xs), max(ys))


def roll_scale(degrees: float) -> float:
    """Magnification that keeps a rotated frame free of empty corners."""
    theta = math.radians(abs(degrees))
    aspect = FRAME_WIDTH / FRAME_HEIGHT
    return math.cos(theta) + aspect * math.sin(theta)


def _base_placement(
    spec: FrameSpec, character: CharacterSpec, fore: Foreshortening
) -> tuple[float, float, float, float]:
    """(centre x, foot y, head unit, draw order) in supersampled canvas pixels, before pan/zoom."""
    fw, fh = FRAME_WIDTH * SUPERSAMPLE, FRAME_HEIGHT * SUPERSAMPLE
    camera = rig(spec.camera_angle)
    depth = min(max(character.depth, 0.0), 1.0)
    cx = character.x * fw
    body = fore.head + _BODY_UNITS - LEGS + LEGS * fore.legs
    size = spec.shot_size
    if size in ("wide", "extreme-wide"):
        ground = Ground(camera.horizon * fh, fh, camera.height_m)
        # Depth picks the foot row between the bottom of the frame and a band below the
        # horizon (the top of the frame when the horizon is above it); the distance follows.
        horizon = max(camera.horizon, 0.05)
        span = 0.96 - horizon
        near, far = (
            (0.96, horizon + 0.42 * span) if size == "wide" else (horizon + 0.4 * span, horizon + 0.16 * span)
        )
        foot = near + (far - near) * depth
        # Never closer than 3.4 m: nearer than that a "wide" shot would frame like a full shot.
        distance = max(ground.distance_at(foot * fh), 3.4)
        u = ground.ppm(distance) * PERSON_HEIGHT_M / body
        return cx, ground.y(distance), u, -distance
    # Tighter shots frame the body: (head unit, top of head) in frame heights.
    unit, head_top = {
        "full": (0.84 / body, 0.06),
        "medium": (0.27, 0.09),
        "close-up": (0.5, 0.11),
        "extreme-close-up": (0.92, -0.1),
    }[size]
    shift = {"high": 0.04, "low": -0.03, "overhead": 0.06}.get(spec.camera_angle, 0.0)
    unit *= 1.0 - 0.16 * depth
    u = unit * fh
    top = (head_top + shift + 0.05 * depth) * fh
    if size == "full":
        top = (head_top + shift) * fh + 0.84 * fh * 0.16 * depth
    foot_y = top + (body + 0.1) * u
    return cx, foot_y, u, -depth


def place_character(spec: FrameSpec, character: CharacterSpec, view: CameraView) -> Placement:
    camera = rig(spec.camera_angle)
    fore = Foreshortening(head=camera.head_scale, legs=camera.leg_scale)
    cx, foot_y, u, order = _base_placement(spec, character, fore)
    fw, fh = FRAME_WIDTH * SUPERSAMPLE, FRAME_HEIGHT * SUPERSAMPLE
    # Clip camera moves: zoom about the horizon line and the frame centre, then pan/tilt.
    horizon = min(max(camera.horizon, 0.0), 1.0) * fh
    # The backdrop cannot zoom out past its full view, so figures scale with what it did.
    extra = view.zoom / SHOT_ZOOM[spec.shot_size]
    cx = fw / 2 + (cx - fw / 2) * extra - view.pan * fw
    foot_y = horizon + (foot_y - horizon) * extra + view.tilt * fh
    u *= extra
    pose = Pose(character.action, character.expression, character.facing, character.phase)
    geometry = figure_geometry(character.identity, pose, cx, foot_y, u, fore)
    scale = 1.0 / SUPERSAMPLE
    box = tuple(v * scale for v in geometry.box)
    face = tuple(v * scale for v in geometry.face_box)
    box = _rotate_box(box, view.roll_degrees)
    face = _rotate_box(face, view.roll_degrees)
    clipped, visible = _clip_box(box)
    face_clipped, face_visible = _clip_box(face)
    return Placement(character, pose, geometry, order, clipped, face_clipped, visible and face_visible)


def frame_layout(spec: FrameSpec) -> FrameLayout:
    """Camera view and character placements of a frame (no drawing)."""
    view = camera_view(spec)
    return FrameLayout(view, tuple(place_character(spec, c, view) for c in spec.characters))
