"""What the bundle a project draws with can depict, said where the storyboard is made.

The embedded default bundle was trained only on the toy-cinema world (DESIGN.md section 5),
so it draws that world whatever a script says. While a project uses it, the storyboard says
so, lists what the toy world holds and how to switch to a paper-scale bundle. A bundle is
recognised by its manifest's name (read as JSON; nothing is loaded).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from studio.errors import StudioError

logger = logging.getLogger(__name__)

TOY_BUNDLE_NAMES = frozenset({"moviedreamer-toy-default"})
# The toy-cinema world (train.data.world): what the default bundle saw in training.
TOY_PLACES = (
    "beach",
    "forest",
    "street",
    "office",
    "kitchen",
    "harbour",
    "lighthouse",
    "snow mountain",
    "ship deck",
    "desert",
    "park",
    "living room",
)
TOY_TIMES = ("dawn", "day", "sunset", "night")
TOY_WEATHER = ("clear", "rain", "fog", "snow")
TOY_ACTIONS = ("stand", "walk", "sit", "raise their arms", "talk", "point")
TOY_STYLES = ("natural", "pastel", "noir", "warm film", "neon", "cool teal", "sepia")
PAPER_TEMPLATE = "assets/bundles/paper-scale/manifest.json"

TOY_NOTICE = (
    "**This storyboard is drawn by the studio's default bundle, which knows only the toy-cinema world** it was "
    "trained on: simple cartoon figures (skin tone, hair, eyes, glasses, beard, hat, earrings and outfit vary) who "
    f"{', '.join(TOY_ACTIONS[:-1])} or {TOY_ACTIONS[-1]}, in {len(TOY_PLACES)} places ({', '.join(TOY_PLACES)}), "
    f"at {', '.join(TOY_TIMES[:-1])} or {TOY_TIMES[-1]}, in {', '.join(TOY_WEATHER[:-1])} or {TOY_WEATHER[-1]} "
    f"weather, in wide, medium or close-up shots, graded {', '.join(TOY_STYLES[:-1])} or {TOY_STYLES[-1]}. "
    "Anything else a script asks for (a car chase, a dragon, a real actor's face) comes out as the nearest of "
    "these.  \n"
    "**For real storyboards, use a paper-scale bundle:** put its weights in local folders laid out as in "
    f"`{PAPER_TEMPLATE}` (CLIP ViT-L/14, SDXL, LLaMA-2-7B, LongCLIP, insightface, SVD; nothing is downloaded), "
    "place the bundle folder inside a folder the studio is started with (`--bundles DIR`), then choose it in "
    "the Settings tab."
)


def bundle_name(folder: Path) -> str | None:
    """The `name` in a bundle folder's manifest.json, or None when there is none to read."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = manifest.get("name") if isinstance(manifest, dict) else None
    return name if isinstance(name, str) else None


def bundle_notice(models, bundle_setting: str | None) -> str:
    """Markdown for the storyboard: the toy-world notice while the toy bundle is in use, else ""."""
    try:
        folder = models.bundle_path(bundle_setting)
    except StudioError:
        return ""  # the Settings tab says what is wrong with the bundle
    return TOY_NOTICE if bundle_name(folder) in TOY_BUNDLE_NAMES else ""
