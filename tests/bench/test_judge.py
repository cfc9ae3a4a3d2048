"""The judge: its data never touches evaluated movies, its labels, its save/load and scoring."""

import numpy as np
import pytest
import torch

from bench import heldout
from bench.judge import Judge, presence_auc, score_frames
from bench.judge.data import CELL_STRIDE, default_config, labels_of
from bench.judge.model import JudgeNet
from bench.judge.train import presence_threshold
from train.data import toy_cinema
from train.data.world import generate_movie, render_keyframe


def test_judge_movies_are_disjoint_from_every_evaluated_movie():
    judge_seeds = set(heldout.judge_movie_seeds(2000))
    assert len(judge_seeds) == 2000
    assert not judge_seeds & heldout.evaluated_movie_seeds(64)
    # The evaluated movies are the canonical export's held-out indices, whatever its size.
    assert heldout.held_out_indices(3) == [4, 9, 14]
    assert toy_cinema.movie_seed(0, 4) in heldout.evaluated_movie_seeds()


def test_labels_follow_the_ground_truth_record():
    config = default_config()
    movie = generate_movie(heldout.judge_movie_seeds(1)[0], heldout.held_out_identities(), num_shots=30)
    for record in movie.ground_truth:
        labels = labels_of(record, config)
        assert config.places[labels["place"]] == record["place"]
        assert config.styles[labels["style"]] == record["style"]
        present = {config.identities[k] for k in np.nonzero(labels["presence"])[0]}
        assert present == {c["identity"] for c in record["characters"]}
        assert labels["cells"].shape == (128 // CELL_STRIDE, 224 // CELL_STRIDE)
        assert set(np.unique(labels["cells"])) <= {0} | {k + 1 for k in np.nonzero(labels["presence"])[0]}
        if record["characters"]:
            biggest = max(
                record["characters"], key=lambda c: (c["box"][2] - c["box"][0]) * (c["box"][3] - c["box"][1])
            )
            assert config.identities[labels["largest"] - 1] == biggest["identity"]
        else:
            assert labels["largest"] == 0 and labels["cells"].max() == 0


def test_model_shapes():
    config = default_config()
    model = JudgeNet(config).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 128, 224))
    k = len(config.identities)
    assert out.place.shape == (2, len(config.places)) and out.presence.shape == (2, k)
    assert out.cells.shape == (2, k + 1, 16, 28) and out.largest.shape == (2, k + 1)


def test_threshold_reaches_the_asked_precision_and_auc_matches_its_definition():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([True, True, False, True, False, False])
    cut = presence_threshold(scores, labels, 0.75)
    assert cut == 0.6  # top 4: 3 right of 4
    found = scores >= cut
    assert (found & labels).sum() / found.sum() >= 0.75
    # 3 positives x 3 negatives: the pairs ranked right are 8 of 9.
    assert presence_auc(scores, labels) == pytest.approx(8 / 9)


def test_a_saved_judge_loads_and_scores_frames(tiny_judge):
    judge = Judge.load(tiny_judge)
    assert judge.meta["world_fingerprint"] == heldout.world_fingerprint()
    assert set(judge.heldout) >= {"place", "style", "shot_size", "presence_recall", "presence_precision"}
    movie = generate_movie(
        heldout.judge_movie_seeds(1, offset=99)[0], heldout.held_out_identities(), num_shots=6
    )
    images = [render_keyframe(spec)[0] for spec in movie.frames]
    scores = score_frames(images, movie.ground_truth, judge)
    for key in ("place", "time", "style", "shot_size", "lt", "lt_precision"):
        assert 0.0 <= scores[key] <= 1.0
    assert scores["frames"] == 6
    # The same frames read the same way twice (deterministic inference).
    again = score_frames(images, movie.ground_truth, judge)
    assert again == scores


def test_the_shipped_judge_is_for_todays_world_and_meets_its_targets():
    """A world change must come with a retrained judge (`python -m bench.judge.train`)."""
    import json

    from bench.judge import SHIPPED
    from bench.judge.train import META_FILE

    meta = json.loads((SHIPPED / META_FILE).read_text())
    assert meta["world_fingerprint"] == heldout.world_fingerprint()
    held = meta["heldout"]
    assert held["frames"] >= 1000
    assert held["place"] >= 0.95 and held["style"] >= 0.95 and held["shot_size"] >= 0.95
    assert held["presence_recall"] >= 0.85 and held["presence_precision"] >= 0.9
