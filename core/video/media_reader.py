"""Read keyframes and rendered clips from disk into RGB uint8 arrays.

Stills: (H, W, 3). Clips: (T, H, W, 3) plus their frame rate when the file records one.
Images are opened with a format allow-list (PNG, JPEG, WEBP) so an upload never reaches
Pillow's rarely used decoders. Clips are video files decoded by moviepy (ffmpeg from
imageio-ffmpeg) or `.npz` arrays with a `frames` key, as the toy-cinema world writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import UnidentifiedImageError

from core.files import open_rgb

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".gif")


@dataclass(frozen=True)
class ClipFrames:
    frames: np.ndarray  # (T, H, W, 3) uint8
    fps: float | None  # None when the file does not say (npz arrays)


def load_still(path: str | Path) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array from a PNG, JPEG or WEBP file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"The keyframe {str(path)!r} does not exist; render the shot again or pick another image."
        )
    try:
        return np.asarray(open_rgb(path), dtype=np.uint8)
    except UnidentifiedImageError as error:
        raise ValueError(
            f"The keyframe {str(path)!r} is not a PNG, JPEG or WEBP image; save it in one of those formats."
        ) from error


def load_clip(path: str | Path) -> ClipFrames:
    """All frames of a rendered clip."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The clip {str(path)!r} does not exist; render the shot's video again.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path) as data:
            if "frames" not in data:
                raise ValueError(
                    f"The clip {str(path)!r} has no 'frames' array; it is not a toy-cinema clip."
                )
            frames = np.asarray(data["frames"])
        fps = None
    elif suffix in VIDEO_SUFFIXES:
        from moviepy import VideoFileClip  # imported here: moviepy probes ffmpeg on import

        with VideoFileClip(str(path), audio=False) as clip:
            fps = float(clip.fps)
            frames = np.stack(list(clip.iter_frames(dtype="uint8")))
    else:
        raise ValueError(
            f"The clip {str(path)!r} has the unsupported type {suffix!r}; use one of "
            f"{', '.join(VIDEO_SUFFIXES + ('.npz',))}."
        )
    if frames.ndim != 4 or frames.shape[-1] not in (3, 4) or len(frames) == 0:
        raise ValueError(
            f"The clip {str(path)!r} holds an array of shape {frames.shape}, not (T, H, W, 3) frames."
        )
    return ClipFrames(frames=np.ascontiguousarray(frames[..., :3].astype(np.uint8)), fps=fps)
