"""Named training presets: a registry of plain dicts per stage, plus command-line overrides.

Every stage defines `PRESETS = {"tiny": {...}, "default": {...}, "paper": {...}}`: `tiny` runs
in seconds for tests, `default` trains the embedded CPU bundle on the toy world, `paper` is
the paper-scale recipe (GPU, local checkpoints). `--set key=value` overrides one entry; the
value is read as JSON when it parses (numbers, booleans, lists, null) and as text otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def parse_override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"The override {text!r} is not of the form key=value (e.g. --set batch_size=8).")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def resolve_preset(
    registry: Mapping[str, Mapping[str, Any]], name: str, overrides: Sequence[str] = ()
) -> dict:
    """The preset `name` with `overrides` ("key=value") applied. Unknown keys are refused."""
    if name not in registry:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(registry)}.")
    config = dict(registry[name])
    for text in overrides:
        key, value = parse_override(text)
        if key not in config:
            raise ValueError(
                f"The preset {name!r} has no setting {key!r}; known settings: {', '.join(sorted(config))}."
            )
        config[key] = value
    return config


def require(config: Mapping[str, Any], *keys: str, preset: str) -> None:
    """Refuse to start when settings the preset leaves open (local paths) are still unset."""
    missing = [key for key in keys if config.get(key) in (None, "")]
    if missing:
        sets = " ".join(f"--set {key}=..." for key in missing)
        raise ValueError(f"The {preset!r} preset needs {', '.join(missing)}; give them with {sets}.")
