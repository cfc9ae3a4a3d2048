"""Encode frame sequences into browser-playable H.264 MP4 (moviepy) and GIF previews (Pillow).

MP4: libx264, yuv420p (the only 4:2:0 layout every browser decodes), `+faststart` so playback
starts before the download ends, even width and height (4:2:0 needs them). moviepy runs the
ffmpeg binary bundled with imageio-ffmpeg, so no system ffmpeg is needed. Every file is
written through `atomic_output`: a failure or `Cancelled` leaves nothing behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.files import atomic_output

# GIF frame delays are stored in 1/100 s, so only these rates play at their true speed.
GIF_EXACT_FPS = (1, 2, 4, 5, 10, 20, 25, 50)


# Below this many pixels per frame x264's frame threads cost more than they save (measured at
# 224x128 on 2 cores: 1 thread was 10-15 % faster than the automatic count).
SINGLE_THREAD_MAX_PIXELS = 640 * 360


@dataclass(frozen=True)
class H264Settings:
    crf: int = 23  # x264's default quality; lower is better and bigger
    # ultrafast: a 120-shot animatic at 224x128 (about 9,000 frames) cost ffmpeg 3.5-4.3 s of
    # CPU against 6.0-6.5 s with superfast (measured on 2 busy cores); the file grows from
    # 2.7 to 3.9 MB for 6.5 minutes, still small next to the keyframes
    preset: str = "ultrafast"
    threads: int | None = None  # None: 1 for small frames, x264's automatic count otherwise


def duration_for_frames(num_frames: int, fps: float) -> float:
    """A clip duration whose `int(duration * fps)` is exactly `num_frames` (moviepy counts that way)."""
    duration = num_frames / fps
    while int(duration * fps) < num_frames:
        duration = math.nextafter(duration, math.inf)
    return duration


def write_h264(
    frame_at: Callable[[int], np.ndarray],
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    path: str | Path,
    settings: H264Settings = H264Settings(),
    audio_path: str | Path | None = None,
) -> Path:
    """Encode frames `frame_at(0..num_frames-1)` (each (H, W, 3) uint8) into an MP4 at `path`.

    `audio_path`: a sound file (e.g. WAV) muxed in as AAC; give it the video's length.
    """
    from moviepy import VideoClip  # imported here: moviepy probes ffmpeg on import

    width, height = size
    if width % 2 or height % 2:
        raise ValueError(
            f"H.264 in yuv420p needs an even width and height, but the size is {width}x{height}."
        )
    if num_frames < 1:
        raise ValueError("A video needs at least one frame.")
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"The video path {str(path)!r} must end in .mp4.")

    def frame_function(t: float) -> np.ndarray:
        # moviepy asks for t = i / fps; round back to the index to dodge float error
        return frame_at(min(num_frames - 1, int(round(t * fps))))

    clip = VideoClip(frame_function=frame_function, duration=duration_for_frames(num_frames, fps))
    clip.size = (width, height)
    with atomic_output(path) as temporary:
        clip.write_videofile(
            str(temporary),
            fps=fps,
            codec="libx264",
            audio=str(audio_path) if audio_path is not None else False,
            audio_codec="aac",
            preset=settings.preset,
            threads=settings.threads or (1 if width * height <= SINGLE_THREAD_MAX_PIXELS else None),
            ffmpeg_params=["-crf", str(settings.crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
            logger=None,
        )
    return path


def write_gif(
    frame_at: Callable[[int], np.ndarray],
    num_frames: int,
    fps: float,
    path: str | Path,
    palette_samples: int = 48,
) -> Path:
    """Write frames `frame_at(0..num_frames-1)` as a looping GIF at `path` (Pillow).

    One palette for the whole preview (median cut over `palette_samples` frames spread over
    it): per-frame palettes flicker and cost ~25 ms a frame, which made a 120-shot preview
    slower than encoding the MP4 itself.
    """
    from PIL import Image

    if fps not in GIF_EXACT_FPS:
        raise ValueError(
            f"A GIF plays at its true speed only at {GIF_EXACT_FPS} fps, not {fps}; pick one of those."
        )
    if num_frames < 1:
        raise ValueError("A GIF needs at least one frame.")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"The preview path {str(path)!r} must end in .gif.")
    frames = [np.ascontiguousarray(frame_at(i)) for i in range(num_frames)]
    step = max(1, num_frames // palette_samples)
    mosaic = Image.fromarray(np.concatenate(frames[::step], axis=0))
    palette = mosaic.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    with atomic_output(path) as temporary:
        images[0].save(
            temporary,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=round(1000 / fps),
            loop=0,
        )
    return path


def write_frames_mp4(
    frames: np.ndarray, fps: float, path: str | Path, settings: H264Settings = H264Settings()
) -> Path:
    """Save a rendered clip, (T, H, W, 3) uint8, as an MP4 (odd sizes are padded by one pixel)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"Expected (T, H, W, 3) uint8 frames, got {frames.dtype} of shape {frames.shape}.")
    t, h, w, _ = frames.shape
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        # repeat the edge rather than crop it: the clip keeps every pixel the model made
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return write_h264(lambda i: frames[i], t, (w + pad_w, h + pad_h), fps, path, settings)
