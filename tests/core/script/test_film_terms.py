"""core.script.film_terms: free-text camera moves, shot sizes and times of day."""

from __future__ import annotations

import pytest

from core.script import CameraMotion, ShotSize, TimeOfDay
from core.script.film_terms import camera_motion_in, shot_size_in, time_of_day_in


@pytest.mark.parametrize(
    ("text", "motion"),
    [
        ("pan left", CameraMotion.PAN_LEFT),
        ("The camera slowly pans to the right.", CameraMotion.PAN_RIGHT),
        ("Panning leftwards across the bar", CameraMotion.PAN_LEFT),
        ("Zoom in", CameraMotion.ZOOM_IN),
        ("zoom-out", CameraMotion.ZOOM_OUT),
        ("static shot", CameraMotion.STATIC),
        ("The camera remains still.", CameraMotion.STATIC),
        ("No camera movement", CameraMotion.STATIC),
        ("The camera pushes in on her face", CameraMotion.DOLLY_IN),
        ("Dolly out as he leaves", CameraMotion.DOLLY_OUT),
        ("The camera pulls back to reveal the city", CameraMotion.DOLLY_OUT),
        ("Tilt up to the sky", CameraMotion.TILT_UP),
        ("tilts downward", CameraMotion.TILT_DOWN),
        ("The camera follows them down the hall", CameraMotion.TRACKING),
        ("Tracking shot along the beach", CameraMotion.TRACKING),
        ("Hand-held, slightly shaky", CameraMotion.HANDHELD),
    ],
)
def test_camera_motion(text: str, motion: CameraMotion) -> None:
    found = camera_motion_in(text)
    assert found is not None and found.value == motion


def test_camera_motion_reports_every_distinct_move_but_not_overlaps() -> None:
    found = camera_motion_in("The camera slowly pans left, following Juno")
    assert found is not None
    assert found.all_values == (CameraMotion.PAN_LEFT, CameraMotion.TRACKING)  # "pans" alone is no extra pan
    assert found.term == "pans left"
    assert camera_motion_in("The camera spirals around the till") is None


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("Close-up", ShotSize.CLOSE_UP),
        ("CU", ShotSize.CLOSE_UP),
        ("extreme close up", ShotSize.EXTREME_CLOSE_UP),
        ("Medium shot", ShotSize.MEDIUM),
        ("Medium close-up", ShotSize.MEDIUM),
        ("medium long shot", ShotSize.FULL),
        ("full body shot", ShotSize.FULL),
        ("Wide", ShotSize.WIDE),
        ("Establishing shot", ShotSize.WIDE),
        ("Extreme wide shot", ShotSize.EXTREME_WIDE),
        ("aerial", ShotSize.EXTREME_WIDE),
    ],
)
def test_shot_size(text: str, size: ShotSize) -> None:
    found = shot_size_in(text)
    assert found is not None and found.value == size


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("EXT. PIER - EARLY MORNING", TimeOfDay.DAWN),
        ("A dark street at night", TimeOfDay.NIGHT),
        ("golden hour on the beach", TimeOfDay.SUNSET),
        ("Saturday afternoon", TimeOfDay.DAY),
        ("TWILIGHT", TimeOfDay.SUNSET),
    ],
)
def test_time_of_day(text: str, time: TimeOfDay) -> None:
    found = time_of_day_in(text)
    assert found is not None and found.value == time


def test_no_time_named() -> None:
    assert time_of_day_in("LATER") is None
    assert time_of_day_in("Today the shop is busy") is None  # "day" only as a whole word
