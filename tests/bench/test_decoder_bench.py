"""bench.decoder end to end on a tiny random bundle and a tiny exported toy-cinema dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from bench import decoder as bench_decoder
from tests.bench.conftest import export_toy
from train.data.dataset import ToyCinemaDataset


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """Two movies of 4-6 shots: one for training, one held out with held-out identities."""
    return export_toy(tmp_path_factory, movies=2, min_shots=4, max_shots=6)


def test_select_frames_prefers_frames_with_big_faces_and_spreads_over_movies(tiny_dataset):
    movies = ToyCinemaDataset(tiny_dataset).movies("train") + ToyCinemaDataset(tiny_dataset).movies("test")
    chosen = bench_decoder.select_frames(movies, 4, min_face=1, seed=0)
    assert len(chosen) == 4 and len(set((m.movie_id, t) for m, t in chosen)) == 4
    assert {m.movie_id for m, _ in chosen[:2]} == {m.movie_id for m in movies}  # round-robin
    with_face = [bench_decoder._big_faces(m.ground_truth[t], 1) != () for m, t in chosen]
    assert with_face == sorted(with_face, reverse=True)  # faces first
    everything = sum(len(m.ground_truth) for m in movies)
    assert len(bench_decoder.select_frames(movies, 10_000, min_face=1, seed=0)) == everything
    no_big_face = bench_decoder.select_frames(movies, 3, min_face=10_000, seed=0)
    assert len(no_big_face) == 3


def test_runs_end_to_end_and_writes_json_and_side_by_side(tiny_bundle, tiny_dataset, tmp_path):
    out = tmp_path / "results" / "decoder.json"
    argv = ["--bundle", str(tiny_bundle), "--data", str(tiny_dataset), "--frames", "3"]
    result = bench_decoder.main(argv + ["--min-face", "1", "--threads", "1", "--out", str(out)])

    assert json.loads(out.read_text()) == result
    assert result["frames"] == 3 and result["timed_frames"] == 3 and result["timed_frames_no_guidance"] == 3
    assert result["test_movies"] == 1 and result["faces"] >= 1
    # The bundle's own defaults (the tiny bundle's manifest), not a bench constant.
    assert result["num_inference_steps"] == 2 and result["guidance_scale"] == 2.0
    for key in (
        "seconds_per_keyframe",
        "seconds_per_keyframe_no_guidance",
        "seconds_per_keyframe_tokens_only",
        "seconds_tokenize_per_keyframe",
        "seconds_per_keyframe_in_batches",
    ):
        assert 0 < result[key] < 60, key
    assert result["render_batch"] == 4  # the storyboard's batch (3 frames: one batch of 3)
    for key in ("clip_cosine_tokens", "clip_cosine_id", "face_similarity_tokens", "face_similarity_id"):
        assert -1.0 <= result[key] <= 1.0, key
    assert set(result["targets_met"]) == {
        "seconds_per_keyframe<=1.0",
        "face_similarity_id>face_similarity_tokens",
    }
    assert result["targets_met"]["face_similarity_id>face_similarity_tokens"] == (
        result["face_similarity_id"] > result["face_similarity_tokens"]
    )
    assert result["decoded_size"] == [56, 32] and result["input_size"] == [224, 128]
    assert result["torch_threads"] == 1 and result["bundle"]["name"] == "tiny-random"

    with Image.open(out.parent / bench_decoder.SHEET_NAME) as sheet:
        assert sheet.size == (3 * 224 + 2 * 2, 14 + 3 * 130 - 2)
        pixels = np.asarray(sheet.convert("RGB"), dtype=np.int16)[14 : 14 + 128]  # first row
    columns = [pixels[:, c * 226 : c * 226 + 224] for c in range(3)]
    movie, t = bench_decoder.select_frames(ToyCinemaDataset(tiny_dataset).movies("test"), 3, 1, seed=0)[0]
    assert np.array_equal(columns[0], np.asarray(movie.load_frame(t)))  # the held-out input
    # Same noise per frame in both modes: only the conditioning differs, and it must reach
    # the image (random tiny weights make the change small, but not zero).
    assert not np.array_equal(columns[1], columns[2])
    assert np.abs(columns[0] - columns[1]).mean() > 0.5  # random weights reconstruct nothing


def test_face_similarity_is_one_for_identical_images_and_skips_frames_without_boxes(tiny_bundle):
    from core.pipeline import load_pipeline

    faces = load_pipeline(tiny_bundle).bundle.faces
    image = Image.effect_noise((224, 128), 60).convert("RGB")
    frame = bench_decoder.HeldOutFrame("m", 0, image, torch.zeros(1), torch.zeros(1), ((10, 10, 50, 50),))
    bare = bench_decoder.HeldOutFrame("m", 1, image, torch.zeros(1), torch.zeros(1), ())
    same = bench_decoder.face_similarities(faces, [frame, bare], [image, image])
    assert len(same) == 1 and same[0] == pytest.approx(1.0, abs=1e-5)
    other = Image.effect_noise((224, 128), 90).convert("RGB")
    assert bench_decoder.face_similarities(faces, [frame], [other])[0] < same[0]


def test_missing_dataset_says_how_to_export_one(tiny_bundle, tmp_path):
    with pytest.raises(SystemExit, match=r"does not exist.*python -m train\.data\.toy_cinema export"):
        bench_decoder.main(["--bundle", str(tiny_bundle), "--data", str(tmp_path / "nothing")])


def test_missing_bundle_is_a_clear_error(tiny_dataset, tmp_path):
    with pytest.raises(SystemExit, match=r"bundle folder .* does not exist.*pass --bundle"):
        bench_decoder.main(["--bundle", str(tmp_path / "no-bundle"), "--data", str(tiny_dataset)])


def test_runs_on_a_fresh_clone_without_an_exported_dataset(tiny_bundle, bench_cache, tmp_path):
    """No --data: the bench renders the canonical held-out movies itself (cached)."""
    out = tmp_path / "decoder.json"
    result = bench_decoder.main(
        ["--bundle", str(tiny_bundle), "--frames", "2", "--steps", "1", "--out", str(out)]
    )
    assert result["test_movies"] >= 1 and result["data"].startswith("held-out movies rendered")
    assert json.loads(out.read_text())["seconds_per_keyframe"] > 0
