"""Free-text film terms ("pans left", "EARLY MORNING", "medium long shot") -> script enums.

Importers meet camera directions, shot sizes and times of day written by people or by a VLM.
Each function finds the terms in a text and returns the enum value of the earliest one
(the longest where two start at the same place), together with every distinct value found,
so the caller can say in a shot's notes when a text named several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from core.script.models import CameraAngle, CameraMotion, ShotSize, TimeOfDay

E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class Found(Generic[E]):
    """The term a text names first, and all distinct ones it names (in order)."""

    value: E
    all_values: tuple[E, ...]
    term: str  # the words that named `value`, as found (lower case, hyphens as spaces)


def _terms(table: list[tuple[str, E]]) -> list[tuple[re.Pattern[str], E]]:
    return [
        (re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE), value) for pattern, value in table
    ]


def _find(text: str, terms: list[tuple[re.Pattern[str], E]]) -> Found[E] | None:
    # Hyphens and underscores are spelled every way ("close-up", "close_up", "close up").
    text = re.sub(r"[\s_]+", " ", text.replace("-", " "))
    hits: list[tuple[int, int, E, str]] = []
    for pattern, value in terms:
        for match in pattern.finditer(text):
            hits.append((match.start(), -(match.end() - match.start()), value, match.group(0).lower()))
    if not hits:
        return None
    hits.sort(key=lambda hit: (hit[0], hit[1]))
    # A shorter term inside a longer one ("pans" in "pans left") is not a separate mention.
    kept = []
    covered_until = -1
    for start, negative_length, value, term in hits:
        if start >= covered_until:
            kept.append((value, term))
            covered_until = start - negative_length
    values = tuple(dict.fromkeys(value for value, _ in kept))
    return Found(kept[0][0], values, kept[0][1])


_S = r"(?:s|es|ed|ing)?"  # verb endings: pan, pans, panned, panning

_MOTIONS = _terms(
    [
        (rf"zoom{_S} (?:in|into|inwards?)|slow zoom|zoom{_S} closer", CameraMotion.ZOOM_IN),
        (rf"zoom{_S} (?:out|outwards?|back)", CameraMotion.ZOOM_OUT),
        (
            rf"(?:dolly|dollie{_S}|dolly{_S}|push{_S}|mov{_S}|move|track{_S}|truck{_S}|creep{_S}) "
            r"(?:in|inwards?|forwards?|closer|towards?)|push in",
            CameraMotion.DOLLY_IN,
        ),
        (
            rf"(?:dolly|dollie{_S}|dolly{_S}|pull{_S}|mov{_S}|move|track{_S}|truck{_S}) "
            r"(?:out|back|backwards?|away)|pull back|pull out",
            CameraMotion.DOLLY_OUT,
        ),
        # A bare "pan" names no direction; pan-right (the reading direction) is the usual one.
        (rf"pan{_S}|pann{_S}", CameraMotion.PAN_RIGHT),
        (
            rf"(?:pan{_S}|pann{_S}) (?:to the |towards the |slightly )?(?:left|leftwards?)",
            CameraMotion.PAN_LEFT,
        ),
        (
            rf"(?:pan{_S}|pann{_S}) (?:to the |towards the |slightly )?(?:right|rightwards?)",
            CameraMotion.PAN_RIGHT,
        ),
        (rf"tilt{_S} (?:up|upwards?)|crane{_S}? up|pedestal up", CameraMotion.TILT_UP),
        (rf"tilt{_S} (?:down|downwards?)|crane{_S}? down|pedestal down", CameraMotion.TILT_DOWN),
        (rf"track{_S}|tracking shot|follow{_S}|truck{_S}|steadicam|dolly shot", CameraMotion.TRACKING),
        (r"hand ?held|shaky|shaking camera|jittery", CameraMotion.HANDHELD),
        (
            r"static|still|stationary|fixed|locked(?: off)?|steady|no (?:camera )?(?:movement|motion)"
            r"|does not move|doesn't move|remains? (?:still|steady|static)",
            CameraMotion.STATIC,
        ),
    ]
)

_SIZES = _terms(
    [
        (
            r"(?:extreme|extra|very|big) close ?ups?|(?:extreme|very) close shot|ecu|xcu|bcu|macro",
            ShotSize.EXTREME_CLOSE_UP,
        ),
        (r"close ?ups?|close shot|cu|headshot|head shot|tight shot", ShotSize.CLOSE_UP),
        (
            r"medium(?: close ?ups?| close shot)?(?: shot)?|mid ?shot|ms|mcu|waist shot|cowboy shot|two shot",
            ShotSize.MEDIUM,
        ),
        (
            r"full(?: body)?(?: shot)?|full length|fs|medium (?:long|wide)(?: shot)?|mls|mws|knee shot",
            ShotSize.FULL,
        ),
        (r"wide(?: angle)?(?: shot)?|long shot|ls|ws|establishing(?: shot)?", ShotSize.WIDE),
        (
            r"(?:extreme|very) (?:wide|long)(?: shot)?|ews|els|xls|xws|aerial(?: shot)?|bird'?s eye",
            ShotSize.EXTREME_WIDE,
        ),
    ]
)

_ANGLES = _terms(
    [
        (r"high angle(?: shot)?|looking down(?: at| on)?|from above", CameraAngle.HIGH),
        (r"low angle(?: shot)?|looking up(?: at)?|from below|worm'?s eye", CameraAngle.LOW),
        (r"overhead(?: shot)?|top shot|top down|bird'?s eye(?: view)?|god'?s eye", CameraAngle.OVERHEAD),
        (r"dutch(?: angle| tilt)?|canted(?: angle)?|oblique angle", CameraAngle.DUTCH),
        (r"eye level|eye line", CameraAngle.EYE_LEVEL),
    ]
)

# MORNING is ordinary daylight in screenplays; only explicitly early light is dawn.
_TIMES = _terms(
    [
        (r"early morning|first light|dawn|sunrise|daybreak|pre dawn|break of day", TimeOfDay.DAWN),
        (r"golden hour|magic hour|sunset|sundown|dusk|twilight|evening", TimeOfDay.SUNSET),
        (r"midnight|night|nighttime|night time|late night", TimeOfDay.NIGHT),
        (r"morning|afternoon|midday|noon|day|daytime|daylight", TimeOfDay.DAY),
    ]
)


def camera_motion_in(text: str) -> Found[CameraMotion] | None:
    """The camera motion `text` describes ("The camera slowly pans left" -> pan-left)."""
    return _find(text, _MOTIONS)


def shot_size_in(text: str) -> Found[ShotSize] | None:
    """The shot size `text` names ("Medium long shot" -> full)."""
    return _find(text, _SIZES)


def camera_angle_in(text: str) -> Found[CameraAngle] | None:
    """The camera angle `text` names ("LOW ANGLE on the tower" -> low)."""
    return _find(text, _ANGLES)


def time_of_day_in(text: str) -> Found[TimeOfDay] | None:
    """The time of day `text` names ("EXT. PIER - EARLY MORNING" -> dawn)."""
    return _find(text, _TIMES)
