import json

import numpy as np
import pytest
import torch

from bench.video import vae_round_trip
from core.video.config import build_vae, preset


def test_the_vae_floor_frame_has_the_keyframe_size_and_range():
    torch.manual_seed(0)
    config = preset("tiny")
    vae = build_vae(config).eval()
    frame = np.random.default_rng(0).integers(0, 255, (config.height, config.width, 3), dtype=np.uint8)
    out = vae_round_trip(vae, frame)
    assert out.shape == (1, config.height, config.width, 3)
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out, vae_round_trip(vae, frame))  # the latent mode: no sampling


def _tiny_drift_bench(folder, shots: int, anchor_tokens: bool = False) -> dict:
    """bench_drift on a random tiny model saved to `folder`, rendered at the model's own size
    (the held-out keyframes are 224x128), on one thread."""
    from bench.video import bench_drift
    from core.video.config import build_random_pipeline
    from core.video.loading import save_video_pipeline

    config = preset("tiny")
    save_video_pipeline(build_random_pipeline(config, anchor_tokens=anchor_tokens), folder)
    (folder / "video_config.json").write_text(json.dumps(config.to_dict()))
    before = torch.get_num_threads()
    try:
        return bench_drift(folder, None, shots=shots, steps=1, threads=1)
    finally:
        torch.set_num_threads(before)


def test_drift_bench_on_a_tiny_model_reports_margin_interval_and_segments(tmp_path):
    result = _tiny_drift_bench(tmp_path / "video", shots=2, anchor_tokens=True)
    assert result["anchor_tokens"] is True and result["drift_shots"] == 2
    margins = np.array(result["drift_per_shot_no_anchor"]) - np.array(result["drift_per_shot_anchor"])
    # the per-shot figures are rounded to 4 places
    assert result["drift_margin"] == pytest.approx(float(margins.mean()), abs=2e-4)
    low, high = result["drift_margin_interval_95"]
    assert min(margins) - 1e-4 <= low <= high <= max(margins) + 1e-4
    assert result["anchor_better_shots"] == int((margins > 0).sum())
    assert result["drift_margin_floor_correlation"] is None  # two shots: no correlation
    with_anchor, without = result["drift_per_segment_anchor"], result["drift_per_segment_no_anchor"]
    assert len(with_anchor) == len(without) == 4
    assert with_anchor[0] == without[0]  # segment 1 is rendered the same way with and without


def test_drift_bench_correlates_the_vae_floor_with_the_margin(tmp_path):
    result = _tiny_drift_bench(tmp_path / "video", shots=4)
    floors = np.array(result["drift_per_shot_floor_vae"])
    margins = np.array(result["drift_per_shot_no_anchor"]) - np.array(result["drift_per_shot_anchor"])
    expected = np.corrcoef(floors, margins)[0, 1]
    # from the rounded per-shot figures, so only roughly the bench's own value
    assert result["drift_margin_floor_correlation"] == pytest.approx(float(expected), abs=0.05)
    assert -1.0 <= result["drift_margin_floor_correlation"] <= 1.0


def test_held_out_shots_come_one_from_each_movie_and_repeat_exactly():
    from bench.video import held_out_keyframes
    from train.data.world import generate_movie, make_identity_pool, split_identities

    shots = held_out_keyframes(3)
    assert len(shots) == 3 and all(s.shape == (128, 224, 3) and s.dtype == np.uint8 for s in shots)
    assert all(np.array_equal(a, b) for a, b in zip(shots, held_out_keyframes(3), strict=True))
    # the i-th shot comes from the i-th held-out movie, cast only with test identities
    pool = make_identity_pool(seed=0, n=60)
    train_ids, test_ids = split_identities(pool, 0.2, seed=0)
    train_names = {i.identity_id for i in train_ids}
    movies = [generate_movie(seed=1000 + i, identities=test_ids, num_shots=8) for i in range(3)]
    assert len({m.script.title for m in movies}) == 3
    assert all(c.identity_id not in train_names for m in movies for c in m.cast)
