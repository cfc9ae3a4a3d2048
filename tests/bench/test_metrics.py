"""bench.metrics on inputs whose answers are known."""

import numpy as np
import pytest
import torch
from PIL import Image

from bench.metrics import (
    LinearProbe,
    adjacent_pairs,
    clip_scores,
    false_positive_rate,
    frame_features,
    frechet_distance,
    long_term_consistency,
    mean_reference_cosine,
    short_term_consistency,
    text_embeddings,
)
from core.encoders.open_clip_encoder import OpenClipEncoder


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifts = [frechet_distance(a, a + s) for s in (0.5, 1.0, 2.0)]
    # A pure mean shift of s in each of 8 dimensions adds exactly 8 s^2.
    assert shifts == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)
    # A scale change (covariance term) also moves it, and FD is symmetric.
    assert frechet_distance(a, 2 * a) > 1.0
    b = rng.normal(size=(150, 8)) + 1.0
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_copes_with_fewer_samples_than_dimensions():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(10, 32)), rng.normal(size=(10, 32)) + 3.0
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > frechet_distance(a, a)
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(a[:1], b)
    with pytest.raises(ValueError, match="one width"):
        frechet_distance(a, b[:, :4])


def test_clip_scores_are_100_times_the_cosine():
    image = torch.tensor([[1.0, 0.0], [3.0, 4.0], [0.0, 2.0]])
    text = torch.tensor([[1.0, 0.0], [3.0, 4.0], [1.0, 0.0]])
    assert clip_scores(image, text).tolist() == pytest.approx([100.0, 100.0, 0.0])
    with pytest.raises(ValueError, match="pair each image"):
        clip_scores(image, text[:2])


def test_short_term_consistency_uses_only_adjacent_same_movie_frames_sharing_a_character():
    e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    characters = [{"a"}, {"a", "b"}, {"b"}, {"c"}, {"c"}]
    groups = ["m1", "m1", "m1", "m1", "m2"]
    # Pairs: (0,1) share a -> cos 1; (1,2) share b -> cos 0; (2,3) share nobody; (3,4) other movie.
    assert adjacent_pairs(characters, groups) == [(0, 1), (1, 2)]
    st, pairs = short_term_consistency(e, characters, groups)
    assert (st, pairs) == (pytest.approx(0.5), 2)
    assert short_term_consistency(e[:2], [{"a"}, {"b"}], ["m", "m"]) == (None, 0)


def test_long_term_consistency_counts_named_characters_found():
    found = [{"a"}, {"a", "b"}, set(), {"c"}]
    named = [("a",), ("a", "b"), ("b",), ("a", "x")]
    # Pairs: a ok, a ok, b ok, b missed, a missed; x is unknown to the recogniser.
    lt, pairs = long_term_consistency(found, named, known={"a", "b", "c"})
    assert (lt, pairs) == (pytest.approx(3 / 5), 5)
    assert long_term_consistency([set()], [()]) == (None, 0)
    # c is found in frame 3 without being named: one false positive among the unnamed pairs.
    assert false_positive_rate(found, named, {"a", "b", "c"}) == pytest.approx(1 / 7)


def test_mean_reference_cosine():
    frames = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    references = torch.tensor([[1.0, 0.0]])
    assert mean_reference_cosine(frames, references) == pytest.approx(0.5)


def _separable(n: int, seed: int):
    """Features where label 'a' lives in dimension 0 and 'b' in dimension 1, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = [set(s) for s in ([], ["a"], ["b"], ["a", "b"])] * (n // 4)
    x = torch.randn(len(labels), 6, generator=g) * 0.3
    for i, row in enumerate(labels):
        x[i, 0] += 2.0 if "a" in row else -2.0
        x[i, 1] += 2.0 if "b" in row else -2.0
    return x, labels


def test_probe_learns_a_separable_multi_label_case_and_generalises():
    x, labels = _separable(80, 0)
    probe = LinearProbe.fit(x, labels)
    assert probe.labels == ["a", "b"]
    test_x, test_labels = _separable(40, 1)
    assert probe.recognise(test_x) == test_labels
    figures = probe.evaluate(test_x, test_labels)
    assert (
        figures["recall"] == 1.0 and figures["false_positive_rate"] == 0.0 and figures["exact_match"] == 1.0
    )
    # The same probe as a classifier: single-label rows get their own label back.
    single = [i for i, row in enumerate(test_labels) if len(row) == 1]
    assert probe.classify(test_x[single]) == [next(iter(test_labels[i])) for i in single]


def test_probe_is_deterministic_and_explains_bad_input():
    x, labels = _separable(16, 2)
    one, two = LinearProbe.fit(x, labels), LinearProbe.fit(x, labels)
    assert torch.equal(one.probabilities(x), two.probabilities(x))
    with pytest.raises(ValueError, match="one label set per feature row"):
        LinearProbe.fit(x, labels[:-1])
    with pytest.raises(ValueError, match="no label at all"):
        LinearProbe.fit(x, [set()] * len(x))
    with pytest.raises(ValueError, match="width"):
        one.probabilities(x[:, :3])


def test_frame_features_and_text_embeddings_from_a_tiny_clip():
    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).freeze()
    images = [Image.new("RGB", (224, 128), c) for c in ((200, 30, 30), (30, 200, 30), (200, 30, 30))]
    features = frame_features(clip, images, batch_size=2)
    e, c = clip.embed_dim, clip.token_width
    assert features.embeddings.shape == (3, e) and features.recogniser.shape == (3, e + 2 * c)
    assert torch.allclose(features.embeddings.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(features.embeddings[0], features.embeddings[2], atol=1e-6)
    texts = text_embeddings(clip, ["Mara walks on the beach.", "Night falls."])
    assert texts.shape == (2, e)
    # The same numbers as the encoder's own clip_score.
    expected = clip.clip_score(images[:2], ["Mara walks on the beach.", "Night falls."])
    assert torch.allclose(clip_scores(features.embeddings[:2], texts), expected, atol=1e-4)
    assert len(features.subset([0, 2])) == 2


def test_long_term_hits_add_up_to_lt_and_the_bootstrap_brackets_the_margin():
    from bench.metrics import long_term_consistency, long_term_hits, paired_bootstrap_interval

    named = [("a", "b"), ("a",), ("c",), ("z",)] * 10
    found_a = [{"a", "b"}, {"a"}, set(), set()] * 10
    found_b = [{"a"}, set(), set(), set()] * 10
    hits_a = long_term_hits(found_a, named, known={"a", "b", "c"})
    hits_b = long_term_hits(found_b, named, known={"a", "b", "c"})
    lt_a, pairs = long_term_consistency(found_a, named, known={"a", "b", "c"})
    assert hits_a[:, 1].sum() == pairs == 40 and hits_a[:, 0].sum() / pairs == lt_a == 0.75
    low, high = paired_bootstrap_interval(hits_a, hits_b, draws=500)
    assert 0 < low <= 0.5 <= high < 1  # the margin is 0.75 - 0.25, always positive here
    same = paired_bootstrap_interval(hits_a, hits_a, draws=100)
    assert same == (0.0, 0.0)
    with pytest.raises(ValueError, match="same keyframes"):
        paired_bootstrap_interval(hits_a, hits_a[:-1])


def test_bootstrap_mean_interval_brackets_the_mean_and_needs_two_values():
    from bench.metrics import bootstrap_mean_interval

    values = [0.1, 0.3, -0.05, 0.2, 0.15, 0.05]
    low, high = bootstrap_mean_interval(values)
    assert low < float(np.mean(values)) < high
    assert min(values) <= low and high <= max(values)
    assert bootstrap_mean_interval(values) == (low, high)  # seeded
    assert bootstrap_mean_interval([0.2]) is None
