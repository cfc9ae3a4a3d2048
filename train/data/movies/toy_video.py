"""Toy-cinema movies as MP4 films with hard cuts, and the ground truth that comes with them.

The data pipeline is built for real films, but no film data set can be had here, so its
tests and benchmark run on toy-cinema movies rendered to video: every shot of a generated
movie becomes a short clip (the camera moves as the shot's motion says, the characters act),
and the clips are joined with hard cuts into one H.264 MP4.

Beside `NAME.mp4` the renderer writes `NAME.toy-cinema.json`, the ground truth of the film:

    {"format": 1, "title", "style", "fps", "width", "height", "num_frames",
     "cast":   [{"identity", "name", "description": [sentences]}],
     "shots":  [{"start", "frames", "scene", "shot", "heading", "time_of_day", "elements",
                 "plot", "size", "angle", "motion", "duration", "place", "weather"}],
     "frames": [[{"name", "identity", "box", "face_box", "action", "expression"}], ...]}

`frames` has one list per video frame (boxes in video pixels). Only the stages that are
allowed to read ground truth do: the ground-truth face detector, captioner and structurer
(for toy-cinema videos only), and the cluster-purity evaluation.

    python -m train.data.movies.toy_video --out videos/ --movies 3 --shots 8 --seed 0
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.files import write_json_atomically
from train.data.movies.errors import VideoError
from train.data.world import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    Movie,
    clip_specs,
    generate_movie,
    make_identity_pool,
    render_keyframe,
)
from train.data.world.blocking import frame_layout
from train.data.world.render import character_boxes

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".toy-cinema.json"
SIDECAR_FORMAT = 1


def sidecar_path(video: Path) -> Path:
    """Where the ground truth of `video` is (`NAME.mp4` -> `NAME.toy-cinema.json`)."""
    return Path(video).with_name(Path(video).stem + SIDECAR_SUFFIX)


def render_toy_video(
    path: str | Path,
    movie: Movie,
    *,
    frames_per_shot: tuple[int, int] = (12, 20),
    fps: float = 10.0,
    seed: int = 0,
) -> Path:
    """Render `movie` as an MP4 at `path` (one clip per shot, hard cuts) and write its ground truth."""
    from core.video.encoding import write_h264

    low, high = frames_per_shot
    if not 2 <= low <= high:
        raise ValueError(f"frames_per_shot {frames_per_shot} is not a range of at least 2 frames per shot")
    path = Path(path)
    rng = random.Random(seed)
    specs = []  # one FrameSpec per video frame
    boxes: list[list[dict[str, Any]]] = []
    shots: list[dict[str, Any]] = []
    for index, (scene_index, shot_index, shot) in enumerate(movie.script.shots()):
        length = rng.randint(low, high)
        motion = movie.shot_motion(index)
        start = len(specs)
        for spec in clip_specs(movie.frames[index], motion, length, seed=seed + index):
            specs.append(spec)
            # The renderer places characters with the same blocking arithmetic, so these are
            # exactly the boxes of the rendered frame, computed without rendering it twice.
            boxes.append([b.to_json() for b in character_boxes(frame_layout(spec))])
        scene = movie.script.scenes[scene_index]
        truth = movie.ground_truth[index]
        shots.append(
            {
                "start": start,
                "frames": length,
                "scene": scene_index,
                "shot": shot_index,
                "heading": scene.heading,
                "time_of_day": scene.time_of_day.value,
                "elements": list(scene.elements),
                "plot": shot.plot,
                "size": shot.size.value,
                "angle": shot.angle.value,
                "motion": motion,
                "duration": shot.duration,
                "place": truth["place"],
                "weather": truth["weather"],
            }
        )

    def frame_at(i: int) -> np.ndarray:
        return np.asarray(render_keyframe(specs[i])[0])

    write_h264(frame_at, len(specs), (FRAME_WIDTH, FRAME_HEIGHT), fps, path)
    write_json_atomically(
        sidecar_path(path),
        {
            "format": SIDECAR_FORMAT,
            "title": movie.script.title,
            "style": movie.script.style,
            "fps": fps,
            "width": FRAME_WIDTH,
            "height": FRAME_HEIGHT,
            "num_frames": len(specs),
            "cast": [
                {"identity": i.identity_id, "name": i.name, "description": list(i.description)}
                for i in movie.cast
            ],
            "shots": shots,
            "frames": boxes,
        },
    )
    return path


@dataclass(frozen=True)
class ToyGroundTruth:
    """The ground truth of a toy-cinema video, read from its sidecar file."""

    path: Path
    data: dict[str, Any]

    @classmethod
    def for_video(cls, video: str | Path) -> ToyGroundTruth | None:
        """The ground truth beside `video`, or None for any other video (a real film)."""
        path = sidecar_path(Path(video))
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise VideoError(
                f"The toy-cinema ground truth {path} cannot be read ({error}); render the video again "
                "with train.data.movies.toy_video or delete the file to treat the video as a real film."
            ) from None
        if data.get("format") != SIDECAR_FORMAT or len(data.get("frames", ())) != data.get("num_frames"):
            raise VideoError(
                f"The toy-cinema ground truth {path} is not in format {SIDECAR_FORMAT} or is incomplete; "
                "render the video again with train.data.movies.toy_video."
            )
        return cls(path, data)

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def style(self) -> str:
        return self.data["style"]

    @property
    def cast(self) -> list[dict[str, Any]]:
        return self.data["cast"]

    def member(self, identity: str) -> dict[str, Any]:
        for member in self.cast:
            if member["identity"] == identity:
                return member
        raise KeyError(f"{identity!r} is not in the cast of {self.path}")

    def shot_at(self, frame: int) -> dict[str, Any]:
        """The shot that video frame `frame` belongs to."""
        starts = [shot["start"] for shot in self.data["shots"]]
        return self.data["shots"][max(0, bisect.bisect_right(starts, frame) - 1)]

    def characters_at(self, frame: int) -> list[dict[str, Any]]:
        """Characters in video frame `frame` with their boxes (video pixels)."""
        return self.data["frames"][frame]

    @property
    def cut_frames(self) -> list[int]:
        """Video frames that start a new shot (after a hard cut); frame 0 is not a cut."""
        return [shot["start"] for shot in self.data["shots"][1:]]


def render_toy_videos(
    out: str | Path,
    movies: int,
    *,
    seed: int = 0,
    shots: int = 8,
    identities: int = 24,
    frames_per_shot: tuple[int, int] = (12, 20),
    fps: float = 10.0,
    min_cast: int = 2,
    max_cast: int = 4,
) -> list[Path]:
    """Render `movies` toy films `toy_000.mp4`... into `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pool = make_identity_pool(seed, identities)
    paths = []
    for k in range(movies):
        movie_seed = int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        movie = generate_movie(movie_seed, pool, num_shots=shots, min_cast=min_cast, max_cast=max_cast)
        path = out / f"toy_{k:03d}.mp4"
        render_toy_video(path, movie, frames_per_shot=frames_per_shot, fps=fps, seed=movie_seed)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.data.movies.toy_video",
        description="Render toy-cinema movies as MP4 films with hard cuts and a ground-truth file each.",
    )
    parser.add_argument("--out", required=True, help="folder for toy_000.mp4, toy_000.toy-cinema.json, ...")
    parser.add_argument("--movies", type=int, default=3, help="number of films (default 3)")
    parser.add_argument("--shots", type=int, default=8, help="shots per film (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument("--identities", type=int, default=24, help="identity pool size (default 24)")
    parser.add_argument(
        "--min-frames", type=int, default=12, help="fewest video frames per shot (default 12)"
    )
    parser.add_argument("--max-frames", type=int, default=20, help="most video frames per shot (default 20)")
    parser.add_argument("--fps", type=float, default=10.0, help="frame rate (default 10)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.movies < 1 or args.shots < 1:
        parser.error("--movies and --shots must be at least 1")
    paths = render_toy_videos(
        args.out,
        args.movies,
        seed=args.seed,
        shots=args.shots,
        identities=args.identities,
        frames_per_shot=(args.min_frames, args.max_frames),
        fps=args.fps,
    )
    print(json.dumps({"videos": [str(p) for p in paths]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
