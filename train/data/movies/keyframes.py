"""Stage 1, keyframes (paper App. B): decode a film, mark its cuts, keep a keyframe every N frames.

    video --ffmpeg (imageio-ffmpeg, streamed)--> frames (H0, W0, 3)
          --HSV difference of consecutive thumbnails--> shot cuts
          --first frame of every shot, then every N frames (N = 30 as in the paper)-->
          --skip near-duplicates of the last kept keyframe in the same shot-->
          --centre crop to the bundle's aspect ratio (7:4), resize to W x H--> keyframes

Cuts are found like PySceneDetect's adaptive content detector: the mean absolute difference
of two consecutive frames' HSV thumbnails spikes at a hard cut, while camera motion raises
the differences of all neighbouring frames alike.
Restarting the N-frame count at every cut keeps each keyframe inside one shot, and the
`cut` flag of a keyframe says that a cut lies between it and the keyframe before, which the
structuring stage and the AR model's scene boundaries need.

Output folder: `keyframes.json` (a `KeyframeSet`) and one PNG per keyframe (000000.png, ...).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.files import write_json_atomically
from train.data.movies.errors import VideoError
from train.data.movies.work import read_json

logger = logging.getLogger(__name__)

KEYFRAMES_FILE = "keyframes.json"
# Thumbnail size for cut and duplicate detection: enough to see a change of shot, small
# enough that the HSV conversion costs nothing next to decoding.
THUMBNAIL = (64, 36)


@dataclass(frozen=True)
class KeyframeConfig:
    every: int = 30  # a keyframe every N frames inside a shot (paper App. B: 30)
    width: int = 224  # keyframe size: the bundle's frame (7:4; paper scale 896 x 512)
    height: int = 128
    # A frame starts a new shot when its HSV difference (`hsv_difference`, 0-255) to the frame
    # before is `cut_ratio` times the differences around it (+1) and at least
    # `cut_min_difference`, or above `cut_threshold` outright. The ratio test is
    # PySceneDetect's adaptive detector: camera motion raises all neighbouring differences
    # alike, a cut only one. Measured on 4 toy-cinema films and a static clip (44 cuts, 753
    # other frames): 3 cuts missed (between near-identical framings), 1 false cut.
    cut_ratio: float = 2.0
    cut_min_difference: float = 3.0
    cut_threshold: float = 30.0
    # Mean absolute grey difference (0-255) to the last kept keyframe of the shot below which
    # a keyframe is a near-duplicate (a static shot) and is skipped.
    duplicate_threshold: float = 2.0
    min_shot_frames: int = 3  # a "cut" sooner than this after the last one is a flash, not a shot


@dataclass(frozen=True)
class Keyframe:
    index: int  # position among the film's keyframes
    frame: int  # video frame it was taken from
    time: float  # seconds
    shot: int  # detected shot it belongs to
    cut: bool  # a cut lies between the previous keyframe and this one
    file: str  # PNG in the stage folder


@dataclass(frozen=True)
class KeyframeSet:
    fps: float
    source_size: tuple[int, int]  # (W0, H0) of the decoded video
    crop: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the video kept before resizing
    size: tuple[int, int]  # (W, H) of the keyframes
    num_frames: int
    keyframes: list[Keyframe] = field(default_factory=list)

    def to_keyframe(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box in video pixels -> the same box in keyframe pixels (clipped to the keyframe)."""
        x0, y0, _, _ = self.crop
        sx = self.size[0] / (self.crop[2] - self.crop[0])
        sy = self.size[1] / (self.crop[3] - self.crop[1])
        w, h = self.size
        bx0, by0, bx1, by1 = box
        return (
            min(max((bx0 - x0) * sx, 0.0), w),
            min(max((by0 - y0) * sy, 0.0), h),
            min(max((bx1 - x0) * sx, 0.0), w),
            min(max((by1 - y0) * sy, 0.0), h),
        )

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> KeyframeSet:
        return cls(
            fps=float(data["fps"]),
            source_size=tuple(data["source_size"]),
            crop=tuple(data["crop"]),
            size=tuple(data["size"]),
            num_frames=int(data["num_frames"]),
            keyframes=[Keyframe(**k) for k in data["keyframes"]],
        )


def load_keyframes(folder: Path) -> KeyframeSet:
    return KeyframeSet.from_json(read_json(Path(folder) / KEYFRAMES_FILE))


def open_keyframe(folder: Path, keyframe: Keyframe) -> Image.Image:
    with Image.open(Path(folder) / keyframe.file) as image:
        return image.convert("RGB")


def centre_crop(size: tuple[int, int], aspect: float) -> tuple[int, int, int, int]:
    """The largest centred box of `size` = (W0, H0) with width / height = `aspect`."""
    w0, h0 = size
    if w0 / h0 > aspect:  # too wide: cut the sides
        w = round(h0 * aspect)
        x0 = (w0 - w) // 2
        return (x0, 0, x0 + w, h0)
    h = round(w0 / aspect)  # too tall: cut top and bottom
    y0 = (h0 - h) // 2
    return (0, y0, w0, y0 + h)


def _ffmpeg_problem(error: BaseException) -> str:
    """The informative last lines of what ffmpeg printed, without its banner."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [
        line
        for line in lines
        if not line.startswith(("ffmpeg version", "built with", "configuration:", "lib", "==="))
    ]
    return " ".join(useful[-2:]) if useful else type(error).__name__


def decode_frames(video: Path) -> tuple[dict, Iterator[np.ndarray]]:
    """(metadata, frames) of a video; frames are RGB uint8 (H0, W0, 3), decoded lazily."""
    import imageio_ffmpeg

    if not video.is_file():
        raise VideoError(f"The video {video} does not exist; check the path.")
    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as error:
        reader.close()
        raise VideoError(
            f"The video {video} could not be decoded ({_ffmpeg_problem(error)}); check that it is a "
            "complete video file (re-encode or re-download it) or leave it out of the input."
        ) from None
    width, height = meta["size"]

    def frames() -> Iterator[np.ndarray]:
        try:
            for raw in reader:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
        except (OSError, RuntimeError) as error:
            raise VideoError(
                f"Decoding the video {video} failed part-way ({_ffmpeg_problem(error)}); the file is "
                "damaged or truncated. Re-encode it or leave it out of the input."
            ) from None
        finally:
            reader.close()

    return meta, frames()


def hsv_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (0-255) of two HSV thumbnails (H, W, 3) int16.

    Hue is circular and meaningless where a pixel is grey or dark (a little codec noise turns
    it around completely), so its difference is weighted by the lower saturation and value of
    the two pixels.
    """
    hue = np.abs(a[..., 0] - b[..., 0])
    hue = np.minimum(hue, 256 - hue)
    weight = np.minimum(np.minimum(a[..., 1], b[..., 1]), np.minimum(a[..., 2], b[..., 2])) / 255.0
    rest = np.abs(a[..., 1:] - b[..., 1:]).mean(axis=-1)
    return float(((hue * weight) + 2.0 * rest).mean() / 3.0)


# Frames on each side whose differences a frame's difference is compared with.
_CUT_CONTEXT = 2


def _frames_with_cuts(
    frames: Iterator[np.ndarray], config: KeyframeConfig
) -> Iterator[tuple[int, Image.Image, Image.Image, bool]]:
    """(t, frame, thumbnail, starts a new shot) for every frame, decided with 2 frames of look-ahead."""
    pending: deque[tuple[int, Image.Image, Image.Image]] = deque()
    differences: list[float] = []  # differences[t]: frame t against frame t - 1 (0 for t = 0)
    previous: np.ndarray | None = None
    last_cut = 0

    def decide(t: int) -> bool:
        nonlocal last_cut
        if t == 0:
            return True
        if t - last_cut < config.min_shot_frames:
            return False
        d = differences[t]
        around = [
            differences[k]
            for k in range(t - _CUT_CONTEXT, t + _CUT_CONTEXT + 1)
            if k != t and 1 <= k < len(differences)
        ]
        baseline = float(np.mean(around)) if around else 0.0
        cut = d > config.cut_threshold or (
            d >= config.cut_min_difference and d > config.cut_ratio * (baseline + 1.0)
        )
        if cut:
            last_cut = t
        return cut

    for t, frame in enumerate(frames):
        image = Image.fromarray(frame)
        thumb = image.resize(THUMBNAIL, Image.Resampling.BILINEAR)
        hsv = np.asarray(thumb.convert("HSV"), dtype=np.int16)
        differences.append(0.0 if previous is None else hsv_difference(hsv, previous))
        previous = hsv
        pending.append((t, image, thumb))
        if len(pending) > _CUT_CONTEXT:
            u, u_image, u_thumb = pending.popleft()
            yield u, u_image, u_thumb, decide(u)
    while pending:
        u, u_image, u_thumb = pending.popleft()
        yield u, u_image, u_thumb, decide(u)


def extract_keyframes(video: Path, folder: Path, config: KeyframeConfig) -> KeyframeSet:
    """Decode `video`, write its keyframes into `folder` and return their description."""
    if config.every < 1:
        raise ValueError(f"The keyframe interval is {config.every}; take a keyframe every 1 or more frames.")
    meta, frames = decode_frames(video)
    fps = float(meta.get("fps") or 0.0)
    if fps <= 0:
        raise VideoError(
            f"The video {video} does not state its frame rate; re-encode it with a constant one."
        )
    source_size = tuple(int(v) for v in meta["size"])
    crop = centre_crop(source_size, config.width / config.height)
    size = (config.width, config.height)

    keyframes: list[Keyframe] = []
    last_kept: np.ndarray | None = None
    shot, shot_start = -1, 0
    count = 0
    for t, image, thumb, new_shot in _frames_with_cuts(frames, config):
        count += 1
        if new_shot:
            shot, shot_start = shot + 1, t
        elif (t - shot_start) % config.every:
            continue
        grey = np.asarray(thumb.convert("L"), dtype=np.float32)
        if (
            not new_shot
            and last_kept is not None
            and float(np.abs(grey - last_kept).mean()) < config.duplicate_threshold
        ):
            continue  # a near-duplicate of the last keyframe of this shot (static camera)
        last_kept = grey
        keyframe = image.crop(crop).resize(size, Image.Resampling.LANCZOS)
        name = f"{len(keyframes):06d}.png"
        keyframe.save(folder / name, compress_level=1)
        keyframes.append(
            Keyframe(
                index=len(keyframes),
                frame=t,
                time=round(t / fps, 4),
                shot=shot,
                cut=new_shot and t > 0,
                file=name,
            )
        )
    if not keyframes:
        raise VideoError(f"The video {video} has no frames; check that it is a complete video file.")
    result = KeyframeSet(fps, source_size, crop, size, count, keyframes)
    write_json_atomically(folder / KEYFRAMES_FILE, result.to_json())
    logger.info("%s: %d frames, %d shots, %d keyframes", video.name, count, shot + 1, len(keyframes))
    return result
