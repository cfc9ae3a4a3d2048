"""The storyboard as a CSV shot list: one row per shot, in story order, with its timecodes.

Columns: shot number, scene, shot in scene, name, heading, start and end timecode
(HH:MM:SS:FF at the animatic's frame rate), duration in seconds, size, angle, motion,
characters, plot, dialogue ("Mara (whispering): words" lines), notes, media. Written by the
`csv` module (quoting as spreadsheets expect), with a header row.

Script text may come from someone else's screenplay, and spreadsheets run a cell that starts
with "=", "+", "-", "@" (or a tab or carriage return) as a formula; such a text cell gets a
leading apostrophe, which spreadsheets show as text (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

import opentimelineio as otio

from core.interchange.timing import StoryTiming
from core.script import Script

COLUMNS = (
    "shot_number",
    "scene",
    "shot",
    "name",
    "heading",
    "start",
    "end",
    "duration_seconds",
    "size",
    "angle",
    "motion",
    "characters",
    "plot",
    "dialogue",
    "notes",
    "media",
)


def shot_list_csv(script: Script, timing: StoryTiming, media: Mapping[int, str | Path] | None = None) -> str:
    """The CSV text of the shot list."""
    media = media or {}
    shots = script.shots()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for time in timing.shots:
        _, _, shot = shots[time.index]
        dialogue = "\n".join(
            f"{line.character}{f' ({line.parenthetical})' if line.parenthetical else ''}: {line.text}"
            for line in shot.dialogue
        )
        writer.writerow(
            [
                time.index + 1,
                time.scene + 1,
                time.shot + 1,
                time.name,
                _text(script.scenes[time.scene].heading),
                _timecode(time.start, timing.fps),
                _timecode(time.end, timing.fps),
                f"{time.frames / timing.fps:.3f}",
                shot.size.value,
                shot.angle.value,
                shot.motion.value,
                _text("; ".join(shot.characters)),
                _text(shot.plot),
                _text(dialogue),
                _text(shot.notes),
                _text(str(media.get(time.index, ""))),
            ]
        )
    return buffer.getvalue()


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _timecode(frame: int, fps: int) -> str:
    return otio.opentime.to_timecode(otio.opentime.RationalTime(frame, fps), fps)
