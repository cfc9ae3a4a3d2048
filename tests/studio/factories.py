"""Test data of the studio tests: owners, image files made in memory, a small script."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from studio.media import MediaStore

OWNER = "director"
OTHER = "intruder"


def image_bytes(
    width: int = 40,
    height: int = 30,
    color: tuple[int, ...] = (200, 40, 40),
    fmt: str = "PNG",
    mode: str = "RGB",
    **save: object,
) -> bytes:
    """An image file in memory (a gradient, so re-encodes are not trivially tiny)."""
    image = Image.new(mode, (width, height), color)
    if mode in ("RGB", "RGBA"):
        for x in range(width):
            image.putpixel((x, 0), (x * 5 % 256, 0, 0) + ((255,) if mode == "RGBA" else ()))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def media_files(media: MediaStore) -> list[str]:
    """Every file under the media root, temp files included."""
    return sorted(p.relative_to(media.root).as_posix() for p in media.root.rglob("*") if p.is_file())


def sample_script_data() -> dict:
    return {
        "title": "The Lighthouse",
        "logline": "A keeper and a stranger weather a storm.",
        "style": "warm film grain",
        "cast": [
            {
                "name": "Mara",
                "description": ["A tall woman with short grey hair.", "She wears a yellow raincoat."],
                "photos": ["cast/mara_0.png", "cast/mara_1.png"],
            },
            {"name": "Tom", "description": ["A young man with a red beard."], "photos": ["cast/tom_0.png"]},
        ],
        "scenes": [
            {
                "heading": "EXT. LIGHTHOUSE - NIGHT",
                "time_of_day": "night",
                "elements": ["Waves crash on black rocks."],
                "style": None,
                "shots": [
                    {
                        "plot": "Mara climbs the spiral stairs.",
                        "characters": ["Mara"],
                        "size": "wide",
                        "angle": "low",
                        "motion": "tilt-up",
                        "duration": 4.0,
                        "dialogue": [],
                        "notes": "",
                    },
                    {
                        "plot": "Tom knocks at the door.",
                        "characters": ["Tom"],
                        "size": "medium",
                        "angle": "eye-level",
                        "motion": "static",
                        "duration": 2.5,
                        "dialogue": [
                            {"character": "Tom", "text": "Is anyone there?", "parenthetical": "shouting"}
                        ],
                        "notes": "rain on lens",
                    },
                ],
            },
            {
                "heading": "INT. LAMP ROOM - NIGHT",
                "time_of_day": "night",
                "elements": [],
                "style": "cold blue light",
                "shots": [
                    {
                        "plot": "Mara and Tom look at the sea.",
                        "characters": ["Mara", "Tom"],
                        "size": "close-up",
                        "angle": "high",
                        "motion": "dolly-in",
                        "duration": 3.0,
                        "dialogue": [{"character": "Mara", "text": "It will pass.", "parenthetical": ""}],
                        "notes": "",
                    },
                ],
            },
        ],
    }


def with_png_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR claiming another size (valid CRC): a decompression bomb header."""
    ihdr = bytearray(png[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return png[:12] + bytes(ihdr) + crc + png[33:]
