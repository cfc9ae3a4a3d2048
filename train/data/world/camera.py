"""The camera: frame size, supersampling, camera angles and shot sizes as geometry.

A simple pinhole model ties characters and scenery together. The camera stands
`height_m` above flat ground and looks level; the horizon sits at `horizon` (fraction of
the frame height, negative when it is above the frame). Something standing `d` metres away
has its foot line at `horizon + height_m * FOCAL / d` and is `FOCAL / d` frame heights per
metre tall, so a high angle shows more ground and smaller people and a low angle shows
more sky and people towering over the horizon.

Backdrops are drawn wider than the frame (`BACKDROP_MARGIN` on each side) so the camera
can pan, and tighter shot sizes magnify the backdrop (`SHOT_ZOOM`) around the horizon,
which reads as a longer lens with the background out of focus.
"""

from __future__ import annotations

from dataclasses import dataclass

FRAME_WIDTH = 224
FRAME_HEIGHT = 128
# Drawn at twice the size and box-filtered down: cheap antialiasing for every shape.
SUPERSAMPLE = 2
BACKDROP_MARGIN = 0.25  # extra backdrop on each side, in frame widths
FOCAL = 0.9  # focal length in frame heights (about a 60 degree horizontal field of view)
PERSON_HEIGHT_M = 1.7
DUTCH_DEGREES = 7.0

SHOT_SIZES = ("extreme-wide", "wide", "full", "medium", "close-up", "extreme-close-up")
CAMERA_ANGLES = ("eye-level", "high", "low", "overhead", "dutch")
# Backdrop magnification per shot size (1.0 shows the whole framed backdrop).
SHOT_ZOOM = {
    "extreme-wide": 1.0,
    "wide": 1.0,
    "full": 1.15,
    "medium": 1.4,
    "close-up": 1.9,
    "extreme-close-up": 2.6,
}


@dataclass(frozen=True)
class CameraRig:
    """Where the horizon falls and how high the camera stands, for one camera angle."""

    horizon: float  # fraction of the frame height from the top
    height_m: float
    # Foreshortening of figures: looking down enlarges heads, looking up lengthens legs.
    head_scale: float
    leg_scale: float
    roll_degrees: float = 0.0


RIGS: dict[str, CameraRig] = {
    "eye-level": CameraRig(0.5, 1.5, 1.0, 1.0),
    "high": CameraRig(0.26, 3.0, 1.1, 0.86),
    "low": CameraRig(0.76, 0.7, 0.92, 1.12),
    "overhead": CameraRig(-0.35, 7.0, 1.18, 0.72),
    "dutch": CameraRig(0.5, 1.5, 1.0, 1.0, DUTCH_DEGREES),
}


def rig(angle: str) -> CameraRig:
    try:
        return RIGS[angle]
    except KeyError:
        raise ValueError(f"unknown camera angle {angle!r}; use one of {', '.join(CAMERA_ANGLES)}") from None


def check_shot_size(size: str) -> None:
    if size not in SHOT_ZOOM:
        raise ValueError(f"unknown shot size {size!r}; use one of {', '.join(SHOT_SIZES)}")


@dataclass(frozen=True)
class Ground:
    """Perspective on a canvas of `height` pixels: where distances land and how big things are."""

    horizon_px: float
    height_px: float
    camera_height_m: float

    @property
    def focal_px(self) -> float:
        return FOCAL * self.height_px

    def y(self, distance_m: float) -> float:
        """Canvas y of the ground `distance_m` metres from the camera."""
        return self.horizon_px + self.camera_height_m * self.focal_px / distance_m

    def ppm(self, distance_m: float) -> float:
        """Canvas pixels per metre of height at that distance."""
        return self.focal_px / distance_m

    def distance_at(self, y: float) -> float:
        """The ground distance seen at canvas row y (inverse of `y`)."""
        return self.camera_height_m * self.focal_px / max(y - self.horizon_px, 1e-3)
