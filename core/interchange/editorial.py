"""The storyboard as an editing timeline: OpenTimelineIO, CMX 3600 EDL and Final Cut Pro XML.

`editorial_timeline` builds one OpenTimelineIO timeline and the adapters write it:
`otio_json` (.otio), `cmx_3600` (.edl, package otio-cmx3600-adapter) and `fcp_xml`
(.xml, package otio-fcp-adapter). Its video track "Storyboard" holds a gap for the title card
(when the animatic has one) and one clip per shot, in story order, as long as the shot is in
the animatic (`core.interchange.timing`). Each clip

* is named after its shot ("S01 SH002"; reel "SHOT0005" in an EDL, by story order) and points at the shot's keyframe or clip file
  (a missing reference where the shot has none yet);
* carries a marker per dialogue line, on the frames the line is on screen, named
  "CHARACTER: words", and the plot as a marker at its first frame;
* keeps the shot's script fields in its metadata under "moviedreamer".

An optional scratch voice track becomes an audio track with one clip of the whole mix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import opentimelineio as otio

from core.interchange.timing import StoryTiming
from core.script import Script

logger = logging.getLogger(__name__)

ADAPTERS = {"otio": "otio_json", "edl": "cmx_3600", "fcpxml": "fcp_xml"}
SUFFIXES = {"otio": ".otio", "edl": ".edl", "fcpxml": ".xml"}


def editorial_timeline(
    script: Script,
    timing: StoryTiming,
    media: Mapping[int, str | Path] | None = None,
    *,
    audio: str | Path | None = None,
) -> otio.schema.Timeline:
    """The OpenTimelineIO timeline of `script` (`media`: story-order index -> keyframe or clip)."""
    media = media or {}
    fps = timing.fps
    timeline = otio.schema.Timeline(name=script.title, global_start_time=otio.opentime.RationalTime(0, fps))
    track = otio.schema.Track(name="Storyboard", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    if timing.lead_in > 0:
        track.append(otio.schema.Gap(source_range=_range(0, timing.lead_in, fps), name="Title card"))
    shots = script.shots()
    for time in timing.shots:
        if time.frames == 0:
            logger.warning(
                "%s lasts less than one frame at %d fps and is left out of the timeline.", time.name, fps
            )
            continue
        _, _, shot = shots[time.index]
        path = media.get(time.index)
        # FCP XML needs every reference's available range; a held keyframe is available as long as needed
        available = _range(0, time.frames, fps)
        reference = (
            otio.schema.ExternalReference(target_url=Path(path).resolve().as_uri(), available_range=available)
            if path is not None
            else otio.schema.MissingReference(available_range=available)
        )
        clip = otio.schema.Clip(
            name=time.name,
            media_reference=reference,
            source_range=_range(0, time.frames, fps),
        )
        # An EDL event names its source by a reel of at most 8 characters without spaces.
        clip.metadata["cmx_3600"] = {"reel": f"SHOT{time.index + 1:04d}"}
        clip.metadata["moviedreamer"] = {
            "shot_number": time.index + 1,
            "scene": time.scene + 1,
            "shot": time.shot + 1,
            "heading": script.scenes[time.scene].heading,
            "plot": shot.plot,
            "characters": list(shot.characters),
            "size": shot.size.value,
            "angle": shot.angle.value,
            "motion": shot.motion.value,
            "dialogue": [line.model_dump() for line in shot.dialogue],
            "notes": shot.notes,
        }
        clip.markers.append(
            otio.schema.Marker(
                name=shot.plot, marked_range=_range(0, 1, fps), color=otio.schema.MarkerColor.BLUE
            )
        )
        for line in time.lines:
            if line.end <= line.start:
                continue
            clip.markers.append(
                otio.schema.Marker(
                    name=f"{line.character.upper()}: {line.text}",
                    marked_range=_range(line.start - time.start, line.end - line.start, fps),
                    color=otio.schema.MarkerColor.YELLOW,
                    metadata={"moviedreamer": {"parenthetical": line.parenthetical}},
                )
            )
        track.append(clip)
    if audio is not None:
        sound = otio.schema.Track(name="Scratch voice", kind=otio.schema.TrackKind.Audio)
        sound.append(
            otio.schema.Clip(
                name="Scratch voice",
                media_reference=otio.schema.ExternalReference(
                    target_url=Path(audio).resolve().as_uri(),
                    available_range=_range(0, timing.num_frames, fps),
                ),
                source_range=_range(0, timing.num_frames, fps),
            )
        )
        timeline.tracks.append(sound)
    return timeline


def timeline_text(timeline: otio.schema.Timeline, kind: str) -> str:
    """`timeline` written by the adapter of `kind` ("otio", "edl" or "fcpxml")."""
    if kind not in ADAPTERS:
        raise ValueError(f"{kind!r} is not an editing format; use one of {', '.join(ADAPTERS)}.")
    if kind == "edl":
        # An EDL holds one video track; the scratch voice stays in the .otio and FCP XML.
        timeline = timeline.deepcopy()
        for track in [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio]:
            timeline.tracks.remove(track)
    return otio.adapters.write_to_string(timeline, adapter_name=ADAPTERS[kind])


def _range(start: int, frames: int, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, fps), otio.opentime.RationalTime(frames, fps)
    )
