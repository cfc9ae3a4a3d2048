"""Clips: short motion that starts at a keyframe, for the image-to-video stage (paper 3.5).

A clip of T frames is rendered from T interpolated frame specs. Frame 0 is exactly the
keyframe; then the camera does what the shot's `CameraMotion` says (pan, tilt, zoom,
dolly, handheld shake) while the characters keep doing their action (walkers walk across,
talkers talk and gesture, cheering arms wave) and rain or snow keeps falling.

    frames: uint8 array (T, 128, 224, 3)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from train.data.world.render import render_keyframe
from train.data.world.spec import CharacterSpec, FrameSpec

CLIP_MOTIONS = (
    "static",
    "pan-left",
    "pan-right",
    "tilt-up",
    "tilt-down",
    "zoom-in",
    "zoom-out",
    "dolly-in",
    "dolly-out",
    "tracking",
    "handheld",
)
# How far a walker moves over a whole clip, in frame widths, by shot size: the same walking
# speed covers more of the frame when the camera is closer.
_WALK_DISTANCE = {
    "extreme-wide": 0.05,
    "wide": 0.1,
    "full": 0.16,
    "medium": 0.2,
    "close-up": 0.2,
    "extreme-close-up": 0.2,
}


def _camera_path(motion: str, s: float, jitter: tuple[float, float]) -> tuple[float, float, float]:
    """(pan, tilt, zoom) at progress s in [0, 1]; (0, 0, 1) at s = 0 so frame 0 is the keyframe."""
    if motion == "pan-left":
        return -0.2 * s, 0.0, 1.0
    if motion == "pan-right":
        return 0.2 * s, 0.0, 1.0
    if motion in ("tilt-up", "tilt-down"):
        # Tilting needs backdrop above/below the frame, so the camera also tightens a little.
        sign = 1.0 if motion == "tilt-up" else -1.0
        return 0.0, sign * 0.12 * s, 1.0 + 0.12 * s
    if motion == "zoom-in":
        return 0.0, 0.0, 1.0 + 0.35 * s
    if motion == "zoom-out":
        return 0.0, 0.0, 1.0 / (1.0 + 0.3 * s)
    if motion == "dolly-in":
        return 0.0, 0.0, 1.0 + 0.2 * s
    if motion == "dolly-out":
        return 0.0, 0.0, 1.0 / (1.0 + 0.18 * s)
    if motion == "handheld":
        return jitter[0], jitter[1], 1.0 + 0.02 * min(1.0, 4 * s)
    return 0.0, 0.0, 1.0


def _animate(character: CharacterSpec, shot_size: str, s: float) -> CharacterSpec:
    if character.action == "walk":
        direction = 1.0 if character.facing >= 0 else -1.0
        return replace(
            character,
            x=character.x + direction * _WALK_DISTANCE[shot_size] * s,
            phase=(character.phase + 2.0 * s) % 1.0,
        )
    if character.action in ("talk", "raise-arms", "point"):
        return replace(character, phase=(character.phase + 1.5 * s) % 1.0)
    return character


def clip_specs(spec: FrameSpec, motion: str, num_frames: int, seed: int = 0) -> list[FrameSpec]:
    """The T frame specs of a clip starting at `spec` (no rendering)."""
    if motion not in CLIP_MOTIONS:
        raise ValueError(f"unknown camera motion {motion!r}; use one of {', '.join(CLIP_MOTIONS)}")
    if num_frames < 2:
        raise ValueError(f"a clip needs at least 2 frames, not {num_frames}")
    rng = np.random.default_rng(seed)
    # Handheld shake: a smoothed random walk that starts at rest.
    steps = rng.normal(0.0, 0.006, size=(num_frames, 2))
    steps[0] = 0.0
    shake = np.cumsum(steps, axis=0)
    walkers = [c for c in spec.characters if c.action == "walk"]
    specs = []
    for t in range(num_frames):
        s = t / (num_frames - 1)
        pan, tilt, zoom = _camera_path(motion, s, (float(shake[t, 0]), float(shake[t, 1])))
        characters = tuple(_animate(c, spec.shot_size, s) for c in spec.characters)
        if motion == "tracking" and walkers:
            # The camera follows the first walker, so it stays put on screen.
            lead = walkers[0]
            pan = (1.0 if lead.facing >= 0 else -1.0) * _WALK_DISTANCE[spec.shot_size] * s
        frame = replace(spec, characters=characters).with_camera(
            pan=spec.pan + pan,
            tilt=spec.tilt + tilt,
            zoom=spec.zoom * zoom,
            weather_phase=spec.weather_phase + 0.5 * s,
        )
        specs.append(frame if t else spec)
    return specs


def render_clip(spec: FrameSpec, motion: str = "static", num_frames: int = 12, seed: int = 0) -> np.ndarray:
    """Render a clip as a uint8 array (T, 128, 224, 3); frame 0 equals the keyframe render."""
    frames = [np.asarray(render_keyframe(s)[0]) for s in clip_specs(spec, motion, num_frames, seed)]
    return np.stack(frames)
