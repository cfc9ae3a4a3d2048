"""Frame specs: everything needed to render one frame, as plain frozen data.

A `FrameSpec` is what a movie stores per keyframe and what a clip interpolates. It is
hashable and free of randomness: rendering the same spec twice gives identical pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from train.data.world.cast import Identity


@dataclass(frozen=True)
class CharacterSpec:
    """One character in a frame.

    `x` is the horizontal position of the character's centre in frame widths (0 = left
    edge, 1 = right edge). `depth` in [0, 1] moves the character from the nearest to the
    farthest spot the shot size allows. `facing` in [-1, 1] turns the head and gestures
    towards frame left (negative) or right (positive). `phase` in [0, 1) animates walking,
    talking and gestures.
    """

    identity: Identity
    x: float
    depth: float = 0.0
    action: str = "stand"
    expression: str = "neutral"
    facing: float = 0.0
    phase: float = 0.0

    @property
    def name(self) -> str:
        return self.identity.name


@dataclass(frozen=True)
class FrameSpec:
    """One frame: where, when, how it is shot and graded, and who is in it.

    `pan` (frame widths, positive looks right), `tilt` (frame heights, positive looks up)
    and `zoom` (extra magnification about the frame centre) move the camera during clips;
    keyframes keep them at 0, 0 and 1. `weather_phase` scrolls the rain or snow.
    """

    place: str
    time_of_day: str
    weather: str
    style: str
    shot_size: str
    camera_angle: str
    characters: tuple[CharacterSpec, ...] = ()
    variant: int = 0
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 1.0
    weather_phase: float = 0.0

    def with_camera(self, pan: float, tilt: float, zoom: float, weather_phase: float) -> FrameSpec:
        return replace(self, pan=pan, tilt=tilt, zoom=zoom, weather_phase=weather_phase)
