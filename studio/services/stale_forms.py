"""Stale forms: a form saved over changes made elsewhere since it was loaded.

Every edit form (shot, scene, character, logline and style) carries the *fingerprint* of
the row as it was loaded: a short hash of the fields the form edits. The edit services take
it as `expected` and compare it with the row's fingerprint now; when another browser tab
(or another person) saved the row in between, nothing is saved and the form says so,
instead of writing its old values over the newer ones. A fingerprint needs no schema
change and also notices changes made by renames and imports.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from studio.services.script_export import shot_data

STALE_WHAT = {
    "shot": "shot",
    "scene": "scene",
    "character": "character",
    "details": "logline and style",
}


def fingerprint(fields: dict[str, Any]) -> str:
    """A short hash of the edited fields (16 hex digits)."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def shot_fingerprint(shot: Any) -> str:
    return fingerprint(shot_data(shot))


def scene_fingerprint(scene: Any) -> str:
    return fingerprint(
        {
            "heading": scene.heading,
            "time_of_day": scene.time_of_day,
            "elements": list(scene.elements),
            "style": scene.style,
        }
    )


def character_fingerprint(character: Any) -> str:
    return fingerprint({"name": character.name, "description": list(character.description)})


def details_fingerprint(project: Any) -> str:
    return fingerprint({"logline": project.logline, "style": project.style})


def stale_problem(kind: str, expected: str | None, current: str) -> str | None:
    """The sentence for a form loaded before the row last changed, or None when it is fresh
    (or carries no fingerprint: callers other than a form)."""
    if not expected or expected == current:
        return None
    what = STALE_WHAT[kind]
    return (
        f"This {what} was changed in another tab or window after you opened it, so your changes were not saved "
        f"(they would have overwritten the newer ones). Copy what you typed, open the {what} again to load the "
        "current values, then make your change again."
    )
