"""Small synthetic inputs for the AR tests: scripts, keyframe inputs and embedding tensors."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.ar import ARConfig, FrameSequence, KeyframeAR
from core.script import (
    MAX_CHARACTERS_PER_SHOT,
    MAX_DESCRIPTIONS_PER_SHOT,
    CameraAngle,
    CameraMotion,
    Character,
    Scene,
    Script,
    Shot,
    ShotSize,
    TimeOfDay,
)
from core.script.inputs import IDENTIFIER_VOCABULARY, KeyframeInputs, keyframe_inputs
from train.common.token_cache import build_token_cache

NAMES = ("Mara", "Tom", "Ines", "Olu")
ACTIONS = ("walks", "sits", "points", "talks", "waves")
PLACES = ("beach", "forest", "kitchen", "harbour")


def make_script(num_shots: int, seed: int = 0, cast: int = 3) -> Script:
    """A valid script of `num_shots` shots in scenes of 1-5 shots, 0-2 characters per shot."""
    rng = random.Random(seed)
    characters = [
        Character(
            name=NAMES[i],
            description=[f"{NAMES[i]} has {rng.choice(['red', 'black', 'grey'])} hair."],
            photos=[f"cast/{NAMES[i].lower()}_{k}.png" for k in range(2)],
        )
        for i in range(cast)
    ]
    scenes: list[Scene] = []
    remaining = num_shots
    while remaining:
        count = min(remaining, rng.randint(1, 5))
        remaining -= count
        place = rng.choice(PLACES)
        shots = []
        for _ in range(count):
            present = rng.sample([c.name for c in characters], rng.randint(0, min(2, cast)))
            who = present[0] if present else "Nobody"
            shots.append(
                Shot(
                    plot=f"{who} {rng.choice(ACTIONS)} near the {place}.",
                    characters=present,
                    size=rng.choice(list(ShotSize)),
                    angle=rng.choice(list(CameraAngle)),
                    motion=rng.choice(list(CameraMotion)),
                )
            )
        scenes.append(
            Scene(
                heading=f"The {place}.",
                time_of_day=rng.choice(list(TimeOfDay)),
                elements=[f"Waves roll onto the {place}."][: rng.randint(0, 1)],
                shots=shots,
            )
        )
    return Script(title="Toy", style="Warm film grain.", cast=characters, scenes=scenes)


def frame_of(items, sentences=(), characters=()) -> KeyframeInputs:
    """A hand-made KeyframeInputs (for layout and error tests)."""
    return KeyframeInputs(0, 0, 0, tuple(items), tuple(sentences), tuple(characters), ())


def make_sample(
    config: ARConfig, num_frames: int, seed: int = 0, num_references: int = 0, frames: list | None = None
) -> FrameSequence:
    """Random tensors of the configured widths for the frames of a random script."""
    generator = torch.Generator().manual_seed(seed)
    if frames is None:
        frames = keyframe_inputs(make_script(num_frames, seed)) if num_frames else []
    L, d = config.tokens_per_frame, config.token_dim
    references = torch.randn(num_references, L, d, generator=generator) if num_references else None
    return FrameSequence(
        frames=frames,
        sentence_embeddings=torch.randn(
            len(frames), MAX_DESCRIPTIONS_PER_SHOT, config.sentence_dim, generator=generator
        ),
        face_embeddings=torch.randn(
            len(frames), MAX_CHARACTERS_PER_SHOT, config.face_dim, generator=generator
        ),
        visual_tokens=torch.randn(len(frames), L, d, generator=generator),
        reference_tokens=references,
    )


def tiny_model(seed: int = 0, **overrides) -> KeyframeAR:
    # Weight init draws from the global RNG; fork it so tests do not disturb each other.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return KeyframeAR.from_config(ARConfig.tiny(**overrides), IDENTIFIER_VOCABULARY).eval()


# -- movies on disk and tiny encoders (token cache, stage 2) ---------------------------


@dataclass
class MovieOnDisk:
    """The fields of train.data.dataset.MovieRecord that the token cache reads."""

    movie_id: str
    script: Script
    frame_paths: list[Path]
    cast_photos: dict[str, list[Path]]
    ground_truth: list[dict]


def write_movie(folder: Path, movie_id: str, num_shots: int, seed: int = 0) -> MovieOnDisk:
    """Random block images for keyframes (64x112) and cast photos (32x32), face boxes of 24-32 px."""
    rng = np.random.default_rng(seed)
    script = make_script(num_shots, seed)
    root = folder / movie_id
    (root / "frames").mkdir(parents=True)
    (root / "cast").mkdir()
    cast_photos: dict[str, list[Path]] = {}
    for character in script.cast:
        paths = []
        for photo in character.photos:
            path = root / photo
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
            paths.append(path)
        cast_photos[character.name] = paths
    frame_paths, ground_truth = [], []
    for t, (_, _, shot) in enumerate(script.shots()):
        image = np.zeros((64, 112, 3), dtype=np.uint8)
        for _ in range(4):  # a few coloured blocks, so a mirrored frame looks different
            y, x = rng.integers(0, 48), rng.integers(0, 96)
            image[y : y + 16, x : x + 16] = rng.integers(0, 255, 3)
        path = root / "frames" / f"{t:06d}.png"
        Image.fromarray(image).save(path)
        frame_paths.append(path)
        people = []
        for i, name in enumerate(shot.characters):
            size = 24 + 8 * (t % 2)
            people.append({"name": name, "face_box": [4 + 40 * i, 4, 4 + 40 * i + size, 4 + size]})
        ground_truth.append({"frame": t, "characters": people})
    return MovieOnDisk(movie_id, script, frame_paths, cast_photos, ground_truth)


class TinyEncoders:
    """Deterministic stand-ins for the frozen encoders: fixed random projections of 4x4 thumbnails
    (so a mirrored image gets other tokens) and sentence vectors seeded by the text."""

    def __init__(self, config: ARConfig, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.config = config
        self.keyframe_projection = (
            torch.randn(48, config.tokens_per_frame * config.token_dim, generator=g) / 4
        )
        self.face_projection = torch.randn(48, config.face_dim, generator=g) / 4
        self.calls = {"keyframes": 0, "sentences": 0, "faces": 0}
        self.fingerprint = {"encoders": f"tiny-random-{seed}"}

    @staticmethod
    def _thumbnails(images) -> torch.Tensor:
        rows = [
            np.asarray(image.convert("RGB").resize((4, 4), Image.BILINEAR), dtype=np.float32) / 255
            for image in images
        ]
        return torch.from_numpy(np.stack(rows)).reshape(len(rows), 48)  # (N, 48)

    def keyframes(self, images) -> torch.Tensor:
        self.calls["keyframes"] += 1
        tokens = self._thumbnails(images) @ self.keyframe_projection
        return tokens.view(len(images), self.config.tokens_per_frame, self.config.token_dim)

    def sentences(self, texts) -> torch.Tensor:
        self.calls["sentences"] += 1
        return torch.stack(
            [
                torch.randn(
                    self.config.sentence_dim, generator=torch.Generator().manual_seed(zlib.crc32(t.encode()))
                )
                for t in texts
            ]
        )

    def faces(self, images) -> torch.Tensor:
        self.calls["faces"] += 1
        return self._thumbnails(images) @ self.face_projection

    def build_cache(self, root: Path, movies, split: str = "train", **kwargs):
        return build_token_cache(
            root,
            movies,
            encode_keyframes=self.keyframes,
            encode_sentences=self.sentences,
            encode_faces=self.faces,
            fingerprint=self.fingerprint,
            split=split,
            **kwargs,
        )
