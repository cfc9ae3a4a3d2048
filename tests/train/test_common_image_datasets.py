"""The torch datasets of stages 0, 1 and 3 over synthetic movies."""

import torch

from core.encoders.open_clip_encoder import ClipImageTransform
from core.script.inputs import keyframe_inputs
from tests.train.test_common_synthetic_movies import synthetic_movies
from train.common.image_datasets import (
    FaceTextDataset,
    FrameTextDataset,
    KeyframeDataset,
    VaeImageDataset,
    collate_keyframes,
)
from train.common.toy_samples import identity_samples, keyframe_samples

TRANSFORM = ClipImageTransform((32, 56))


def test_frame_and_face_pairs_for_clip(tmp_path):
    movies = synthetic_movies(tmp_path, num_movies=1, frames=2)
    frames = FrameTextDataset(keyframe_samples(movies), TRANSFORM)
    item = frames[(1, 0)]
    assert item["pixels"].shape == (3, 32, 56) and item["text"].endswith("shot 1.")
    faces = FaceTextDataset(identity_samples(movies), TRANSFORM)
    assert len(faces) == 3  # one item per identity
    drawn = {faces[(0, d)]["text"] for d in range(20)}
    assert drawn == {"Mara has short red hair.", "Mara wears a blue coat."}


def test_vae_images_are_scaled_flipped_and_cropped_by_the_draw(tmp_path):
    samples = keyframe_samples(synthetic_movies(tmp_path, num_movies=1, frames=1))
    whole = VaeImageDataset(samples, (32, 56))
    plain, flipped = whole[(0, 0)]["pixels"], whole[(0, 1)]["pixels"]
    assert plain.shape == (3, 32, 56) and plain.min() >= -1.0 and plain.max() <= 1.0
    assert torch.equal(flipped, plain.flip(-1))
    crops = VaeImageDataset(samples, (32, 56), crop=(16, 24))
    a, b = crops[(0, 2)]["pixels"], crops[(0, 2)]["pixels"]
    assert a.shape == (3, 16, 24) and torch.equal(a, b)


def test_keyframe_items_and_their_collation(tmp_path):
    movies = synthetic_movies(tmp_path, num_movies=1, frames=2)
    samples = keyframe_samples(movies)
    dataset = KeyframeDataset(samples, TRANSFORM, (32, 56), max_descriptions=3, max_faces=1)
    batch = collate_keyframes([dataset[(0, 5)], dataset[(1, 6)]])
    assert batch["clip_pixels"].shape == (2, 3, 32, 56) and batch["vae_pixels"].shape == (2, 3, 32, 56)
    # the decoder trains on the sentences generation gives it (characters, heading, plot, style)
    frames = keyframe_inputs(movies[0].script)
    assert [list(s) for s in batch["sentences"]] == [list(f.sentences[:3]) for f in frames]
    assert any("Mara" in s for s in batch["sentences"][0])
    assert [len(f) for f in batch["faces"]] == [1, 1]
    assert batch["faces"][0][0].path.name.startswith("id0001_")
