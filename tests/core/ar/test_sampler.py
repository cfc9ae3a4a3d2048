import pytest
import torch

from core.ar import FrameSequence, KeyframeSampler, SamplerConfig, build_batch
from tests.core.ar.synthetic import make_sample, tiny_model


def _sample(model, frames=20, references=0, seed=0):
    return make_sample(model.config, frames, seed=seed, num_references=references)


GREEDY = {"mixture_temperature": 0, "scale_temperature": 0}  # most likely component, no noise


def _run(model, sample, generator_seed=0, mixture_temperature=1.0, scale_temperature=1.0, **config):
    sampler = KeyframeSampler(model, SamplerConfig.tiny(**config))
    return sampler(
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        reference_tokens=sample.reference_tokens,
        generator=torch.Generator().manual_seed(generator_seed),
        mixture_temperature=mixture_temperature,
        scale_temperature=scale_temperature,
    )


def test_kv_cached_sampling_equals_full_recomputation_for_a_fixed_generator():
    model = tiny_model()
    sample = _sample(model, frames=20, references=3)  # window 8: slides twice
    cached = _run(model, sample, use_cache=True)
    recomputed = _run(model, sample, use_cache=False)
    assert cached.shape == (20, 2, model.config.token_dim)
    torch.testing.assert_close(cached, recomputed, atol=1e-5, rtol=1e-5)


def test_same_seed_same_tokens_other_seed_other_tokens():
    model = tiny_model()
    sample = _sample(model, frames=6)
    torch.testing.assert_close(_run(model, sample, 1), _run(model, sample, 1))
    assert not torch.allclose(_run(model, sample, 1), _run(model, sample, 2))


def _teacher_forced_choice(model, sample: FrameSequence) -> torch.Tensor:
    """The deterministic (temperature 0) token at each target of a training batch: (T*L, d)."""
    batch = build_batch(model, [sample])
    with torch.no_grad():
        hidden = model(batch.inputs_embeds).last_hidden_state[0, batch.prediction_positions[:, 1]]
        return model.distribution(hidden).sample(mixture_temperature=0, scale_temperature=0)


def test_every_window_conditions_on_references_and_the_kept_frames_exactly_as_in_training():
    model = tiny_model(seed=4)
    sample = _sample(model, frames=21, references=2)
    tokens = _run(model, sample, **GREEDY)  # window 8, keep 4
    # The window holds 8 frames: frames 0..7 see all earlier ones; at frame 8 it is full and
    # keeps 4..7, so 8..11 see 4..; at 12 it keeps 8..11; and so on.
    windows = [(0, 0, 8), (4, 8, 12), (8, 12, 16), (12, 16, 20), (16, 20, 21)]
    for first, start, stop in windows:
        context = list(range(first, stop))
        seen = FrameSequence(
            frames=[sample.frames[i] for i in context],
            sentence_embeddings=sample.sentence_embeddings[context],
            face_embeddings=sample.face_embeddings[context],
            visual_tokens=tokens[context],
            reference_tokens=sample.reference_tokens,
        )
        expected = _teacher_forced_choice(model, seen).view(len(context), 2, -1)
        torch.testing.assert_close(tokens[start:stop], expected[start - first :], atol=1e-5, rtol=1e-5)


def test_per_frame_cost_stays_flat_past_the_window():
    model = tiny_model()
    sampler = KeyframeSampler(model, SamplerConfig.tiny())  # window 8, keep 4
    movie = _sample(model, frames=160)
    costs = {}
    for frames in (40, 160):  # the same script, 9 vs 39 windows
        sampler(
            movie.frames[:frames],
            movie.sentence_embeddings[:frames],
            movie.face_embeddings[:frames],
            generator=torch.Generator().manual_seed(0),
        )
        costs[frames] = sampler.forward_positions / frames  # positions through the backbone per frame
    assert costs[160] == pytest.approx(costs[40], rel=0.15)


def test_continuation_past_128_frames_with_the_default_window():
    model = tiny_model()
    sample = _sample(model, frames=130, references=2)
    sampler = KeyframeSampler(model, SamplerConfig.default())
    tokens = sampler(
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        reference_tokens=sample.reference_tokens,
        **GREEDY,
    )
    assert tokens.shape == (130, 2, model.config.token_dim)
    assert torch.isfinite(tokens).all()
    # Frame 128 does not fit the 128-frame window: the references and frames 96..127 are kept.
    context = list(range(96, 130))
    seen = FrameSequence(
        frames=[sample.frames[i] for i in context],
        sentence_embeddings=sample.sentence_embeddings[context],
        face_embeddings=sample.face_embeddings[context],
        visual_tokens=tokens[context],
        reference_tokens=sample.reference_tokens,
    )
    expected = _teacher_forced_choice(model, seen).view(len(context), 2, -1)
    torch.testing.assert_close(tokens[128:], expected[-2:], atol=1e-5, rtol=1e-5)


def test_continuing_from_known_frames_matches_one_long_run():
    model = tiny_model()
    sample = _sample(model, frames=7)
    full = _run(model, sample, **GREEDY)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    known = full.clone()
    known[4:] = 0
    continued = sampler(
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        visual_tokens=known,
        start=4,
        **GREEDY,
    )
    torch.testing.assert_close(continued, full, atol=1e-5, rtol=1e-5)


def test_regenerating_a_shot_changes_only_that_shot_and_conditions_on_the_ones_before():
    model = tiny_model()
    sample = _sample(model, frames=7, references=1)
    deterministic = _run(model, sample, **GREEDY)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    edited = deterministic.clone()
    edited[5:] = torch.randn_like(edited[5:])  # later shots: whatever the user has, kept as they are
    again = sampler.regenerate(
        3,
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        edited,
        reference_tokens=sample.reference_tokens,
        **GREEDY,
    )
    torch.testing.assert_close(again[3], deterministic[3], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again[torch.arange(7) != 3], edited[torch.arange(7) != 3])

    random = KeyframeSampler(model, SamplerConfig.tiny())
    redrawn = random.regenerate(
        3,
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        edited,
        generator=torch.Generator().manual_seed(5),
    )
    assert not torch.allclose(redrawn[3], edited[3])
    torch.testing.assert_close(redrawn[torch.arange(7) != 3], edited[torch.arange(7) != 3])


def test_progress_is_reported_per_frame_and_a_raising_callback_cancels():
    model = tiny_model()
    sample = _sample(model, frames=5)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    reports = []
    tokens = sampler(
        sample.frames, sample.sentence_embeddings, sample.face_embeddings, callback=reports.append
    )
    assert [(r.done, r.total, r.frame_index) for r in reports] == [(i + 1, 5, i) for i in range(5)]
    torch.testing.assert_close(reports[2].tokens, tokens[2])

    class Cancelled(Exception):
        pass

    def cancel(progress):
        if progress.done == 2:
            raise Cancelled

    with pytest.raises(Cancelled) as cancelled:
        sampler(sample.frames, sample.sentence_embeddings, sample.face_embeddings, callback=cancel)
    del cancelled
    import gc

    gc.collect()
    assert torch.is_grad_enabled()  # a cancelled draw leaves gradients on, also after collection


def test_sampling_leaves_a_training_model_in_training_mode_and_uses_no_dropout():
    model = tiny_model(dropout=0.5).train()
    sample = _sample(model, frames=3)
    a = _run(model, sample, **GREEDY)
    b = _run(model, sample, **GREEDY)
    assert model.training
    torch.testing.assert_close(a, b)


def test_bad_requests_are_refused_with_a_reason():
    model = tiny_model()
    sample = _sample(model, frames=4)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    with pytest.raises(ValueError, match="pass visual_tokens"):
        sampler(sample.frames, sample.sentence_embeddings, sample.face_embeddings, start=2)
    with pytest.raises(ValueError, match="sentence embeddings have shape"):
        sampler(sample.frames, sample.sentence_embeddings[:3], sample.face_embeddings)
    with pytest.raises(ValueError, match="Shot 9 does not exist"):
        sampler.regenerate(
            9, sample.frames, sample.sentence_embeddings, sample.face_embeddings, sample.visual_tokens
        )
    with pytest.raises(ValueError, match="keep_frames"):
        KeyframeSampler(model, SamplerConfig(context_frames=8, keep_frames=8))


def test_streaming_draws_only_the_targets_and_reads_the_other_frames_as_they_are():
    model = tiny_model()
    sample = _sample(model, frames=7, references=1)
    known = torch.randn(7, 2, model.config.token_dim, generator=torch.Generator().manual_seed(1))
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    drawn = dict(
        sampler.stream(
            sample.frames,
            sample.sentence_embeddings,
            sample.face_embeddings,
            targets=[5, 2],
            visual_tokens=known,
            reference_tokens=sample.reference_tokens,
            **GREEDY,
        )
    )
    assert list(drawn) == [2, 5]  # story order
    history = known.clone()
    history[2], history[5] = drawn[2], drawn[5]
    seen = FrameSequence(
        frames=sample.frames[:6],
        sentence_embeddings=sample.sentence_embeddings[:6],
        face_embeddings=sample.face_embeddings[:6],
        visual_tokens=history[:6],
        reference_tokens=sample.reference_tokens,
    )
    expected = _teacher_forced_choice(model, seen).view(6, 2, -1)
    torch.testing.assert_close(drawn[2], expected[2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(drawn[5], expected[5], atol=1e-5, rtol=1e-5)


def test_a_streamed_frame_is_reproducible_from_its_own_seed_and_the_frames_before_it():
    model = tiny_model()
    sample = _sample(model, frames=6)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())
    args = (sample.frames, sample.sentence_embeddings, sample.face_embeddings)
    seeds = {t: 100 + t for t in range(6)}
    first = dict(
        sampler.stream(
            *args,
            targets=range(6),
            generators={t: torch.Generator().manual_seed(s) for t, s in seeds.items()},
        )
    )
    tokens = torch.stack([first[t] for t in range(6)])
    again = dict(
        sampler.stream(
            *args, targets=[4], visual_tokens=tokens, generators={4: torch.Generator().manual_seed(seeds[4])}
        )
    )
    torch.testing.assert_close(again[4], first[4], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="pass visual_tokens"):
        next(sampler.stream(*args, targets=[1, 3]))


def _draw_with(sampler, sample, known):
    """Stream targets 0-3, 6, 9-12 and 17 (the others are read from `known`), one seed per frame."""
    targets = [0, 1, 2, 3, 6, 9, 10, 11, 12, 17]
    drawn = dict(
        sampler.stream(
            sample.frames,
            sample.sentence_embeddings,
            sample.face_embeddings,
            targets=targets,
            visual_tokens=known,
            reference_tokens=sample.reference_tokens,
            generators={t: torch.Generator().manual_seed(10 + t) for t in targets},
        )
    )
    return torch.stack([drawn[t] for t in targets])


def test_the_fast_forward_draws_the_tokens_of_transformers_forward_with_and_without_cache(monkeypatch):
    model = tiny_model(seed=2)
    sample = _sample(model, frames=18, references=2)  # window 8, keep 4: slides three times
    known = torch.randn(18, 2, model.config.token_dim, generator=torch.Generator().manual_seed(3))
    config = SamplerConfig.tiny()  # temperature 1: the draws themselves are compared
    fast = KeyframeSampler(model, config)
    assert type(fast._window()).__name__ == "IncrementalLlama"
    fast_tokens = _draw_with(fast, sample, known)
    recomputed = _draw_with(KeyframeSampler(model, SamplerConfig.tiny(use_cache=False)), sample, known)
    # Backbones the fast forward does not cover go through transformers' forward and its cache.
    monkeypatch.setattr("core.ar.sampler.unsupported_reason", lambda backbone: "a test")
    fallback = KeyframeSampler(model, config)
    assert type(fallback._window()).__name__ == "_TransformersWindow"
    cached = _draw_with(fallback, sample, known)
    torch.testing.assert_close(fast_tokens, recomputed, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast_tokens, cached, atol=1e-5, rtol=1e-5)


def test_sampled_frames_draw_what_the_model_distribution_draws():
    model = tiny_model(seed=5)
    sample = _sample(model, frames=3)
    tokens = _run(model, sample, generator_seed=4, mixture_temperature=0.7, scale_temperature=0.5)
    # Replay the sampler by hand: teacher-forced hidden states of the drawn tokens, one generator.
    seen = FrameSequence(
        frames=sample.frames,
        sentence_embeddings=sample.sentence_embeddings,
        face_embeddings=sample.face_embeddings,
        visual_tokens=tokens,
    )
    batch = build_batch(model, [seen])
    with torch.no_grad():
        hidden = model(batch.inputs_embeds).last_hidden_state[0, batch.prediction_positions[:, 1]]
    generator = torch.Generator().manual_seed(4)
    replay = torch.stack(
        [model.distribution(h[None]).sample(generator, 0.7, 0.5)[0] for h in hidden]
    ).view_as(tokens)
    torch.testing.assert_close(tokens, replay, atol=1e-5, rtol=1e-5)


def test_regenerating_the_last_frame_of_a_full_window_reads_the_whole_window_and_reproduces_it():
    # Window 8 (the default's 128): frame 7 (the default's frame 127) is drawn after all 7
    # frames before it, so regenerating it with its seed must read all 7 again.
    model = tiny_model(seed=3)
    sample = _sample(model, frames=8, references=1)
    sampler = KeyframeSampler(model, SamplerConfig.tiny())

    def draw(targets, visual_tokens=None):
        return dict(
            sampler.stream(
                sample.frames,
                sample.sentence_embeddings,
                sample.face_embeddings,
                targets=targets,
                visual_tokens=visual_tokens,
                reference_tokens=sample.reference_tokens,
                generators={t: torch.Generator().manual_seed(t) for t in targets},
            )
        )

    first = draw(range(8))
    tokens = torch.stack([first[t] for t in range(8)])
    torch.testing.assert_close(draw([7], tokens)[7], first[7], atol=1e-5, rtol=1e-5)
    # The oldest frame of the window is part of what frame 7 reads.
    changed = tokens.clone()
    changed[0] += 1.0
    assert not torch.allclose(draw([7], changed)[7], first[7])


def test_a_rolling_window_in_one_layer_equals_re_prefilling_all_but_one_frame():
    # Rolling: each frame past the window evicts the oldest one, so frame t sees the 7 before it,
    # as a re-prefill keeping 7 of 8 does; for a one-layer backbone the two are the same numbers.
    model = tiny_model(seed=5, num_layers=1)
    sample = _sample(model, frames=21, references=2)
    rolling = KeyframeSampler(model, SamplerConfig.tiny(rolling=True))
    tokens = rolling(
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        reference_tokens=sample.reference_tokens,
        **GREEDY,
    )
    reprefilled = _run(model, sample, keep_frames=7, **GREEDY)
    torch.testing.assert_close(tokens, reprefilled, atol=1e-4, rtol=1e-4)
    # ...without re-encoding: every position went through the layers once
    reprefill = KeyframeSampler(model, SamplerConfig.tiny(keep_frames=7))
    reprefill(
        sample.frames,
        sample.sentence_embeddings,
        sample.face_embeddings,
        reference_tokens=sample.reference_tokens,
        **GREEDY,
    )
    assert rolling.forward_positions < reprefill.forward_positions / 3


def test_a_rolling_window_in_deeper_backbones_draws_every_frame_and_stays_close():
    model = tiny_model(seed=6)
    sample = _sample(model, frames=30, references=1)
    rolling = _run(model, sample, rolling=True, **GREEDY)
    reprefilled = _run(model, sample, keep_frames=7, **GREEDY)
    assert rolling.shape == reprefilled.shape and torch.isfinite(rolling).all()
    torch.testing.assert_close(rolling[:8], reprefilled[:8])  # the first window is the same
    # a transformers forward (no IncrementalLlama) slides by re-prefill whatever the setting
    recomputed = _run(model, sample, rolling=True, use_cache=False, keep_frames=7, **GREEDY)
    torch.testing.assert_close(recomputed, reprefilled, atol=1e-5, rtol=1e-5)
