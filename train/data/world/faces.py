"""Cast photos: 128x128 face crops of an identity, as a user would upload them.

Each photo varies what real cast photos vary: head turn (yaw), head tilt, how much of the
crop the face fills, where it sits, the expression, the light (brightness, colour
temperature, a key light from one side) and the background (a plain studio backdrop or a
blurred location). Identity attributes never vary, so a face recogniser trained on these
photos has to pick up hair, skin, face shape, eyes and accessories.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from train.data.world.atmosphere import TIMES_OF_DAY
from train.data.world.cast import Identity
from train.data.world.colour import RGB, clamp
from train.data.world.figure import EXPRESSIONS, Pose, draw_figure, figure_geometry
from train.data.world.places import PLACES
from train.data.world.scenery import backdrop

PHOTO_SIZE = 128
_SUPERSAMPLE = 3  # photos are few and large-faced, so they get finer antialiasing
_STUDIO_BACKDROPS: tuple[tuple[RGB, RGB], ...] = (
    ((200, 204, 210), (150, 156, 166)),
    ((236, 228, 212), (196, 182, 160)),
    ((170, 200, 230), (110, 140, 190)),
    ((90, 96, 110), (40, 44, 54)),
    ((214, 236, 214), (150, 190, 160)),
    ((240, 214, 220), (200, 160, 176)),
)


def _identity_number(identity: Identity) -> int:
    # crc32, not hash(): Python salts str hashes per process, which would break determinism.
    return zlib.crc32(identity.identity_id.encode("utf-8"))


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    if rng.random() < 0.5:
        top, bottom = _STUDIO_BACKDROPS[int(rng.integers(len(_STUDIO_BACKDROPS)))]
        t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
        rows = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
        return Image.fromarray(
            np.ascontiguousarray(np.broadcast_to(rows, (size, size, 3)).round().astype(np.uint8))
        )
    # A blurred location behind the person, like a photo taken on set.
    place = list(PLACES.values())[int(rng.integers(len(PLACES)))]
    time_of_day = TIMES_OF_DAY[int(rng.integers(3))]  # no night: cast photos are lit
    location = backdrop(place.key, 0, time_of_day, "clear", "eye-level")
    w, h = location.size
    side = h * 0.6
    x0 = float(rng.uniform(0, w - side))
    y0 = float(rng.uniform(0, h - side))
    crop = location.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
    return crop.filter(ImageFilter.GaussianBlur(radius=size / 60))


def render_face_photo(identity: Identity, k: int, seed: int) -> Image.Image:
    """The k-th 128x128 RGB cast photo of `identity`; deterministic in (identity, k, seed)."""
    return render_face_photo_with_box(identity, k, seed)[0]


def render_face_photo_with_box(
    identity: Identity, k: int, seed: int
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A cast photo and the face box in it (photo pixels, after tilt and crop)."""
    if k < 0:
        raise ValueError(f"photo index {k} is negative; photos are numbered from 0")
    rng = np.random.default_rng([seed & 0xFFFFFFFF, k, _identity_number(identity)])
    size = PHOTO_SIZE * _SUPERSAMPLE
    canvas = _background(rng, size)

    yaw = float(rng.uniform(-0.6, 0.6))
    expression = EXPRESSIONS[int(rng.choice(len(EXPRESSIONS), p=[0.35, 0.35, 0.1, 0.1, 0.1]))]
    head = size * float(rng.uniform(0.36, 0.48))
    centre_x = size * (0.5 + float(rng.uniform(-0.06, 0.06)))
    head_top = size * float(rng.uniform(0.17, 0.27))
    brightness = float(rng.uniform(0.8, 1.12))
    warmth = float(rng.uniform(-0.08, 0.08))
    gain = (brightness * (1 + warmth), brightness, brightness * (1 - warmth))

    def paint(c: RGB) -> RGB:
        return (clamp(c[0] * gain[0]), clamp(c[1] * gain[1]), clamp(c[2] * gain[2]))

    pose = Pose("stand", expression, yaw, 0.0)
    probe = figure_geometry(identity, pose, centre_x, 0.0, head)
    # Shift the figure so the top of the skull lands at head_top.
    geometry = figure_geometry(identity, pose, centre_x, head_top - probe.skull[1], head)
    draw_figure(ImageDraw.Draw(canvas), identity, pose, geometry, paint)

    # A key light from one side: the other side of the frame falls off to darker.
    side = 1.0 if rng.random() < 0.5 else -1.0
    falloff = float(rng.uniform(0.0, 0.3))
    ramp = np.linspace(1.0 - falloff, 1.0, size, dtype=np.float32)
    if side < 0:
        ramp = ramp[::-1]
    mask = np.broadcast_to((ramp * 255).round().astype(np.uint8)[None, :, None], (size, size, 3))
    canvas = ImageChops.multiply(canvas, Image.fromarray(np.ascontiguousarray(mask)))

    tilt = float(rng.uniform(-8.0, 8.0))
    corner = canvas.getpixel((0, 0))
    pivot = (centre_x, head_top + head * 0.5)
    canvas = canvas.rotate(tilt, resample=Image.Resampling.BILINEAR, center=pivot, fillcolor=corner)
    # Rotation leaves corners outside the photo; crop most of them away and scale back up.
    margin = int(size * 0.06)
    canvas = canvas.resize(
        (size, size), Image.Resampling.BILINEAR, box=(margin, margin, size - margin, size - margin)
    )

    # The face box follows the same rotation (counter-clockwise on screen) and crop.
    theta = math.radians(tilt)
    cos, sin = math.cos(theta), math.sin(theta)
    x0, y0, x1, y1 = geometry.face_box
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = x - pivot[0], y - pivot[1]
        rx, ry = pivot[0] + dx * cos + dy * sin, pivot[1] - dx * sin + dy * cos
        xs.append((rx - margin) * size / (size - 2 * margin) / _SUPERSAMPLE)
        ys.append((ry - margin) * size / (size - 2 * margin) / _SUPERSAMPLE)
    box = (
        max(0, math.floor(min(xs))),
        max(0, math.floor(min(ys))),
        min(PHOTO_SIZE, math.ceil(max(xs))),
        min(PHOTO_SIZE, math.ceil(max(ys))),
    )
    return canvas.reduce(_SUPERSAMPLE), box
