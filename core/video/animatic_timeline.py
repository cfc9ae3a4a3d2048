"""The animatic's timeline: which picture is on screen at every output frame.

The timeline is a list of segments on a frame grid: an optional title card, then one segment
per shot in story order. Segment k covers output frames [start_k, end_k) where the boundaries
are `round(cumulative_seconds * fps)`, so rounding never accumulates and the whole animatic
lasts exactly round(total_seconds * fps) frames.

A crossfade is centred on the cut: the outgoing shot keeps playing (and keeps moving) for
half the fade past its end while the incoming one starts half a fade early. Shot lengths are
therefore unchanged and the total duration equals the sum of the shot durations (plus the
title card). A Ken Burns move spans the whole time its shot is visible, fades included, so
the motion never freezes during a transition.

Sources are loaded lazily and released once the timeline has moved past them, so a long
storyboard of rendered clips never sits in memory at once. Frames are (H, W, 3) uint8.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.script import CameraMotion
from core.video.camera_moves import CameraMoveConfig, affine_for_window, crop_window
from core.video.captions import Overlay


def letterbox(image: np.ndarray, size: tuple[int, int], max_scale: float = 1.0) -> np.ndarray:
    """Fit `image` inside an (W*max_scale, H*max_scale) canvas of the output's aspect, black bars.

    `max_scale` > 1 keeps extra resolution for zooms; the image is never enlarged beyond
    what that canvas needs and large sources are area-averaged so they do not alias.
    """
    out_w, out_h = round(size[0] * max_scale), round(size[1] * max_scale)
    h, w = image.shape[:2]
    ratio = min(out_w / w, out_h / h)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
    if (new_w, new_h) != (w, h):
        interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_CUBIC
        image = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if (new_w, new_h) == (out_w, out_h):
        return np.ascontiguousarray(image)
    canvas = np.zeros((out_h, out_w, 3), dtype=np.uint8)
    x0, y0 = (out_w - new_w) // 2, (out_h - new_h) // 2
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = image
    return canvas


class Source:
    """Something that shows a picture for a segment: `frame(seconds, u)` with u in [0, 1]."""

    is_static = False  # True when every frame is the same picture

    def prepare(self) -> None:
        """Load what the source needs; called just before its first frame."""

    def release(self) -> None:
        """Free memory once the timeline has moved past the segment."""

    def frame(self, seconds: float, u: float) -> np.ndarray:
        raise NotImplementedError


class CardSource(Source):
    """A fixed picture (title or placeholder card)."""

    is_static = True

    def __init__(self, make: Callable[[], np.ndarray]):
        self._make = make
        self._card: np.ndarray | None = None

    def prepare(self) -> None:
        if self._card is None:
            self._card = self._make()

    def release(self) -> None:
        self._card = None

    def frame(self, seconds: float, u: float) -> np.ndarray:
        self.prepare()
        return self._card


class StillSource(Source):
    """A keyframe with a Ken Burns camera move."""

    # zooms crop up to 1/1.3 of the frame: keep that much extra resolution when the source has it
    _OVERSAMPLE = 1.5

    def __init__(
        self,
        load: Callable[[], np.ndarray],
        size: tuple[int, int],
        motion: CameraMotion,
        seed: int,
        camera: CameraMoveConfig,
    ):
        self._load, self._size, self._motion, self._seed, self._camera = load, size, motion, seed, camera
        self._base: np.ndarray | None = None
        self.is_static = motion is CameraMotion.STATIC

    def prepare(self) -> None:
        if self._base is None:
            image = self._load()
            scale = 1.0 if self._motion is CameraMotion.STATIC else self._OVERSAMPLE
            self._base = letterbox(image, self._size, max_scale=scale)

    def release(self) -> None:
        self._base = None

    def frame(self, seconds: float, u: float) -> np.ndarray:
        self.prepare()
        if self._motion is CameraMotion.STATIC:
            return self._base
        window = crop_window(self._motion, u, seconds=seconds, seed=self._seed, config=self._camera)
        base_h, base_w = self._base.shape[:2]
        matrix = affine_for_window(window, (base_w, base_h), self._size)
        return cv2.warpAffine(
            self._base,
            matrix,
            self._size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )


class ClipSource(Source):
    """A rendered clip played at its own frame rate; its last frame holds if the shot is longer."""

    def __init__(self, load: Callable[[], tuple[np.ndarray, float]], size: tuple[int, int]):
        self._load, self._size = load, size
        self._frames: list[np.ndarray] | None = None
        self._fps = 1.0

    def prepare(self) -> None:
        if self._frames is None:
            frames, self._fps = self._load()
            self._frames = [letterbox(f, self._size) for f in frames]

    def release(self) -> None:
        self._frames = None

    def frame(self, seconds: float, u: float) -> np.ndarray:
        self.prepare()
        index = int(max(seconds, 0.0) * self._fps)
        return self._frames[min(index, len(self._frames) - 1)]


@dataclass
class Segment:
    source: Source
    start: int  # first output frame
    end: int  # one past the last output frame
    captions: list[Overlay] = field(default_factory=list)  # shown one after another
    # frames from `start` at which each caption comes up; None: the segment is shared evenly
    caption_starts: list[int] | None = None


class Timeline:
    """Output frames of the animatic, computed on demand in any order (fastest in order)."""

    def __init__(
        self,
        segments: list[Segment],
        fps: float,
        size: tuple[int, int],
        crossfade_frames: int,
    ):
        if not segments:
            raise ValueError("The animatic has no shots; add at least one shot to the script.")
        self.segments = segments
        self.fps = fps
        self.size = size
        self._starts = [s.start for s in segments]
        # half-fade per boundary k (between segment k and k+1), never more than half a segment
        self._half_fades = [
            min(crossfade_frames // 2, (a.end - a.start) // 2, (b.end - b.start) // 2)
            for a, b in zip(segments[:-1], segments[1:], strict=False)
        ]
        self._prepared: set[int] = set()
        self._still_cache: tuple[tuple[int, int] | None, np.ndarray | None] = (None, None)

    @property
    def num_frames(self) -> int:
        return self.segments[-1].end

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def _segment_frame(self, k: int, index: int) -> np.ndarray:
        segment = self.segments[k]
        fade_in = self._half_fades[k - 1] if k > 0 else 0
        fade_out = self._half_fades[k] if k < len(self._half_fades) else 0
        visible_start = segment.start - fade_in
        visible_frames = (segment.end + fade_out) - visible_start
        u = (index - visible_start + 0.5) / visible_frames
        seconds = (index - segment.start) / self.fps
        slot = 0
        if segment.captions and segment.caption_starts is not None:
            slot = max(0, bisect.bisect_right(segment.caption_starts, index - segment.start) - 1)
            slot = min(slot, len(segment.captions) - 1)
        elif segment.captions:
            slot = (index - segment.start) * len(segment.captions) // (segment.end - segment.start)
            slot = min(max(slot, 0), len(segment.captions) - 1)
        if segment.source.is_static and self._still_cache[0] == (k, slot):
            # a held picture under the same caption: compose it once, not once per frame
            return self._still_cache[1]
        frame = segment.source.frame(seconds, u)
        if segment.captions:
            frame = segment.captions[slot].apply(frame)
        if segment.source.is_static:
            self._still_cache = ((k, slot), frame)
        return frame

    def _track(self, k: int) -> None:
        """Prepare segment k's neighbourhood and release what is two or more segments behind."""
        for j in sorted(self._prepared):
            if j < k - 1 or j > k + 1:
                self.segments[j].source.release()
                self._prepared.discard(j)
        self._prepared.update(j for j in (k - 1, k, k + 1) if 0 <= j < len(self.segments))

    def frame(self, index: int) -> np.ndarray:
        if not 0 <= index < self.num_frames:
            raise IndexError(f"Frame {index} is outside the animatic's {self.num_frames} frames.")
        k = bisect.bisect_right(self._starts, index) - 1
        self._track(k)
        segment = self.segments[k]
        if (
            k + 1 < len(self.segments)
            and self._half_fades[k] > 0
            and index >= segment.end - self._half_fades[k]
        ):
            return self._blend(k, index)
        if k > 0 and self._half_fades[k - 1] > 0 and index < segment.start + self._half_fades[k - 1]:
            return self._blend(k - 1, index)
        return self._segment_frame(k, index)

    def _blend(self, k: int, index: int) -> np.ndarray:
        """Mix segment k into k+1 around their shared boundary."""
        half = self._half_fades[k]
        boundary = self.segments[k].end
        alpha = (index - (boundary - half) + 0.5) / (2 * half)
        outgoing = self._segment_frame(k, index).astype(np.float32)
        incoming = self._segment_frame(k + 1, index).astype(np.float32)
        return (outgoing + alpha * (incoming - outgoing)).round().astype(np.uint8)

    def preview_indices(self, preview_fps: float, max_seconds: float) -> list[int]:
        """Output frames for a preview at `preview_fps` lasting about `max_seconds` at most.

        Short animatics are sampled in real time. Longer ones become a time-lapse that keeps
        every shot's share of the running time, but every shot shows for at least one frame.
        """
        speedup = max(1.0, self.duration / max_seconds) if max_seconds > 0 else 1.0
        indices: list[int] = []
        for segment in self.segments:
            length = segment.end - segment.start
            count = max(1, round(length / self.fps * preview_fps / speedup))
            # centre the samples inside the segment so a fade never lands on the only sample
            indices.extend(segment.start + int((j + 0.5) * length / count) for j in range(count))
        return indices

    def close(self) -> None:
        for segment in self.segments:
            segment.source.release()
        self._prepared.clear()
        self._still_cache = (None, None)
