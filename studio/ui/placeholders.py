"""Stand-in pictures for the galleries: a shot without a keyframe, a project without one."""

from __future__ import annotations

import textwrap

from PIL import Image, ImageDraw, ImageFont

CARD_SIZE = (224, 128)  # (W, H): the embedded bundle's keyframe size
_BACKGROUND = (46, 52, 64)
_FOREGROUND = (216, 222, 233)


def placeholder_card(title: str, detail: str = "", size: tuple[int, int] = CARD_SIZE) -> Image.Image:
    """A dark card with a title and a wrapped detail line (drawn, never rendered as HTML)."""
    image = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    draw.text((10, 10), title[:40], fill=_FOREGROUND, font=font)
    y = 34
    for line in textwrap.wrap(detail, width=34)[:5]:
        draw.text((10, y), line, fill=_FOREGROUND, font=small)
        y += 15
    return image
