"""Text drawn into animatic frames with Pillow: dialogue captions and the title card.

A caption is rendered once per dialogue line as an `Overlay`: an RGB patch (h, W, 3) and its
opacity (h, W, 1) in [0, 1], placed at the bottom rows of the frame. Blending per frame is
then one multiply-add on those rows only. Fonts come from Pillow's bundled scalable default
font, so nothing depends on fonts installed on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.script import DialogueLine


@dataclass(frozen=True)
class CaptionStyle:
    font_fraction: float = 0.075  # font height as a fraction of the frame height
    min_font_px: int = 9  # below this Pillow's glyphs turn to mush
    band_opacity: float = 0.6
    max_lines: int = 3
    text_colour: tuple[int, int, int] = (255, 255, 255)
    speaker_colour: tuple[int, int, int] = (255, 214, 110)


@dataclass(frozen=True)
class Overlay:
    """An RGB patch and its opacity, drawn onto the bottom `rgb.shape[0]` rows of a frame."""

    rgb: np.ndarray  # (h, W, 3) float32 0..255
    alpha: np.ndarray  # (h, W, 1) float32 0..1

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Blend onto a (H, W, 3) uint8 frame, returning a new frame."""
        out = frame.copy()
        h = self.rgb.shape[0]
        rows = out[-h:].astype(np.float32)
        out[-h:] = (rows * (1.0 - self.alpha) + self.rgb * self.alpha).round().clip(0, 255).astype(np.uint8)
        return out


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels; a single over-long word gets a line of its own."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _font_px(height: int, style: CaptionStyle, factor: float = 1.0) -> int:
    return max(style.min_font_px, round(height * style.font_fraction * factor))


def caption_overlay(
    line: DialogueLine, frame_size: tuple[int, int], style: CaptionStyle = CaptionStyle()
) -> Overlay:
    """The caption band for one dialogue line, e.g. "MARA (quietly): We leave tonight."."""
    width, height = frame_size
    font = _font(_font_px(height, style))
    speaker = line.character.upper()
    if line.parenthetical:
        speaker += f" ({line.parenthetical.strip('() ')})"
    speaker += ":"
    scratch = ImageDraw.Draw(Image.new("L", (1, 1)))
    pad = max(2, font.size // 3)
    lines = _wrap(scratch, f"{speaker} {line.text}", font, width - 2 * pad)
    if len(lines) > style.max_lines:
        # a caption must not cover the picture; the full line stays in the script
        lines = lines[: style.max_lines]
        lines[-1] = lines[-1].rstrip(".,;:") + "…"
    line_h = font.size + max(1, font.size // 5)
    band_h = min(height, len(lines) * line_h + 2 * pad)

    rgb = Image.new("RGB", (width, band_h), (0, 0, 0))
    mask = Image.new("L", (width, band_h), round(255 * style.band_opacity))
    draw_rgb, draw_mask = ImageDraw.Draw(rgb), ImageDraw.Draw(mask)
    y = pad
    for i, text in enumerate(lines):
        x = (width - draw_rgb.textlength(text, font=font)) / 2.0
        head = speaker
        if i == 0 and text.startswith(head):
            # the speaker's name in its own colour, then the words
            draw_rgb.text((x, y), head, font=font, fill=style.speaker_colour)
            draw_mask.text((x, y), head, font=font, fill=255)
            rest = text[len(head) :]
            x += draw_rgb.textlength(head, font=font)
            draw_rgb.text((x, y), rest, font=font, fill=style.text_colour)
            draw_mask.text((x, y), rest, font=font, fill=255)
        else:
            draw_rgb.text((x, y), text, font=font, fill=style.text_colour)
            draw_mask.text((x, y), text, font=font, fill=255)
        y += line_h
    return Overlay(
        rgb=np.asarray(rgb, dtype=np.float32),
        alpha=(np.asarray(mask, dtype=np.float32) / 255.0)[..., None],
    )


def title_card(
    title: str, subtitle: str, frame_size: tuple[int, int], style: CaptionStyle = CaptionStyle()
) -> np.ndarray:
    """A (H, W, 3) uint8 card: the title centred large, the logline below it."""
    width, height = frame_size
    card = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(card)
    title_font = _font(_font_px(height, style, factor=2.0))
    sub_font = _font(_font_px(height, style))
    margin = width * 0.08
    title_lines = _wrap(draw, title, title_font, width - 2 * margin)[:2]
    sub_lines = _wrap(draw, subtitle, sub_font, width - 2 * margin)[:3] if subtitle else []
    title_h = title_font.size * 1.2
    sub_h = sub_font.size * 1.25
    total = len(title_lines) * title_h + (sub_h * 0.6 if sub_lines else 0) + len(sub_lines) * sub_h
    y = (height - total) / 2.0
    for text in title_lines:
        draw.text(
            ((width - draw.textlength(text, font=title_font)) / 2.0, y),
            text,
            font=title_font,
            fill=(255, 255, 255),
        )
        y += title_h
    y += sub_h * 0.6 if sub_lines else 0
    for text in sub_lines:
        draw.text(
            ((width - draw.textlength(text, font=sub_font)) / 2.0, y),
            text,
            font=sub_font,
            fill=(200, 200, 200),
        )
        y += sub_h
    return np.asarray(card, dtype=np.uint8)


def placeholder_card(
    heading: str, plot: str, frame_size: tuple[int, int], style: CaptionStyle = CaptionStyle()
) -> np.ndarray:
    """A grey card standing in for a shot that has no keyframe yet."""
    width, height = frame_size
    card = Image.new("RGB", (width, height), (48, 48, 52))
    draw = ImageDraw.Draw(card)
    font = _font(_font_px(height, style))
    margin = width * 0.06
    y = height * 0.12
    for text in [heading, *_wrap(draw, plot, font, width - 2 * margin)[:4]]:
        draw.text((margin, y), text, font=font, fill=(230, 230, 230))
        y += font.size * 1.3
    return np.asarray(card, dtype=np.uint8)
