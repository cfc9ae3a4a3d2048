"""The storyboard pipeline end to end on a tiny random bundle (real classes, test size)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from core.pipeline import GenerationSettings, load_pipeline
from core.progress import Cancelled
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


def test_shots_before_a_target_without_context_are_drawn_so_the_history_has_no_holes(pipeline, sample):
    script, photos = sample
    # Default seeds are the shots' indices, so shot 3 alone must come out as in a run of 0..3:
    # shots 0-2 are drawn (not rendered) as its history, never left as zero tokens.
    board = list(pipeline.generate(script, cast_photos=photos, targets=range(4), settings=FAST))
    (alone,) = pipeline.generate(script, cast_photos=photos, targets=[3], settings=FAST)
    assert np.array_equal(alone.tokens, board[3].tokens)


def test_the_sampling_temperatures_of_the_settings_decide_the_draws(pipeline, sample):
    script, photos = sample
    greedy = dataclasses.replace(FAST, mixture_temperature=0.0, scale_temperature=0.0)

    def tokens(settings, seed):
        results = pipeline.generate(
            script, cast_photos=photos, targets=[0, 1], seeds={0: seed, 1: seed + 1}, settings=settings
        )
        return np.stack([r.tokens for r in results])

    # At temperature 0 every draw is the most likely component's mean: the seed cannot matter.
    assert np.array_equal(tokens(greedy, 1), tokens(greedy, 500))
    assert not np.array_equal(tokens(FAST, 1), tokens(FAST, 500))
    no_history = dataclasses.replace(greedy, use_history=False)
    assert np.array_equal(tokens(no_history, 1), tokens(no_history, 500))


def test_a_job_s_temperatures_stay_its_own_while_another_job_samples_on_the_same_bundle(pipeline, sample):
    script, photos = sample
    greedy = dataclasses.replace(FAST, mixture_temperature=0.0, scale_temperature=0.0)
    seeds = {0: 3, 1: 4}
    alone = [
        r.tokens
        for r in pipeline.generate(script, cast_photos=photos, targets=[0, 1], seeds=seeds, settings=greedy)
    ]
    stream = pipeline.generate(script, cast_photos=photos, targets=[0, 1], seeds=seeds, settings=greedy)
    first = next(stream)
    list(
        pipeline.generate(script, cast_photos=photos, targets=[2], settings=FAST)
    )  # another job, temperature 1
    second = next(stream)
    assert np.array_equal(first.tokens, alone[0]) and np.array_equal(second.tokens, alone[1])


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
    with pytest.raises(Cancelled, match="after 2 of"):
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


def test_a_decoder_trained_with_the_shot_sentence_gets_it_and_the_ar_model_does_not(tiny_bundle, sample):
    from core.script import keyframe_inputs

    script, photos = sample
    pipeline = load_pipeline(tiny_bundle)
    frames = keyframe_inputs(script)
    plain = pipeline.encode_sentences(frames)
    assert not pipeline.decoder_reads_shot_sentence  # an older decoder keeps the AR model's sentences
    assert np.array_equal(pipeline.encode_sentences(frames, for_decoder=True).numpy(), plain.numpy())

    pipeline.bundle.decoder.conditioner.register_to_config(reads_shot_sentence=True)
    assert pipeline.decoder_reads_shot_sentence
    framed = pipeline.encode_sentences(frames, for_decoder=True)
    for t, frame in enumerate(frames):
        assert int((framed[t].abs().sum(-1) > 0).sum()) == len(frame.decoder_sentences)
    assert not np.array_equal(framed.numpy(), plain.numpy())

    rendered, drawn = [], []
    render, stream = pipeline.render_many, pipeline.sampler.stream

    def spy_render(tokens, sentence_embeddings, *args, **kwargs):
        rendered.extend(sentence_embeddings.clone())
        return render(tokens, sentence_embeddings, *args, **kwargs)

    def spy_stream(frames_, sentence_embeddings, *args, **kwargs):
        drawn.append(sentence_embeddings.clone())
        return stream(frames_, sentence_embeddings, *args, **kwargs)

    pipeline.render_many, pipeline.sampler.stream = spy_render, spy_stream
    list(pipeline.generate(script, cast_photos=photos, targets=[0, 1], settings=FAST))
    assert np.array_equal(drawn[0].numpy(), plain.numpy())  # the AR model reads its own sentences
    assert len(rendered) == 2
    for got, t in zip(rendered, [0, 1], strict=True):
        assert np.array_equal(got.numpy(), framed[t].numpy())  # the decoder reads the shot sentence


def test_keyframes_rendered_together_are_the_pictures_rendered_alone(tiny_bundle, sample):
    from core.pipeline import StoryboardPipeline
    from core.pipeline.bundle import load_bundle

    script, photos = sample
    bundle = load_bundle(tiny_bundle)
    alone = StoryboardPipeline(bundle, render_batch=1)
    together = StoryboardPipeline(bundle, render_batch=4)
    seeds = {t: 40 + t for t in range(6)}
    one = list(alone.generate(script, cast_photos=photos, targets=range(6), seeds=seeds, settings=FAST))
    four = list(together.generate(script, cast_photos=photos, targets=range(6), seeds=seeds, settings=FAST))
    assert [r.frame_index for r in four] == list(range(6))  # a batch of 4, then the last 2
    for a, b in zip(one, four, strict=True):
        assert np.array_equal(a.tokens, b.tokens) and a.seed == b.seed
        difference = np.abs(_pixels(a).astype(int) - _pixels(b).astype(int))
        assert difference.max() <= 2, "a keyframe changed with the batch it was rendered in"
    with pytest.raises(ValueError, match="at least one keyframe"):
        StoryboardPipeline(bundle, render_batch=0)
