import json

import train.stage0_representation as stage0
import train.stage13_cached_decoder as stage13
import train.vae_curve as vae_curve
from tests.train.test_common_synthetic_movies import synthetic_movies


def test_curve_points_of_checkpoints_and_of_the_export(tmp_path, monkeypatch):
    movies = synthetic_movies(tmp_path / "data")
    monkeypatch.setattr(stage0, "open_movies", lambda root, split: movies)
    monkeypatch.setattr(stage13, "open_movies", lambda root, split: movies)
    monkeypatch.setattr(stage13, "judge_scores", lambda images, records: None)
    run = tmp_path / "run"
    args = ["--preset", "tiny", "--data", str(tmp_path / "data"), "--out", str(run), "--set", "clip_steps=0"]
    assert stage0.main(args) == 0  # 2 VAE steps, a checkpoint at step 2

    base = ["--run", str(run), "--data", str(tmp_path / "data"), "--frames", "3"]
    assert vae_curve.main(base + ["--checkpoint", "all"]) == 0
    assert vae_curve.main(base + ["--checkpoint", "all"]) == 0  # nothing new
    assert vae_curve.main(base + ["--checkpoint", "export"]) == 0
    rows = [json.loads(line) for line in (run / "vae_curve.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, None]
    assert all(r["row"] == "vae_round_trip" and r["frames"] == 3 and 0 < r["l1"] < 2 for r in rows)
    assert abs(rows[0]["l1"] - rows[1]["l1"]) < 1e-5  # the export holds the last checkpoint's weights
