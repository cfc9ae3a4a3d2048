"""Token cache: the frozen encoders' outputs for every training movie, computed once.

Dimensions: F keyframes of a movie, L visual tokens per keyframe, d token width, U unique
description sentences of the movie, e sentence-embedding width, P_c face images of cast member
c, f face-embedding width.

Stage 2 trains the AR model on visual tokens of a frozen tokenizer (paper 3.3), so those
tokens, the description embeddings and the face embeddings are computed once and stored:

    CACHE/index.json              {"format": 1, "fingerprint": {...}, "movies": {split: [movie ids]},
                                   "frames": {movie id: F}}
    CACHE/<movie_id>.safetensors  tensors
        tokens                    (F, L, d)  tokens of the keyframes in story order
        tokens_flipped            (F, L, d)  tokens of the horizontally mirrored keyframes; the
                                             tokenizer encodes the mirrored image (flipping tokens
                                             would not mirror the picture they decode to)
        sentence_embeddings       (U, e)     one row per unique description sentence
        faces/<c>                 (P_c, f)   cast member c: first the cast photos, then face crops
                                             from the keyframes the character appears in
                                  metadata (strings): "format", "movie_id", "script" (Script JSON),
                                  "sentences" (JSON list, row order), "characters" (JSON list of
                                  names, c = position), "photo_counts" (JSON {name: photos})

The `fingerprint` names the encoders that made the cache; reusing a cache with different
encoders is refused. The builder takes the encoders as callables so it stays independent of
their implementations (and tests can pass tiny random ones).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image, ImageOps
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor
from tqdm.auto import tqdm

from core.files import atomic_output, open_rgb, write_json_atomically
from core.script import Script
from core.script.inputs import KeyframeInputs, keyframe_inputs

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
INDEX_FILE = "index.json"

ImageEncoder = Callable[[list[Image.Image]], Tensor]
SentenceEncoder = Callable[[list[str]], Tensor]


class MovieSource(Protocol):
    """What the builder reads of a movie (train.data.dataset.MovieRecord fits)."""

    movie_id: str
    script: Script
    frame_paths: Sequence[Path]
    cast_photos: Mapping[str, Sequence[Path]]
    ground_truth: Sequence[Mapping[str, Any]]


@dataclass
class CachedMovie:
    movie_id: str
    script: Script
    tokens: Tensor  # (F, L, d)
    tokens_flipped: Tensor  # (F, L, d)
    sentences: list[str]
    sentence_embeddings: Tensor  # (U, e)
    faces: dict[str, Tensor]  # name -> (P_c, f)
    photo_counts: dict[str, int]  # name -> how many of the rows are cast photos
    face_dim: int  # f

    @property
    def num_frames(self) -> int:
        return self.tokens.shape[0]

    def frame_sentence_embeddings(self, frames: Sequence[KeyframeInputs], slots: int) -> Tensor:
        """(T, slots, e) for KeyframeInputs `frames`; row [t, i] embeds frames[t].sentences[i], zeros after."""
        rows = {sentence: i for i, sentence in enumerate(self.sentences)}
        out = self.sentence_embeddings.new_zeros((len(frames), slots, self.sentence_embeddings.shape[1]))
        for t, frame in enumerate(frames):
            if len(frame.sentences) > slots:
                raise ValueError(
                    f"A frame has {len(frame.sentences)} sentences but only {slots} slots are allowed."
                )
            for i, sentence in enumerate(frame.sentences):
                if sentence not in rows:
                    raise KeyError(
                        f"The sentence {sentence!r} is not in the token cache of movie {self.movie_id}; the "
                        "script changed after the cache was built. Rebuild the cache."
                    )
                out[t, i] = self.sentence_embeddings[rows[sentence]]
        return out

    def frame_face_embeddings(
        self, frames: Sequence[KeyframeInputs], slots: int, rng: np.random.Generator | None = None
    ) -> Tensor:
        """(T, slots, f) for KeyframeInputs `frames`, zeros in empty slots.

        Without `rng` every character gets its first cast photo. With `rng` each appearance gets
        a random face of the same character, cast photo or crop from another keyframe: the
        paper's face-embedding randomisation, so the model cannot match a face to one picture.
        """
        out = torch.zeros((len(frames), slots, self.face_dim))
        for t, frame in enumerate(frames):
            for character in frame.characters:
                if not 0 <= character.slot < slots:
                    raise ValueError(f"Face slot {character.slot} is outside the {slots} slots of a frame.")
                faces = self.faces.get(character.name)
                if faces is None or faces.shape[0] == 0:
                    raise KeyError(
                        f"Movie {self.movie_id} has no face images of {character.name!r} in the token cache; "
                        "add cast photos for every character who appears and rebuild the cache."
                    )
                row = 0 if rng is None else int(rng.integers(faces.shape[0]))
                out[t, character.slot] = faces[row]
        return out


class TokenCache:
    """Reads a cache folder written by build_token_cache."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        index_path = self.root / INDEX_FILE
        if not index_path.is_file():
            raise FileNotFoundError(
                f"{self.root} holds no token cache ({INDEX_FILE} is missing); build one with "
                "train.common.token_cache.build_token_cache or `python -m train.stage2_ar --build-cache`."
            )
        index = json.loads(index_path.read_text())
        if index.get("format") != CACHE_FORMAT:
            raise ValueError(
                f"The token cache in {self.root} has format {index.get('format')} but this code reads format "
                f"{CACHE_FORMAT}; rebuild the cache."
            )
        self.fingerprint: dict[str, Any] = index["fingerprint"]
        self.splits: dict[str, list[str]] = index["movies"]
        self.frame_counts: dict[str, int] = index["frames"]

    def movie_ids(self, split: str = "train") -> list[str]:
        if split not in self.splits or not self.splits[split]:
            raise ValueError(
                f"The token cache in {self.root} has no {split!r} movies; build it for that split."
            )
        return list(self.splits[split])

    def load(self, movie_id: str) -> CachedMovie:
        path = self.root / f"{movie_id}.safetensors"
        if not path.is_file():
            raise FileNotFoundError(
                f"The token cache has no file for movie {movie_id!r} ({path}); rebuild the cache."
            )
        with safe_open(path, framework="pt") as handle:
            meta = handle.metadata()
            characters = json.loads(meta["characters"])
            return CachedMovie(
                movie_id=meta["movie_id"],
                script=Script.model_validate_json(meta["script"]),
                tokens=handle.get_tensor("tokens"),
                tokens_flipped=handle.get_tensor("tokens_flipped"),
                sentences=json.loads(meta["sentences"]),
                sentence_embeddings=handle.get_tensor("sentence_embeddings"),
                faces={name: handle.get_tensor(f"faces/{c}") for c, name in enumerate(characters)},
                photo_counts=json.loads(meta["photo_counts"]),
                face_dim=int(self.fingerprint["face_dim"]),
            )

    @property
    def widths(self) -> dict[str, int]:
        """token_dim, tokens_per_frame, sentence_dim, face_dim as recorded by the builder."""
        return {
            key: int(self.fingerprint[key])
            for key in ("token_dim", "tokens_per_frame", "sentence_dim", "face_dim")
        }


def build_token_cache(
    root: str | Path,
    movies: Iterable[MovieSource],
    *,
    encode_keyframes: ImageEncoder,
    encode_sentences: SentenceEncoder,
    encode_faces: ImageEncoder,
    fingerprint: Mapping[str, Any],
    split: str = "train",
    frame_face_crops: bool = True,
    min_face_crop: int = 24,
    batch_size: int = 16,
) -> TokenCache:
    """Encode every movie once and write the cache; movies already cached with the same encoders are skipped.

    encode_keyframes: list of RGB keyframes -> (N, L, d); encode_sentences: list of str -> (N, e);
    encode_faces: list of RGB face images -> (N, f). `fingerprint` identifies these encoders
    (e.g. bundle paths and versions); it must be JSON-serialisable.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    index_path = root / INDEX_FILE
    fingerprint = dict(fingerprint)
    if index_path.is_file():
        index = json.loads(index_path.read_text())
        known = {key: value for key, value in index["fingerprint"].items() if key in fingerprint}
        if index.get("format") != CACHE_FORMAT or known != {k: fingerprint[k] for k in known}:
            raise ValueError(
                f"The token cache in {root} was built with other encoders ({index['fingerprint']}); "
                "use an empty folder for a cache of these encoders."
            )
    else:
        index = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "movies": {}, "frames": {}}
    listed = index["movies"].setdefault(split, [])
    for movie in tqdm(list(movies), desc=f"token cache ({split})", unit="movie"):
        path = root / f"{movie.movie_id}.safetensors"
        if not path.is_file():
            tensors, metadata = _encode_movie(
                movie,
                encode_keyframes,
                encode_sentences,
                encode_faces,
                frame_face_crops,
                min_face_crop,
                batch_size,
            )
            widths = {
                "tokens_per_frame": tensors["tokens"].shape[1],
                "token_dim": tensors["tokens"].shape[2],
                "sentence_dim": tensors["sentence_embeddings"].shape[1],
                "face_dim": next(t.shape[1] for k, t in tensors.items() if k.startswith("faces/")),
            }
            _check_widths(index["fingerprint"], widths, movie.movie_id)
            index["fingerprint"].update(widths)
            with atomic_output(path) as tmp:
                save_file(tensors, str(tmp), metadata)
            index["frames"][movie.movie_id] = int(tensors["tokens"].shape[0])
        if movie.movie_id not in listed:
            listed.append(movie.movie_id)
        write_json_atomically(index_path, index)
    return TokenCache(root)


def _encode_movie(
    movie: MovieSource,
    encode_keyframes: ImageEncoder,
    encode_sentences: SentenceEncoder,
    encode_faces: ImageEncoder,
    frame_face_crops: bool,
    min_face_crop: int,
    batch_size: int,
) -> tuple[dict[str, Tensor], dict[str, str]]:
    frames = keyframe_inputs(movie.script)
    if len(frames) != len(movie.frame_paths):
        raise ValueError(
            f"Movie {movie.movie_id} has {len(frames)} shots in its script but {len(movie.frame_paths)} keyframe "
            "images; every shot needs exactly one keyframe."
        )
    tokens, flipped = [], []
    for start in range(0, len(movie.frame_paths), batch_size):
        images = [open_rgb(path) for path in movie.frame_paths[start : start + batch_size]]
        tokens.append(_checked(encode_keyframes(images), len(images), 3, "keyframe encoder"))
        flipped.append(
            _checked(
                encode_keyframes([ImageOps.mirror(im) for im in images]), len(images), 3, "keyframe encoder"
            )
        )

    sentences = list(dict.fromkeys(sentence for frame in frames for sentence in frame.sentences))
    sentence_rows = [
        _checked(
            encode_sentences(sentences[i : i + batch_size]),
            len(sentences[i : i + batch_size]),
            2,
            "sentence encoder",
        )
        for i in range(0, len(sentences), batch_size)
    ]

    # Cast photos first (photo 0 is the deterministic choice), then crops from keyframes.
    appearing = list(dict.fromkeys(character.name for frame in frames for character in frame.characters))
    face_images: dict[str, list[Image.Image]] = {}
    photo_counts: dict[str, int] = {}
    for name in appearing:
        photos = list(movie.cast_photos.get(name, []))
        if not photos:
            raise ValueError(
                f"{name!r} appears in movie {movie.movie_id} but has no cast photos; the AR model needs a face "
                "for every character it places. Add photos of this character."
            )
        face_images[name] = [open_rgb(path) for path in photos]
        photo_counts[name] = len(photos)
    if frame_face_crops:
        for name, crop in _face_crops(movie, min_face_crop):
            if name in face_images:
                face_images[name].append(crop)
    faces: dict[str, Tensor] = {}
    for c, name in enumerate(appearing):
        images = face_images[name]
        faces[f"faces/{c}"] = torch.cat(
            [
                _checked(
                    encode_faces(images[i : i + batch_size]),
                    len(images[i : i + batch_size]),
                    2,
                    "face encoder",
                )
                for i in range(0, len(images), batch_size)
            ]
        )
    if not faces:
        # safetensors needs the face width for the fingerprint even when nobody appears.
        faces["faces/none"] = _checked(encode_faces([Image.new("RGB", (64, 64))]), 1, 2, "face encoder")[:0]

    tensors = {
        "tokens": torch.cat(tokens).float().contiguous(),
        "tokens_flipped": torch.cat(flipped).float().contiguous(),
        "sentence_embeddings": (
            torch.cat(sentence_rows) if sentence_rows else _empty_sentences(encode_sentences)
        )
        .float()
        .contiguous(),
        **{key: value.float().contiguous() for key, value in faces.items()},
    }
    metadata = {
        "format": str(CACHE_FORMAT),
        "movie_id": movie.movie_id,
        "script": movie.script.model_dump_json(),
        "sentences": json.dumps(sentences),
        "characters": json.dumps(appearing),
        "photo_counts": json.dumps(photo_counts),
    }
    return tensors, metadata


def _face_crops(movie: MovieSource, min_size: int) -> Iterable[tuple[str, Image.Image]]:
    """(character name, face crop) for every annotated face in the keyframes at least min_size pixels tall."""
    ground_truth = getattr(movie, "ground_truth", None) or []
    for path, record in zip(movie.frame_paths, ground_truth, strict=False):
        boxes = [(c["name"], c.get("face_box")) for c in record.get("characters", []) if c.get("face_box")]
        if not boxes:
            continue
        image = open_rgb(path)
        for name, (x0, y0, x1, y1) in boxes:
            x0, y0 = max(0, int(x0)), max(0, int(y0))
            x1, y1 = min(image.width, int(round(x1))), min(image.height, int(round(y1)))
            if min(x1 - x0, y1 - y0) >= min_size:
                yield name, image.crop((x0, y0, x1, y1))


def _empty_sentences(encode_sentences: SentenceEncoder) -> Tensor:
    return _checked(encode_sentences(["."]), 1, 2, "sentence encoder")[:0]


def _checked(tensor: Tensor, count: int, ndim: int, encoder: str) -> Tensor:
    if not isinstance(tensor, Tensor) or tensor.ndim != ndim or tensor.shape[0] != count:
        shape = tuple(tensor.shape) if isinstance(tensor, Tensor) else type(tensor).__name__
        raise ValueError(
            f"The {encoder} returned {shape} for {count} inputs; it must return a tensor with {ndim} "
            f"dimensions and one row per input."
        )
    return tensor.detach().cpu()


def _check_widths(fingerprint: Mapping[str, Any], widths: Mapping[str, int], movie_id: str) -> None:
    for key, value in widths.items():
        if key in fingerprint and int(fingerprint[key]) != value:
            raise ValueError(
                f"Movie {movie_id} encodes to {key}={value} but the cache holds {key}={fingerprint[key]}; "
                "the encoders changed while the cache was being built. Use an empty folder."
            )
