import math

import numpy as np
import pytest
import torch

from core.ar.gmm import GaussianMixture, GMMHead, gmm_loss


def _random_params(n: int, k: int, d: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64)
    means = torch.randn(n, k, d, generator=g, dtype=torch.float64) * 2
    scales = torch.rand(n, k, d, generator=g, dtype=torch.float64) + 0.2
    return logits, means, scales


def test_log_prob_equals_brute_force_sum_over_components():
    logits, means, scales = _random_params(n=3, k=4, d=5)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    got = GaussianMixture(logits, means, scales).log_prob(x)

    expected = []
    for n in range(3):
        weights = np.exp(logits[n].numpy()) / np.exp(logits[n].numpy()).sum()
        density = 0.0
        for j in range(4):
            product = 1.0
            for c in range(5):
                mu, s = means[n, j, c].item(), scales[n, j, c].item()
                product *= math.exp(-((x[n, c].item() - mu) ** 2) / (2 * s * s)) / (
                    s * math.sqrt(2 * math.pi)
                )
            density += weights[j] * product
        expected.append(math.log(density))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_log_prob_and_mean_are_those_of_torch_s_mixture_same_family():
    from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

    logits, means, scales = (t.float() for t in _random_params(n=6, k=4, d=5, seed=2))
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    ours = GaussianMixture(logits, means, scales)
    theirs = MixtureSameFamily(Categorical(logits=logits), Independent(Normal(means, scales), 1))
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x), rtol=0, atol=1e-6)
    torch.testing.assert_close(ours.mean, theirs.mean, rtol=0, atol=1e-6)
    assert ours.batch_shape == theirs.batch_shape and ours.event_shape == theirs.event_shape


def test_samples_match_mixture_mean_variance_and_channel_coupling():
    logits, means, scales = _random_params(n=1, k=3, d=2, seed=3)
    many = (200_000, -1)
    pdf = GaussianMixture(
        logits.float().expand(many), means.float().expand(*many, -1), scales.float().expand(*many, -1)
    )
    draws = pdf.sample(torch.Generator().manual_seed(0))  # (200000, 2)

    weights = torch.softmax(logits[0], -1)  # (k,)
    mean = (weights[:, None] * means[0]).sum(0)  # (d,)
    second = (weights[:, None, None] * (means[0][:, :, None] * means[0][:, None, :])).sum(0)
    second += torch.diag((weights[:, None] * scales[0] ** 2).sum(0))
    covariance = second - mean[:, None] * mean[None, :]  # (d, d)
    # The component is shared by the channels, so they are correlated: check the full covariance.
    np.testing.assert_allclose(draws.mean(0).numpy(), mean.numpy(), atol=0.02)
    np.testing.assert_allclose(torch.cov(draws.T.double()).numpy(), covariance.numpy(), atol=0.05)
    assert abs(covariance[0, 1].item()) > 0.1  # the test would not notice independent channels otherwise


def test_zero_temperatures_give_the_most_likely_components_mean():
    logits, means, scales = _random_params(n=4, k=3, d=2)
    pdf = GaussianMixture(logits, means, scales)
    out = pdf.sample(torch.Generator().manual_seed(0), mixture_temperature=0, scale_temperature=0)
    expected = means[torch.arange(4), logits.argmax(-1)]
    torch.testing.assert_close(out, expected)


def test_scale_temperature_scales_the_spread_within_a_component():
    logits = torch.tensor([[0.0, -1e9]])  # one component in effect
    means = torch.zeros(1, 2, 3)
    scales = torch.full((1, 2, 3), 2.0)
    pdf = GaussianMixture(
        logits.expand(50_000, -1), means.expand(50_000, -1, -1), scales.expand(50_000, -1, -1)
    )
    half = pdf.sample(torch.Generator().manual_seed(0), scale_temperature=0.5)
    assert half.std().item() == pytest.approx(1.0, rel=0.02)


def test_sampling_is_reproducible_with_a_generator():
    pdf = GaussianMixture(*_random_params(n=5, k=3, d=4))
    a = pdf.sample(torch.Generator().manual_seed(7))
    b = pdf.sample(torch.Generator().manual_seed(7))
    c = pdf.sample(torch.Generator().manual_seed(8))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_negative_temperature_is_refused():
    with pytest.raises(ValueError, match="0 or positive"):
        GaussianMixture(*_random_params(1, 2, 2)).sample(mixture_temperature=-1)


def test_loss_is_nll_divided_by_token_width_plus_l1_plus_l2():
    logits, means, scales = _random_params(n=6, k=3, d=4)
    pdf = GaussianMixture(logits, means, scales)
    target = torch.randn(6, 4, dtype=torch.float64)
    loss = gmm_loss(pdf, target, l1_weight=0.5, l2_weight=2.0)
    torch.testing.assert_close(loss.nll_per_dim, -pdf.log_prob(target).mean() / 4)
    error = pdf.mean - target
    torch.testing.assert_close(loss.l1, error.abs().mean())
    torch.testing.assert_close(loss.l2, error.square().mean())
    torch.testing.assert_close(loss.total, loss.nll_per_dim + 0.5 * loss.l1 + 2.0 * loss.l2)


def test_nll_per_dim_does_not_grow_with_the_token_width():
    # One Gaussian per channel: repeating the channels doubles the NLL but not the NLL / d.
    means = torch.randn(5, 1, 3, dtype=torch.float64)
    scales = torch.rand(5, 1, 3, dtype=torch.float64) + 0.5
    target = torch.randn(5, 3, dtype=torch.float64)
    logits = torch.zeros(5, 1, dtype=torch.float64)
    narrow = gmm_loss(GaussianMixture(logits, means, scales), target)
    wide = gmm_loss(
        GaussianMixture(logits, means.repeat(1, 1, 2), scales.repeat(1, 1, 2)), target.repeat(1, 2)
    )
    torch.testing.assert_close(narrow.nll_per_dim, wide.nll_per_dim)
    assert -GaussianMixture(logits, means, scales).log_prob(target).mean() * 2 == pytest.approx(
        -GaussianMixture(logits, means.repeat(1, 1, 2), scales.repeat(1, 1, 2))
        .log_prob(target.repeat(1, 2))
        .mean()
        .item()
    )


def test_head_outputs_k_plus_2kd_values_and_positive_scales():
    head = GMMHead(hidden_size=12, token_dim=5, num_mixtures=3)
    assert head.proj.out_features == 3 + 2 * 3 * 5
    pdf = head(torch.randn(2, 7, 12) * 50)
    assert pdf.batch_shape == (2, 7) and pdf.event_shape == (5,)
    assert pdf.logits.shape == (2, 7, 3)
    assert bool((pdf.scales >= head.min_scale).all())
    assert torch.isfinite(pdf.log_prob(torch.randn(2, 7, 5))).all()


def test_loss_refuses_targets_of_another_shape():
    pdf = GaussianMixture(*_random_params(n=2, k=2, d=3))
    with pytest.raises(ValueError, match="same batch"):
        gmm_loss(pdf, torch.zeros(2, 4, dtype=torch.float64))
