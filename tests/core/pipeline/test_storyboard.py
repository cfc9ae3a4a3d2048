"""The storyboard pipeline end to end on a tiny random bundle (real classes, test size)."""

from pathlib import Path

import numpy as np
import pytest

from core.pipeline import GenerationCancelled, GenerationSettings, load_pipeline
from core.script import Script

SAMPLES = Path(__file__).parents[3] / "assets" / "samples"
FAST = GenerationSettings(num_inference_steps=2, guidance_scale=2.0)


@pytest.fixture(scope="module")
def pipeline(tiny_bundle):
    return load_pipeline(tiny_bundle)


@pytest.fixture(scope="module")
def sample():
    folder = SAMPLES / "short"
    script = Script.model_validate_json((folder / "script.json").read_text())
    photos = {c.name: [folder / p for p in c.photos] for c in script.cast}
    return script, photos


def _pixels(result):
    return np.asarray(result.image)


def test_streams_one_keyframe_per_shot_in_story_order(pipeline, sample):
    script, photos = sample
    progress = []
    results = list(pipeline.generate(script, cast_photos=photos, settings=FAST, on_progress=progress.append))
    assert [r.frame_index for r in results] == list(range(script.num_shots))
    assert [(r.scene_index, r.shot_index) for r in results] == [(s, k) for s, k, _ in script.shots()]
    assert results[0].image.size == (56, 32)
    assert results[0].tokens.shape == (2, 8) and results[0].tokens.dtype == np.float32
    assert progress[-1].done == progress[-1].total == script.num_shots
    assert results[3].params["num_inference_steps"] == 2 and results[3].params["bundle"] == pipeline.bundle_id


def test_same_seeds_reproduce_and_other_seeds_differ(pipeline, sample):
    script, photos = sample
    seeds = {t: 100 + t for t in range(4)}
    first = list(pipeline.generate(script, cast_photos=photos, targets=range(4), seeds=seeds, settings=FAST))
    again = list(pipeline.generate(script, cast_photos=photos, targets=range(4), seeds=seeds, settings=FAST))
    other = list(
        pipeline.generate(
            script, cast_photos=photos, targets=range(4), seeds={t: 7 + t for t in range(4)}, settings=FAST
        )
    )
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.tokens, b.tokens) and np.array_equal(_pixels(a), _pixels(b))
    assert not np.array_equal(first[2].tokens, other[2].tokens)


def test_regenerating_one_shot_leaves_the_others_and_reuses_their_tokens_as_context(pipeline, sample):
    script, photos = sample
    board = {r.frame_index: r for r in pipeline.generate(script, cast_photos=photos, settings=FAST)}
    context = {t: r.tokens for t, r in board.items() if t != 5}
    (new,) = pipeline.generate(
        script, cast_photos=photos, targets=[5], context=context, seeds={5: 999}, settings=FAST
    )
    assert new.frame_index == 5 and new.seed == 999
    assert not np.array_equal(new.tokens, board[5].tokens)
    # The same seed with the same context reproduces the keyframe exactly.
    (again,) = pipeline.generate(
        script, cast_photos=photos, targets=[5], context=context, seeds={5: 999}, settings=FAST
    )
    assert np.array_equal(new.tokens, again.tokens) and np.array_equal(_pixels(new), _pixels(again))
    # The shot's tokens depend on its history: other context, other tokens for the same seed.
    shifted = {t: tok + 1.0 for t, tok in context.items()}
    (moved,) = pipeline.generate(
        script, cast_photos=photos, targets=[5], context=shifted, seeds={5: 999}, settings=FAST
    )
    assert not np.array_equal(moved.tokens, new.tokens)


def test_locked_shots_between_targets_are_read_not_redrawn(pipeline, sample):
    script, photos = sample
    board = {
        r.frame_index: r
        for r in pipeline.generate(script, cast_photos=photos, targets=range(6), settings=FAST)
    }
    locked = {2: board[2].tokens}
    results = list(
        pipeline.generate(script, cast_photos=photos, targets=[0, 1, 3, 4, 5], context=locked, settings=FAST)
    )
    assert [r.frame_index for r in results] == [0, 1, 3, 4, 5]


def test_cancel_stops_between_keyframes_and_keeps_the_finished_ones(pipeline, sample):
    script, photos = sample
    made = []
    with pytest.raises(GenerationCancelled, match="after 2 of"):
        for result in pipeline.generate(
            script, cast_photos=photos, settings=FAST, should_cancel=lambda: len(made) >= 2
        ):
            made.append(result)
    assert [r.frame_index for r in made] == [0, 1]


def test_no_history_and_no_faces_ablations_run(pipeline, sample):
    script, photos = sample
    settings = GenerationSettings(
        num_inference_steps=2, guidance_scale=2.0, use_history=False, use_faces=False
    )
    results = list(pipeline.generate(script, cast_photos=photos, targets=[0, 1], settings=settings))
    assert [r.frame_index for r in results] == [0, 1]
    assert results[0].params["use_history"] is False


def test_reference_frames_change_the_tokens(pipeline, sample, tmp_path):
    script, photos = sample
    from PIL import Image

    ref = tmp_path / "ref.png"
    Image.new("RGB", (224, 128), (200, 30, 30)).save(ref)
    plain = next(iter(pipeline.generate(script, cast_photos=photos, targets=[0], settings=FAST)))
    few = next(
        iter(pipeline.generate(script, cast_photos=photos, references=[ref], targets=[0], settings=FAST))
    )
    assert not np.array_equal(plain.tokens, few.tokens)


def test_bad_requests_get_clear_errors(pipeline, sample):
    script, photos = sample
    with pytest.raises(ValueError, match="Shot 99 does not exist"):
        list(pipeline.generate(script, targets=[98], settings=FAST))
    empty = Script(title="Empty")
    with pytest.raises(ValueError, match="no shots yet"):
        list(pipeline.generate(empty, settings=FAST))
