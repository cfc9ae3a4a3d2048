"""Camera moves on a still keyframe (Ken Burns): a crop window that travels over the image.

A move is a function of the shot's progress u in [0, 1] returning a `CropWindow`: the window's
centre (cx, cy) as fractions of the source width/height and its `scale`, the window size as a
fraction of the source (1 = whole image). The window always stays inside the image, so no
border is ever shown. `affine_for_window` turns a window into the 2x3 matrix that
`cv2.warpAffine(..., flags=WARP_INVERSE_MAP)` needs: sub-pixel sampling keeps slow moves free
of the one-pixel judder that integer crops produce.

A still has no depth, so "dolly" (the camera travels) and "zoom" (the lens changes) can only
differ in how far and how they accelerate; "tracking" is a lateral travel with a little zoom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.script import CameraMotion


@dataclass(frozen=True)
class CameraMoveConfig:
    """How strong each move is; 1.0 strength gives the values below."""

    zoom_factor: float = 1.20  # zoom-in ends on a window 1/1.20 of the frame
    dolly_factor: float = 1.30  # a dolly travels further than a zoom within one shot
    pan_zoom: float = 1.15  # pans/tilts need margin to travel over: crop to 1/1.15
    tracking_zoom: float = 1.10
    handheld_zoom: float = 1.06
    handheld_wobble_hz: float = 0.35  # slow sway; faster reads as vibration, not a hand
    strength: float = 1.0


@dataclass(frozen=True)
class CropWindow:
    cx: float
    cy: float
    scale: float


def _smoothstep(u: float) -> float:
    """Ease in and out so a move starts and stops without a jolt."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _scaled(factor: float, strength: float) -> float:
    return 1.0 + (factor - 1.0) * strength


def _travel(scale: float, u: float, forward: bool) -> float:
    """Centre coordinate travelling from one edge-touching position to the other."""
    lo, hi = scale / 2.0, 1.0 - scale / 2.0
    s = _smoothstep(u)
    return lo + (hi - lo) * (s if forward else 1.0 - s)


def crop_window(
    motion: CameraMotion,
    u: float,
    *,
    seconds: float = 0.0,
    seed: int = 0,
    config: CameraMoveConfig = CameraMoveConfig(),
) -> CropWindow:
    """The crop window of `motion` at progress `u` (0 = shot start, 1 = shot end).

    `seconds` (time since the shot started) and `seed` only drive the handheld sway, whose
    speed must not depend on the shot's length.
    """
    k = config.strength
    if motion is CameraMotion.STATIC:
        return CropWindow(0.5, 0.5, 1.0)
    if motion in (CameraMotion.ZOOM_IN, CameraMotion.ZOOM_OUT, CameraMotion.DOLLY_IN, CameraMotion.DOLLY_OUT):
        factor = (
            config.zoom_factor
            if motion in (CameraMotion.ZOOM_IN, CameraMotion.ZOOM_OUT)
            else config.dolly_factor
        )
        end_scale = 1.0 / _scaled(factor, k)
        s = _smoothstep(u)
        if motion in (CameraMotion.ZOOM_OUT, CameraMotion.DOLLY_OUT):
            s = 1.0 - s
        # interpolate the magnification, not the window size, so the apparent speed is even
        scale = 1.0 / (1.0 + (1.0 / end_scale - 1.0) * s)
        return CropWindow(0.5, 0.5, scale)
    if motion in (CameraMotion.PAN_LEFT, CameraMotion.PAN_RIGHT):
        scale = 1.0 / _scaled(config.pan_zoom, k)
        # panning left reveals what is left of the frame: the window travels right-to-left
        return CropWindow(_travel(scale, u, forward=motion is CameraMotion.PAN_RIGHT), 0.5, scale)
    if motion in (CameraMotion.TILT_UP, CameraMotion.TILT_DOWN):
        scale = 1.0 / _scaled(config.pan_zoom, k)
        return CropWindow(0.5, _travel(scale, u, forward=motion is CameraMotion.TILT_DOWN), scale)
    if motion is CameraMotion.TRACKING:
        scale = 1.0 / _scaled(config.tracking_zoom, k)
        return CropWindow(_travel(scale, u, forward=True), 0.5, scale)
    if motion is CameraMotion.HANDHELD:
        scale = 1.0 / _scaled(config.handheld_zoom, k)
        margin = (1.0 - scale) / 2.0
        rng = np.random.default_rng(seed)
        phases = rng.uniform(0.0, 2.0 * math.pi, size=4)
        w = 2.0 * math.pi * config.handheld_wobble_hz * seconds
        # two incommensurate sines per axis: smooth, never visibly periodic within a shot
        dx = 0.6 * math.sin(w + phases[0]) + 0.4 * math.sin(1.73 * w + phases[1])
        dy = 0.6 * math.sin(0.81 * w + phases[2]) + 0.4 * math.sin(2.31 * w + phases[3])
        return CropWindow(0.5 + margin * dx, 0.5 + margin * dy, scale)
    raise ValueError(
        f"The camera motion {motion!r} has no Ken Burns move; add one to core.video.camera_moves."
    )


def affine_for_window(
    window: CropWindow, source_size: tuple[int, int], output_size: tuple[int, int]
) -> np.ndarray:
    """2x3 matrix mapping output pixel centres to source coordinates (for WARP_INVERSE_MAP).

    `source_size` and `output_size` are (width, height). The source must already have the
    output's aspect ratio (the animatic letterboxes it first).
    """
    src_w, src_h = source_size
    out_w, out_h = output_size
    crop_w, crop_h = window.scale * src_w, window.scale * src_h
    left = window.cx * src_w - crop_w / 2.0
    top = window.cy * src_h - crop_h / 2.0
    sx, sy = crop_w / out_w, crop_h / out_h
    # pixel centres: output (x + 0.5) lands on source left + (x + 0.5) * sx, minus the 0.5 offset
    return np.array(
        [[sx, 0.0, left + 0.5 * sx - 0.5], [0.0, sy, top + 0.5 * sy - 0.5]],
        dtype=np.float32,
    )
