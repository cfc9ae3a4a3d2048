"""Gaussian-mixture output head of GIVT (Tschannen et al., 2023) as used by MovieDreamer (eq. 2, 3, 8).

Dimensions: N predictions (any leading batch shape, flattened here for the description),
H hidden width of the backbone, k mixture components, d channels of one visual token.

The head is one linear layer H -> k + 2kd: k mixture logits shared by all d channels, then k
means and k scales per channel. Each component is a diagonal Gaussian over the d channels, and
one categorical chooses the component for the whole token (GIVT's "shared mixture"):

    p(x) = sum_j pi_j prod_c N(x_c; mu_jc, s_jc)

`GMMHead.forward` returns this as one `GaussianMixture` object (as GIVT's head returns its
distribution): training is `-pdf.log_prob(x)` and the sampler draws `pdf.sample(generator, ...)`
from the same object. It computes what `torch.distributions.MixtureSameFamily(Categorical,
Independent(Normal, 1))` computes, operation for operation, but is cheap to build for one
token and samples with an explicit generator, which torch.distributions cannot. `gmm_loss` is
the paper's eq. 8: NLL / d (GIVT normalises the log-likelihood by the
token width so the loss scale does not depend on d) plus L1 and L2 between the mixture mean and
the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class GaussianMixture:
    """k diagonal Gaussians over d channels sharing one categorical: batch shape (...), event (d,).

    logits (..., k), means (..., k, d), scales (..., k, d), all as the head outputs them.
    """

    logits: Tensor
    means: Tensor
    scales: Tensor

    @property
    def batch_shape(self) -> torch.Size:
        return self.logits.shape[:-1]

    @property
    def event_shape(self) -> torch.Size:
        return self.means.shape[-1:]

    def _log_weights(self) -> Tensor:
        """(..., k) normalised log mixture weights, as torch's Categorical(logits=...) keeps them."""
        return self.logits - self.logits.logsumexp(-1, keepdim=True)

    def log_prob(self, x: Tensor) -> Tensor:
        """(..., d) -> (...,): log sum_j pi_j prod_c N(x_c; mu_jc, s_jc)."""
        x = x.unsqueeze(-2)  # (..., 1, d) against the k components
        var = self.scales**2
        per_channel = (
            -((x - self.means) ** 2) / (2 * var) - self.scales.log() - math.log(math.sqrt(2 * math.pi))
        )
        per_component = per_channel.sum(-1)  # (..., k)
        return torch.logsumexp(per_component + torch.log_softmax(self._log_weights(), dim=-1), dim=-1)

    @property
    def mean(self) -> Tensor:
        """(..., d) the mixture mean, sum_j pi_j mu_j (what eq. 8's L1 and L2 compare)."""
        weights = torch.softmax(self._log_weights(), dim=-1).unsqueeze(-1)  # (..., k, 1)
        return torch.sum(weights * self.means, dim=-2)

    def sample(
        self,
        generator: torch.Generator | None = None,
        mixture_temperature: float = 1.0,
        scale_temperature: float = 1.0,
    ) -> Tensor:
        """One draw per batch element, (..., d); temperatures as in `sample_mixture`."""
        return sample_mixture(
            self._log_weights(), self.means, self.scales, generator, mixture_temperature, scale_temperature
        )


class GMMHead(nn.Module):
    """Linear map from a hidden state to a k-component diagonal Gaussian mixture over d channels."""

    def __init__(self, hidden_size: int, token_dim: int, num_mixtures: int, min_scale: float = 1e-4):
        super().__init__()
        if num_mixtures < 1:
            raise ValueError(f"The GMM head needs at least one mixture component, got {num_mixtures}.")
        if min_scale <= 0:
            raise ValueError(f"min_scale must be positive so every Gaussian has a density, got {min_scale}.")
        self.token_dim = token_dim
        self.num_mixtures = num_mixtures
        self.min_scale = min_scale
        self.proj = nn.Linear(hidden_size, num_mixtures + 2 * num_mixtures * token_dim)

    def forward(self, hidden: Tensor) -> GaussianMixture:
        """(..., H) -> a mixture distribution with batch shape (...) and event shape (d,)."""
        return GaussianMixture(*self.mixture_parameters(hidden))

    def mixture_parameters(self, hidden: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(..., H) -> logits (..., k), means (..., k, d), scales (..., k, d)."""
        k, d = self.num_mixtures, self.token_dim
        out = self.proj(hidden)  # (..., k + 2kd)
        logits = out[..., :k]  # (..., k)
        means = out[..., k : k + k * d].unflatten(-1, (k, d))  # (..., k, d)
        raw_scales = out[..., k + k * d :].unflatten(-1, (k, d))  # (..., k, d)
        # softplus keeps scales positive without exp's blow-up; the floor keeps the NLL finite
        # when the model becomes very confident on a training frame.
        scales = F.softplus(raw_scales) + self.min_scale
        return logits, means, scales


@dataclass
class GMMLoss:
    """Eq. 8 of the paper: total = nll_per_dim + l1_weight * l1 + l2_weight * l2 (all scalars)."""

    total: Tensor
    nll_per_dim: Tensor
    l1: Tensor
    l2: Tensor


def gmm_loss(pdf: GaussianMixture, target: Tensor, l1_weight: float = 1.0, l2_weight: float = 1.0) -> GMMLoss:
    """NLL / d + L1 + L2 between the mixture mean and the target; target is (..., d)."""
    if target.shape != pdf.batch_shape + pdf.event_shape:
        raise ValueError(
            f"The targets have shape {tuple(target.shape)} but the predicted distributions cover "
            f"{tuple(pdf.batch_shape + pdf.event_shape)}; build targets and predictions from the same batch."
        )
    token_dim = target.shape[-1]
    nll_per_dim = -pdf.log_prob(target).mean() / token_dim
    error = pdf.mean - target  # (..., d)
    l1 = error.abs().mean()
    l2 = error.square().mean()
    return GMMLoss(nll_per_dim + l1_weight * l1 + l2_weight * l2, nll_per_dim, l1, l2)


def sample_mixture(
    logits: Tensor,
    means: Tensor,
    scales: Tensor,
    generator: torch.Generator | None = None,
    mixture_temperature: float = 1.0,
    scale_temperature: float = 1.0,
) -> Tensor:
    """Draw one token per batch element from logits (..., k), means and scales (..., k, d); returns (..., d).

    Two draws: the component from softmax(logits / mixture_temperature) (0 = the most likely
    component), then mean + scale_temperature * scale * noise (0 = the component mean). GIVT
    samples with lowered temperatures in the same two places.
    """
    if mixture_temperature < 0 or scale_temperature < 0:
        raise ValueError(
            f"Temperatures must be 0 or positive, got mixture {mixture_temperature} and scale {scale_temperature}."
        )
    batch_shape = logits.shape[:-1]
    flat_logits = logits.reshape(-1, logits.shape[-1])  # (N, k)
    if mixture_temperature == 0:
        choice = flat_logits.argmax(-1)  # (N,)
    else:
        probs = torch.softmax(flat_logits.float() / mixture_temperature, dim=-1)
        choice = torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (N,)
    d = means.shape[-1]
    rows = torch.arange(choice.shape[0], device=choice.device)
    mean = means.reshape(-1, means.shape[-2], d)[rows, choice]  # (N, d)
    scale = scales.reshape(-1, scales.shape[-2], d)[rows, choice]  # (N, d)
    if scale_temperature == 0:
        sample = mean
    else:
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        sample = mean + scale_temperature * scale * noise
    return sample.reshape(*batch_shape, d)
