"""Synthetic toy-cinema movies for the training-stage tests, and tests of the sample records.

`synthetic_movies` writes small random PNGs and returns MovieRecord-like objects with the
fields of the dataset contract (movie_id, root, script, frame_paths, ground_truth,
clip_paths, cast_photos), so the stage tests do not depend on the toy-world generator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.script import Character, Scene, Script, Shot
from core.script.inputs import keyframe_inputs
from train.common.toy_samples import identity_samples, keyframe_samples, open_movies

PEOPLE = {
    "id0001": ("Mara", ["Mara has short red hair.", "Mara wears a blue coat."]),
    "id0002": ("Tom", ["Tom has a grey beard.", "Tom wears round glasses."]),
    "id0003": ("Lea", ["Lea has long black hair."]),
}


@dataclass
class FakeMovieRecord:
    movie_id: str
    root: Path
    script: Script
    frame_paths: list[Path]
    ground_truth: list[dict]
    clip_paths: list[Path] = field(default_factory=list)
    cast_photos: dict[str, list[Path]] = field(default_factory=dict)


def _noise_image(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    base = rng.integers(0, 256, size=3)
    pixels = np.clip(base + rng.normal(0, 40, size=(height, width, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def synthetic_movies(
    root: Path, *, num_movies: int = 2, frames: int = 4, seed: int = 0
) -> list[FakeMovieRecord]:
    rng = np.random.default_rng(seed)
    movies = []
    for m in range(num_movies):
        folder = root / "train" / f"movie{m:03d}"
        (folder / "frames").mkdir(parents=True)
        (folder / "cast").mkdir()
        cast, photos = [], {}
        for identity, (name, sentences) in PEOPLE.items():
            paths = []
            for k in range(2):
                path = folder / "cast" / f"{identity}_{k}.png"
                _noise_image(rng, 128, 128).save(path)
                paths.append(path)
            photos[name] = paths
            cast.append(
                Character(
                    name=name, description=sentences, photos=[str(p.relative_to(folder)) for p in paths]
                )
            )
        shots, rows, frame_paths = [], [], []
        names = [n for n, _ in PEOPLE.values()]
        ids = list(PEOPLE)
        for i in range(frames):
            present = [0, 1] if i % 2 == 0 else [2]
            plot = f"{' and '.join(names[j] for j in present)} stand on the beach in shot {i}."
            shots.append(Shot(plot=plot, characters=[names[j] for j in present]))
            path = folder / "frames" / f"{i:06d}.png"
            _noise_image(rng, 224, 128).save(path)
            frame_paths.append(path)
            rows.append(
                {
                    "frame": i,
                    "plot": plot,
                    "characters": [
                        {
                            "name": names[j],
                            "identity": ids[j],
                            "box": [10, 10, 90, 120],
                            "face_box": [30, 12, 70, 52],
                        }
                        for j in present
                    ],
                }
            )
        script = Script(title=f"Movie {m}", cast=cast, scenes=[Scene(heading="BEACH - DAY", shots=shots)])
        movies.append(FakeMovieRecord(f"movie{m:03d}", folder, script, frame_paths, rows, [], photos))
    return movies


def tiny_stage0_outputs(folder: Path) -> Path:
    """What stage 0 writes (clip/, vae/), at the tiny sizes, untrained."""
    from core.decoder.architectures import build_vae
    from core.encoders.open_clip_encoder import OpenClipEncoder

    OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).save_pretrained(folder / "clip")
    build_vae("tiny").save_pretrained(folder / "vae")
    return folder


def tiny_stage1_outputs(folder: Path, *, face_dim: int = 32) -> Path:
    """What stage 1 writes (tokenizer/, decoder/, encoders.json), at the tiny sizes, untrained."""
    import json

    import torch

    from core.decoder.architectures import build_unet, build_vae, default_scheduler
    from core.decoder.conditioning import DecoderConditioner
    from core.decoder.pipeline import KeyframeDecoderPipeline
    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.tokenizer.compressor import COMPRESSOR_PRESETS
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    torch.manual_seed(0)
    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0)
    KeyframeTokenizer.build(clip, **COMPRESSOR_PRESETS["tiny"]).save_pretrained(folder / "tokenizer")
    unet = build_unet("tiny", cross_attention_dim=16, sample_size=(8, 14))
    conditioner = DecoderConditioner(
        token_dim=8,
        num_tokens=2,
        context_dim=16,
        description_dim=clip.embed_dim,
        face_dim=face_dim,
        mask_prob=0.0,
    )
    KeyframeDecoderPipeline(unet, build_vae("tiny"), default_scheduler(), conditioner).save_pretrained(
        folder / "decoder"
    )
    encoders = {
        "description_encoder": "clip",
        "description_dim": clip.embed_dim,
        "face_embedder": "clip",
        "face_dim": face_dim,
    }
    (folder / "encoders.json").write_text(json.dumps(encoders))
    return folder


def test_keyframe_samples_follow_the_ground_truth(tmp_path):
    movies = synthetic_movies(tmp_path, num_movies=1, frames=2)
    samples = keyframe_samples(movies)
    assert [s.image.name for s in samples] == ["000000.png", "000001.png"]
    assert [p.name for p in samples[0].people] == ["Mara", "Tom"]
    assert samples[0].people[0].description == tuple(PEOPLE["id0001"][1])
    assert len(samples[0].people[0].photos) == 2
    # The sentences generation gives the decoder (core.script.inputs), in its order.
    frame = keyframe_inputs(movies[0].script)[0]
    assert samples[0].sentences(15) == list(frame.sentences)
    assert samples[0].plot in frame.sentences
    assert len(samples[0].sentences(2)) == 2
    # A sample without a script: the plot, then the characters' sentences taken in turn.
    bare = dataclasses.replace(samples[0], script_sentences=())
    assert bare.sentences(4) == [
        samples[0].plot,
        "Mara has short red hair.",
        "Tom has a grey beard.",
        "Mara wears a blue coat.",
    ]


def test_identity_samples_pool_cast_photos_and_frame_faces(tmp_path):
    movies = synthetic_movies(tmp_path, num_movies=2, frames=4)
    identities = {s.identity: s for s in identity_samples(movies)}
    assert set(identities) == set(PEOPLE)
    mara = identities["id0001"]
    # 2 cast photos in each of 2 movies, plus her face in frames 0 and 2 of each movie.
    assert len([p for p in mara.photos if p.box is None]) == 4
    assert len([p for p in mara.photos if p.box is not None]) == 4
    assert mara.photos[-1].open().size == (40, 40)
    assert mara.sentences == tuple(PEOPLE["id0001"][1])
    without = {s.identity: s for s in identity_samples(movies, frame_faces=False)}
    assert all(p.box is None for p in without["id0001"].photos)


def test_open_movies_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        open_movies(tmp_path)
