"""Colour arithmetic on RGB tuples (0-255 ints), the only colour type the world draws with.

Drawing calls take plain tuples, so these helpers stay in pure Python: a numpy round trip
per shape would cost more than the shape itself.
"""

from __future__ import annotations

RGB = tuple[int, int, int]


def clamp(value: float) -> int:
    """Round and clip one channel to 0-255."""
    return 0 if value <= 0 else 255 if value >= 255 else int(value + 0.5)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend: t=0 gives a, t=1 gives b."""
    return (clamp(a[0] + (b[0] - a[0]) * t), clamp(a[1] + (b[1] - a[1]) * t), clamp(a[2] + (b[2] - a[2]) * t))


def shade(c: RGB, k: float) -> RGB:
    """Multiply brightness by k (k < 1 darkens, k > 1 brightens)."""
    return (clamp(c[0] * k), clamp(c[1] * k), clamp(c[2] * k))


def outline_of(c: RGB) -> RGB:
    """The ink colour drawn around a filled shape: a dark, slightly saturated version."""
    return (clamp(c[0] * 0.38), clamp(c[1] * 0.34), clamp(c[2] * 0.36))
