"""Reader for toy-cinema datasets written by `python -m train.data.toy_cinema export`.

    dataset = ToyCinemaDataset("runs/toy")
    for record in dataset.movies("train"):
        record.script            # core.script.Script
        record.frame_paths       # one PNG per shot, in Script.shots() order
        record.ground_truth      # one dict per keyframe (see toy_cinema's module docstring)
        record.clip_paths        # clips/<keyframe>.npz, sorted; the stem is the keyframe index
        record.cast_photos       # character name -> face photo paths
        record.load_frame(0)     # PIL RGB 224x128
        record.load_clip(record.clip_paths[0])  # uint8 (T, 128, 224, 3)

Every problem with the folder is reported as a `DatasetError` sentence that names the file
and says how to fix it, instead of a KeyError deep inside a training loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import ValidationError

from core.script import Script
from train.data.world.cast import Identity

SPLITS = ("train", "test")
_MANIFEST_KEYS = ("seed", "width", "height", "movies", "identities")


class DatasetError(ValueError):
    """The dataset folder is missing, incomplete or not a toy-cinema dataset."""


@dataclass(frozen=True)
class MovieRecord:
    movie_id: str
    root: Path
    script: Script
    frame_paths: list[Path]
    ground_truth: list[dict]
    clip_paths: list[Path]
    cast_photos: dict[str, list[Path]]

    def load_frame(self, index: int) -> Image.Image:
        """Keyframe `index` as an RGB image."""
        with Image.open(self.frame_paths[index]) as image:
            return image.convert("RGB")

    def clip_keyframe(self, path: Path) -> int:
        """The keyframe a clip starts at (its file name is the keyframe index)."""
        return int(Path(path).stem)

    def load_clip(self, path: Path) -> np.ndarray:
        """A clip's frames, uint8 (T, height, width, 3)."""
        with np.load(path) as data:
            if "frames" not in data:
                raise DatasetError(f"{path} has no 'frames' array; re-export the dataset with --clips")
            return data["frames"]


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing, so {path.parent} is not a complete toy-cinema dataset; export one with "
            "`python -m train.data.toy_cinema export --out DIR`"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetError(
            f"{path} is not valid JSON ({error}); the {what} is damaged, re-export the dataset"
        ) from error


class ToyCinemaDataset:
    """A toy-cinema dataset folder: manifest, identities and per-split movies."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.exists():
            raise DatasetError(
                f"the dataset folder {self.root} does not exist; export one with "
                f"`python -m train.data.toy_cinema export --out {self.root}`"
            )
        if not self.root.is_dir():
            raise DatasetError(
                f"{self.root} is a file, not a dataset folder; pass the folder that holds manifest.json"
            )
        self.manifest = _read_json(self.root / "manifest.json", "manifest")
        missing = [key for key in _MANIFEST_KEYS if key not in self.manifest]
        if missing:
            raise DatasetError(
                f"{self.root / 'manifest.json'} lacks {', '.join(missing)}; it was not written by the toy-cinema "
                "export, re-export the dataset"
            )
        for key in ("movies", "identities"):
            for split in SPLITS:
                if not isinstance(self.manifest[key].get(split), list):
                    raise DatasetError(
                        f"{self.root / 'manifest.json'} has no list of {split} {key}; re-export the dataset"
                    )
        self._identities = _read_json(self.root / "identities.json", "identity list")

    @property
    def seed(self) -> int:
        return int(self.manifest["seed"])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the keyframes."""
        return int(self.manifest["width"]), int(self.manifest["height"])

    def movie_ids(self, split: str) -> list[str]:
        self._check_split(split)
        return list(self.manifest["movies"][split])

    def identity_ids(self, split: str) -> list[str]:
        self._check_split(split)
        return list(self.manifest["identities"][split])

    def identities(self) -> dict[str, dict]:
        """identities.json as a dict: identity id -> {"name", "attributes", "description", "split"}."""
        return dict(self._identities)

    def identity(self, identity_id: str) -> Identity:
        """An identity as the world's `Identity`, e.g. to render more photos of it."""
        if identity_id not in self._identities:
            raise DatasetError(f"{identity_id!r} is not in {self.root / 'identities.json'}")
        return Identity.from_json(identity_id, self._identities[identity_id])

    def movies(self, split: str) -> list[MovieRecord]:
        """Every movie of a split ("train" or "test"), fully validated."""
        return [self.movie(movie_id, split) for movie_id in self.movie_ids(split)]

    def movie(self, movie_id: str, split: str | None = None) -> MovieRecord:
        if split is None:
            split = next((s for s in SPLITS if movie_id in self.manifest["movies"][s]), None)
            if split is None:
                raise DatasetError(f"{movie_id!r} is not listed in {self.root / 'manifest.json'}")
        self._check_split(split)
        folder = self.root / split / movie_id
        if not folder.is_dir():
            raise DatasetError(
                f"the movie folder {folder} is missing although manifest.json lists it; the export was "
                "interrupted or files were deleted, re-export the dataset"
            )
        script_path = folder / "script.json"
        if not script_path.is_file():
            raise DatasetError(f"{script_path} is missing; re-export the dataset")
        try:
            script = Script.model_validate_json(script_path.read_text(encoding="utf-8"))
        except ValidationError as error:
            raise DatasetError(
                f"{script_path} is not a valid script: {error}; re-export the dataset"
            ) from error
        frame_paths = [folder / "frames" / f"{i:06d}.png" for i in range(script.num_shots)]
        missing = [p.name for p in frame_paths if not p.is_file()]
        if missing:
            raise DatasetError(
                f"{folder / 'frames'} lacks {len(missing)} of {script.num_shots} keyframes (first: {missing[0]}); "
                "re-export the dataset"
            )
        truth_path = folder / "ground_truth.jsonl"
        if not truth_path.is_file():
            raise DatasetError(f"{truth_path} is missing; re-export the dataset")
        try:
            truth = [
                json.loads(line)
                for line in truth_path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        except json.JSONDecodeError as error:
            raise DatasetError(
                f"{truth_path} has a line that is not JSON ({error}); re-export the dataset"
            ) from error
        if len(truth) != script.num_shots:
            raise DatasetError(
                f"{truth_path} has {len(truth)} records but the script has {script.num_shots} shots; "
                "re-export the dataset"
            )
        cast_photos: dict[str, list[Path]] = {}
        for character in script.cast:
            paths = [folder / p for p in character.photos]
            absent = [str(p) for p in paths if not p.is_file()]
            if absent:
                raise DatasetError(
                    f"the cast photo {absent[0]} of {character.name} is missing; re-export the dataset"
                )
            cast_photos[character.name] = paths
        clips_dir = folder / "clips"
        clip_paths = sorted(clips_dir.glob("*.npz")) if clips_dir.is_dir() else []
        return MovieRecord(
            movie_id=movie_id,
            root=folder,
            script=script,
            frame_paths=frame_paths,
            ground_truth=truth,
            clip_paths=clip_paths,
            cast_photos=cast_photos,
        )

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; use 'train' or 'test'")
