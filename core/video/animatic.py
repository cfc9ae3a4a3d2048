"""The animatic: the whole storyboard as a timed video, before (or instead of) rendering clips.

Every shot shows its rendered clip where one exists, otherwise its keyframe held for the
shot's duration with the shot's camera motion applied as a Ken Burns move. Shots are joined
by cuts or crossfades; dialogue lines can be captioned; a title card can open the film. The
result is an H.264 MP4 (libx264, yuv420p, even size, faststart: plays in browsers) and a
small GIF preview, both written atomically.

Shots are named either by their story-order index (position in `Script.shots()`) or by a
0-based `(scene_index, shot_index)` pair.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from core.files import atomic_output
from core.progress import CancelCheck, Progress, ProgressCallback, raise_if_cancelled
from core.script import Script
from core.video.animatic_timeline import CardSource, ClipSource, Segment, Source, StillSource, Timeline
from core.video.camera_moves import CameraMoveConfig
from core.video.captions import CaptionStyle, caption_overlay, placeholder_card, title_card
from core.video.encoding import GIF_EXACT_FPS, H264Settings, write_gif, write_h264
from core.video.media_reader import load_clip, load_still

logger = logging.getLogger(__name__)

ShotKey = int | tuple[int, int]


@dataclass(frozen=True)
class AnimaticSettings:
    fps: int = 24
    size: tuple[int, int] | None = None  # (width, height); None: the first keyframe's size
    transition: Literal["cut", "crossfade"] = "crossfade"
    crossfade_seconds: float = 0.5
    captions: bool = True
    title_card: bool = True
    title_seconds: float = 2.0
    clip_fps: float = 8.0  # for clips whose file records no frame rate (npz arrays)
    missing: Literal["error", "placeholder"] = "error"
    camera: CameraMoveConfig = field(default_factory=CameraMoveConfig)
    caption_style: CaptionStyle = field(default_factory=CaptionStyle)
    h264: H264Settings = field(default_factory=H264Settings)
    gif_fps: int = 5
    gif_width: int = 160
    gif_max_seconds: float = 30.0  # longer animatics get a time-lapse preview (every shot still shows)

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(
                f"The animatic frame rate is {self.fps}; it must be a positive number of frames per second."
            )
        if self.transition not in ("cut", "crossfade"):
            raise ValueError(f"The transition {self.transition!r} is unknown; use 'cut' or 'crossfade'.")
        if self.crossfade_seconds < 0 or self.title_seconds < 0:
            raise ValueError("Crossfade and title card durations cannot be negative.")
        if self.gif_fps not in GIF_EXACT_FPS:
            raise ValueError(f"The GIF preview rate must be one of {GIF_EXACT_FPS} fps, not {self.gif_fps}.")
        if self.size is not None and (self.size[0] < 2 or self.size[1] < 2):
            raise ValueError(f"The animatic size {self.size} is too small; give at least 2x2 pixels.")


@dataclass(frozen=True)
class AnimaticResult:
    video_path: Path
    gif_path: Path | None
    num_frames: int
    fps: int
    size: tuple[int, int]  # (width, height)
    duration: float  # seconds
    shot_starts: list[float]  # seconds at which each shot begins, story order


def _lookup(mapping: Mapping[ShotKey, str | Path] | None, index: int, scene: int, shot: int) -> Path | None:
    if not mapping:
        return None
    value = mapping.get(index)
    if value is None:
        value = mapping.get((scene, shot))
    return Path(value) if value is not None else None


def _check_keys(script: Script, mapping: Mapping[ShotKey, str | Path] | None, what: str) -> None:
    """Refuse keys that name no shot: a typo would otherwise silently drop a picture."""
    if not mapping:
        return
    valid: set[ShotKey] = set()
    for i, (s, k, _) in enumerate(script.shots()):
        valid.update({i, (s, k)})
    unknown = [key for key in mapping if key not in valid]
    if unknown:
        raise ValueError(
            f"The {what} mapping names shots that are not in the script: {unknown[:5]}; "
            "use story-order indices (0-based) or (scene, shot) pairs (0-based)."
        )


def _even(n: int) -> int:
    return max(2, n - n % 2)


def _output_size(settings: AnimaticSettings, first_picture: np.ndarray | None) -> tuple[int, int]:
    if settings.size is not None:
        return _even(settings.size[0]), _even(settings.size[1])
    if first_picture is None:
        raise ValueError(
            "No shot has a keyframe or clip to take the animatic's size from; pass settings.size."
        )
    height, width = first_picture.shape[:2]
    return _even(width), _even(height)


def build_timeline(
    script: Script,
    keyframes: Mapping[ShotKey, str | Path],
    clips: Mapping[ShotKey, str | Path] | None = None,
    settings: AnimaticSettings = AnimaticSettings(),
    caption_starts: Mapping[int, Sequence[float]] | None = None,
) -> Timeline:
    """Lay out every shot of `script` on the frame grid (nothing is encoded yet).

    `caption_starts`: per story-order index, the seconds from the shot's start at which each
    dialogue caption comes up (a scratch voice track times them); otherwise a shot's time is
    shared evenly between its captions.
    """
    shots = script.shots()
    if not shots:
        raise ValueError("The script has no shots; add a shot before exporting an animatic.")
    _check_keys(script, keyframes, "keyframe")
    _check_keys(script, clips, "clip")

    media: list[tuple[str, Path | None]] = []
    missing: list[str] = []
    for i, (s, k, _shot) in enumerate(shots):
        clip = _lookup(clips, i, s, k)
        still = _lookup(keyframes, i, s, k)
        if clip is not None:
            media.append(("clip", clip))
        elif still is not None:
            media.append(("still", still))
        else:
            media.append(("missing", None))
            missing.append(f"scene {s + 1}, shot {k + 1}")
    if missing and settings.missing == "error":
        listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ValueError(
            f"{len(missing)} shot(s) have no keyframe or clip ({listed}); generate their keyframes first "
            "or export with placeholders for missing shots."
        )

    first_picture = None
    if settings.size is None:
        for kind, path in media:
            if kind == "still":
                first_picture = load_still(path)
                break
            if kind == "clip":
                first_picture = load_clip(path).frames[0]
                break
    size = _output_size(settings, first_picture)
    fps = settings.fps
    camera = settings.camera

    segments: list[Segment] = []
    seconds = 0.0
    frame = 0

    def boundary(after_seconds: float) -> int:
        return int(round(after_seconds * fps))

    if settings.title_card and settings.title_seconds > 0:
        title, logline = script.title, script.logline
        seconds += settings.title_seconds
        end = boundary(seconds)
        if end > frame:
            segments.append(
                Segment(
                    CardSource(lambda: title_card(title, logline, size, settings.caption_style)), frame, end
                )
            )
            frame = end

    for index, ((s, k, shot), (kind, path)) in enumerate(zip(shots, media, strict=True)):
        seconds += shot.duration
        end = boundary(seconds)
        if end <= frame:
            # shorter than one frame at this rate: the next shot absorbs it, the total stays exact
            logger.warning(
                "Scene %d, shot %d lasts %.3f s, less than one frame at %d fps; it is skipped.",
                s + 1,
                k + 1,
                shot.duration,
                fps,
            )
            continue
        source: Source
        if kind == "clip":
            source = ClipSource(_clip_loader(path, settings.clip_fps), size)
        elif kind == "still":
            # a stable per-shot seed: the handheld sway differs between shots but not between exports
            seed = zlib.crc32(f"{s}/{k}".encode())
            source = StillSource(_still_loader(path), size, shot.motion, seed, camera)
        else:
            heading = f"Scene {s + 1}, shot {k + 1}"
            plot = shot.plot
            source = CardSource(
                lambda heading=heading, plot=plot: placeholder_card(
                    heading, plot, size, settings.caption_style
                )
            )
        captions = []
        starts = None
        if settings.captions and shot.dialogue:
            captions = [caption_overlay(line, size, settings.caption_style) for line in shot.dialogue]
            if caption_starts and index in caption_starts:
                if len(caption_starts[index]) != len(shot.dialogue):
                    raise ValueError(
                        f"Scene {s + 1}, shot {k + 1} has {len(shot.dialogue)} dialogue lines but "
                        f"{len(caption_starts[index])} caption times were given."
                    )
                starts = [int(round(t * fps)) for t in caption_starts[index]]
        segments.append(Segment(source, frame, end, captions, starts))
        frame = end

    crossfade_frames = boundary(settings.crossfade_seconds) if settings.transition == "crossfade" else 0
    return Timeline(segments, fps, size, crossfade_frames)


def _still_loader(path: Path):
    return lambda: load_still(path)


def _clip_loader(path: Path, default_fps: float):
    def load() -> tuple[np.ndarray, float]:
        clip = load_clip(path)
        return clip.frames, clip.fps or default_fps

    return load


def _shot_starts(script: Script, settings: AnimaticSettings) -> list[float]:
    start = settings.title_seconds if settings.title_card and settings.title_seconds > 0 else 0.0
    starts = []
    for _, _, shot in script.shots():
        starts.append(round(start, 6))
        start += shot.duration
    return starts


def render_animatic(
    script: Script,
    keyframes: Mapping[ShotKey, str | Path],
    video_path: str | Path,
    *,
    clips: Mapping[ShotKey, str | Path] | None = None,
    gif_path: str | Path | None = None,
    settings: AnimaticSettings = AnimaticSettings(),
    progress: ProgressCallback | None = None,
    cancel_check: CancelCheck | None = None,
    audio_path: str | Path | None = None,
    caption_starts: Mapping[int, Sequence[float]] | None = None,
) -> AnimaticResult:
    """Assemble and encode the animatic of `script`; returns where it went and its timing.

    `audio_path`: a sound track as long as the animatic (a WAV from
    `core.interchange.scratch_track`), written into the MP4 as AAC; `caption_starts` times
    the captions to it (see `build_timeline`).

    `progress(Progress(done, total))` counts encoded frames (MP4, then GIF); `cancel_check()` returning
    True stops the job with `Cancelled`, leaving neither file behind.
    """
    video_path = Path(video_path)
    gif_path = Path(gif_path) if gif_path is not None else None
    timeline = build_timeline(script, keyframes, clips, settings, caption_starts)
    width, height = timeline.size
    gif_w = min(settings.gif_width, width)
    gif_h = max(1, round(height * gif_w / width))
    gif_indices = (
        timeline.preview_indices(settings.gif_fps, settings.gif_max_seconds) if gif_path is not None else []
    )
    gif_frames = len(gif_indices)
    # the preview's pictures are grabbed while the MP4 is encoded instead of being rendered twice
    wanted = {index: j for j, index in enumerate(gif_indices)}
    preview: dict[int, np.ndarray] = {}
    total = timeline.num_frames + gif_frames
    done = 0

    def tick() -> None:
        nonlocal done
        raise_if_cancelled(cancel_check, "The animatic export")
        done += 1
        if progress is not None:
            progress(Progress(min(done, total), total))

    def video_frame(i: int) -> np.ndarray:
        tick()
        picture = timeline.frame(i)
        if i in wanted and wanted[i] not in preview:
            preview[wanted[i]] = cv2.resize(picture, (gif_w, gif_h), interpolation=cv2.INTER_AREA)
        return picture

    def gif_frame(j: int) -> np.ndarray:
        tick()
        if j not in preview:
            picture = timeline.frame(gif_indices[j])
            preview[j] = cv2.resize(picture, (gif_w, gif_h), interpolation=cv2.INTER_AREA)
        return preview[j]

    # both files are one artefact: they appear together or not at all
    gif_target = atomic_output(gif_path) if gif_path is not None else contextlib.nullcontext()
    try:
        with atomic_output(video_path) as video_temporary, gif_target as gif_temporary:
            write_h264(
                video_frame,
                timeline.num_frames,
                timeline.size,
                timeline.fps,
                video_temporary,
                settings.h264,
                audio_path=audio_path,
            )
            # moviepy probes frame 0 once when it builds a clip; count only frames really encoded
            done = timeline.num_frames
            if gif_temporary is not None:
                write_gif(gif_frame, gif_frames, settings.gif_fps, gif_temporary)
    finally:
        timeline.close()
    logger.info(
        "Animatic %s: %d frames, %.1f s, %dx%d.",
        video_path.name,
        timeline.num_frames,
        timeline.duration,
        width,
        height,
    )
    return AnimaticResult(
        video_path=video_path,
        gif_path=gif_path,
        num_frames=timeline.num_frames,
        fps=settings.fps,
        size=timeline.size,
        duration=timeline.duration,
        shot_starts=_shot_starts(script, settings),
    )
