"""What stages 0, 1 and 3 read from a toy-cinema dataset, as plain records.

The dataset is opened with the world helper's reader, `train.data.dataset.ToyCinemaDataset`
(format: DATASET/manifest.json, <split>/<movie>/script.json, frames/, cast/,
ground_truth.jsonl). Its `movies(split)` gives MovieRecords with `movie_id, root, script,
frame_paths, ground_truth, clip_paths, cast_photos`; the functions below turn them into:

* `KeyframeSample`: one keyframe, its plot and the characters in it (with their description
  sentences and cast photos) - stages 0 (CLIP, VAE), 1 and 3;
* `IdentitySample`: one cast identity with all its sentences and face photos (cast photos
  plus face crops cut from keyframes by their ground-truth face boxes) - stage 0 (faces).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from core.script.inputs import keyframe_inputs


@dataclass(frozen=True)
class PhotoRef:
    """An image file, or a region of one (`box` = x0, y0, x1, y1 in pixels)."""

    path: Path
    box: tuple[int, int, int, int] | None = None

    def open(self) -> Image.Image:
        with Image.open(self.path) as image:
            image = image.convert("RGB")
        return image.crop(self.box) if self.box is not None else image


@dataclass(frozen=True)
class Person:
    """A character as seen in one keyframe."""

    name: str
    identity: str
    description: tuple[str, ...]
    photos: tuple[PhotoRef, ...]


@dataclass(frozen=True)
class KeyframeSample:
    image: Path
    plot: str
    people: tuple[Person, ...]
    # The description sentences the product gives this keyframe's decoder
    # (core.script.inputs: characters, scene heading and elements, plot, style), when the
    # sample comes from a script; training on them conditions the decoder as generation does.
    script_sentences: tuple[str, ...] = ()
    # The same with the shot's framing sentence (KeyframeInputs.decoder_sentences).
    shot_sentences: tuple[str, ...] = ()

    def sentences(self, limit: int, *, with_shot: bool = False) -> list[str]:
        """The keyframe's script sentences (as in generation), at most `limit`; `with_shot`
        gives those of a decoder that reads the shot sentence.

        A sample without a script gives the plot, then the characters' description sentences
        taken in turn (one of each character, then the second of each...), so every character
        stays represented when the slots run out.
        """
        if with_shot and self.shot_sentences:
            return list(self.shot_sentences[:limit])
        if self.script_sentences:
            return list(self.script_sentences[:limit])
        out = [self.plot] if self.plot.strip() else []
        queues = [list(p.description) for p in self.people]
        while len(out) < limit and any(queues):
            for queue in queues:
                if queue and len(out) < limit:
                    out.append(queue.pop(0))
        return out[:limit]


@dataclass(frozen=True)
class IdentitySample:
    identity: str
    sentences: tuple[str, ...]
    photos: tuple[PhotoRef, ...]


def open_movies(root: str | Path, split: str = "train") -> list[Any]:
    """The MovieRecords of one split, read by the dataset's own reader."""
    root = Path(root)
    if not (root / "manifest.json").is_file():
        raise FileNotFoundError(
            f"{root} is not a toy-cinema dataset (manifest.json is missing). Export one with the "
            "toy world generator (train/data) and pass its folder as --data."
        )
    from train.data.dataset import ToyCinemaDataset

    movies = ToyCinemaDataset(root).movies(split)
    if not movies:
        raise ValueError(f"The dataset {root} has no movies in the {split!r} split.")
    return movies


def _ground_truth_rows(movie: Any) -> list[dict]:
    rows = list(movie.ground_truth)
    if len(rows) != len(movie.frame_paths):
        raise ValueError(
            f"Movie {movie.movie_id}: {len(movie.frame_paths)} keyframes but {len(rows)} ground-truth rows; "
            "the dataset export is incomplete, export it again."
        )
    return rows


def _person(movie: Any, row: dict) -> Person:
    name = row["name"]
    try:
        description = tuple(movie.script.character(name).description)
    except KeyError:
        description = ()
    photos = tuple(PhotoRef(Path(p)) for p in movie.cast_photos.get(name, ()))
    return Person(name=name, identity=str(row.get("identity", name)), description=description, photos=photos)


def keyframe_samples(movies: Iterable[Any], *, max_people: int = 5) -> list[KeyframeSample]:
    """One sample per keyframe, with the sentences generation would give its decoder."""
    samples = []
    for movie in movies:
        rows = _ground_truth_rows(movie)
        frames = keyframe_inputs(movie.script)
        if len(frames) != len(rows):
            raise ValueError(
                f"Movie {movie.movie_id}: its script has {len(frames)} shots but {len(rows)} keyframes; "
                "the dataset export is incomplete or its script was edited, export it again."
            )
        for path, row, frame in zip(movie.frame_paths, rows, frames, strict=True):
            people = tuple(_person(movie, c) for c in row.get("characters", [])[:max_people])
            samples.append(
                KeyframeSample(
                    image=Path(path),
                    plot=row.get("plot", ""),
                    people=people,
                    script_sentences=frame.sentences,
                    shot_sentences=frame.decoder_sentences,
                )
            )
    return samples


def identity_samples(
    movies: Iterable[Any], *, frame_faces: bool = True, min_face: int = 24
) -> list[IdentitySample]:
    """One sample per identity, pooling its photos and sentences over all movies.

    frame_faces: also use the faces cut from keyframes (boxes of at least `min_face` pixels),
    so the face tower sees the scales and lighting of real shots, not only cast photos.
    """
    sentences: dict[str, list[str]] = {}
    photos: dict[str, list[PhotoRef]] = {}
    for movie in movies:
        for character in movie.script.cast:
            identity = _identity_of(movie, character.name)
            bucket = sentences.setdefault(identity, [])
            bucket.extend(s for s in character.description if s not in bucket)
            photos.setdefault(identity, []).extend(
                PhotoRef(Path(p)) for p in movie.cast_photos.get(character.name, ())
            )
        if not frame_faces:
            continue
        for path, row in zip(movie.frame_paths, _ground_truth_rows(movie), strict=True):
            for c in row.get("characters", []):
                box = c.get("face_box")
                if box and min(box[2] - box[0], box[3] - box[1]) >= min_face:
                    identity = str(c.get("identity", c["name"]))
                    photos.setdefault(identity, []).append(PhotoRef(Path(path), tuple(int(v) for v in box)))
    return [
        IdentitySample(identity=i, sentences=tuple(sentences[i]), photos=tuple(photos[i]))
        for i in sorted(sentences)
        if sentences[i] and photos.get(i)
    ]


def _identity_of(movie: Any, name: str) -> str:
    """The identity id of a cast member, from the ground truth (names may repeat across movies)."""
    for row in movie.ground_truth:
        for c in row.get("characters", []):
            if c["name"] == name and "identity" in c:
                return str(c["identity"])
    return f"{movie.movie_id}/{name}"
