"""When each shot and each dialogue line is on screen in the animatic.

Every export that carries time (editorial timelines, the CSV shot list, subtitles) reads it
from here, and `core.video.animatic` lays out its frames by the same rule, so they agree to
the frame:

* the animatic opens with a title card of `lead_in` seconds (0: none);
* shot k ends at output frame round(cumulative seconds * fps) (never accumulating rounding);
  a shot shorter than one frame at that rate gets no frames (the animatic skips it too);
* a shot's dialogue lines follow each other: with a scratch voice track each line is on
  screen while it is spoken (`line_spans`, seconds from the shot's start); without one the
  shot's frames are shared evenly between its lines, as the animatic's captions are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.script import Script

DEFAULT_FPS = 24
DEFAULT_LEAD_IN = 2.0  # core.video.animatic.AnimaticSettings.title_seconds


@dataclass(frozen=True)
class LineTime:
    """One dialogue line on screen: frames [start, end) of the animatic."""

    shot: int  # story-order index of its shot
    line: int  # 0-based position in the shot's dialogue
    start: int
    end: int
    character: str
    text: str
    parenthetical: str


@dataclass(frozen=True)
class ShotTime:
    """One shot on screen: frames [start, end) of the animatic."""

    index: int  # story order, 0-based
    scene: int  # 0-based
    shot: int  # 0-based within the scene
    start: int
    end: int
    lines: tuple[LineTime, ...]

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def name(self) -> str:
        """The shot's name in editing tools: "S01 SH002" (1-based scene and shot)."""
        return f"S{self.scene + 1:02d} SH{self.shot + 1:03d}"


@dataclass(frozen=True)
class StoryTiming:
    fps: int
    lead_in: int  # frames of the title card before the first shot
    shots: tuple[ShotTime, ...]

    @property
    def num_frames(self) -> int:
        return self.shots[-1].end if self.shots else self.lead_in

    def seconds(self, frame: int) -> float:
        return frame / self.fps

    @property
    def lines(self) -> list[LineTime]:
        return [line for shot in self.shots for line in shot.lines]


def story_timing(
    script: Script,
    *,
    fps: int = DEFAULT_FPS,
    lead_in: float = DEFAULT_LEAD_IN,
    durations: Mapping[int, float] | None = None,
    line_spans: Mapping[int, Sequence[tuple[float, float]]] | None = None,
) -> StoryTiming:
    """The animatic's timing of `script`.

    `durations` overrides shot durations by story-order index (seconds); `line_spans` gives,
    per story-order index, each dialogue line's (start, end) in seconds from its shot's start.
    """
    if fps <= 0:
        raise ValueError(f"The frame rate is {fps}; give a positive number of frames per second.")
    if lead_in < 0:
        raise ValueError(f"The title card lasts {lead_in:g} s; give 0 s (no title card) or more.")
    durations = dict(durations or {})
    unknown = sorted(set(durations) - set(range(script.num_shots)))
    if unknown:
        raise ValueError(
            f"Durations are given for shot(s) {[i + 1 for i in unknown][:5]} but the script has "
            f"{script.num_shots} shots; number shots 1 to {script.num_shots} in story order."
        )
    for index, seconds in durations.items():
        if not seconds > 0:
            raise ValueError(
                f"Shot {index + 1} is given a duration of {seconds:g} s; a shot must last more than 0 s."
            )
    seconds = lead_in
    start = round(seconds * fps)
    lead_frames = start
    shots: list[ShotTime] = []
    for index, (s, k, shot) in enumerate(script.shots()):
        seconds += durations.get(index, shot.duration)
        end = max(start, round(seconds * fps))
        spans = (line_spans or {}).get(index)
        lines = tuple(
            LineTime(index, j, a, b, line.character, line.text, line.parenthetical)
            for j, (line, (a, b)) in enumerate(
                zip(shot.dialogue, _line_frames(start, end, len(shot.dialogue), spans, fps), strict=True)
            )
        )
        shots.append(ShotTime(index, s, k, start, end, lines))
        start = end
    return StoryTiming(fps=fps, lead_in=lead_frames, shots=tuple(shots))


def _line_frames(
    start: int, end: int, count: int, spans: Sequence[tuple[float, float]] | None, fps: int
) -> list[tuple[int, int]]:
    if count == 0:
        return []
    length = end - start
    if spans is None:
        # the animatic's caption slot of frame i is (i - start) * count // length
        edges = [start + -(-j * length // count) for j in range(count + 1)]
        return list(zip(edges[:-1], edges[1:], strict=True))
    if len(spans) != count:
        raise ValueError(f"{len(spans)} line spans are given for a shot with {count} dialogue lines.")
    return [
        (min(end, start + round(a * fps)), min(end, max(start + round(a * fps) + 1, start + round(b * fps))))
        for a, b in spans
    ]
