"""Gaussian-mixture output head of GIVT (Tschannen et al., 2023) as used by MovieDreamer (eq. 2, 3, 8).

Dimensions: N predictions (any leading batch shape, flattened here for the description),
H hidden width of the backbone, k mixture components, d channels of one visual token.

The head is one linear layer H -> k + 2kd: k mixture logits shared by all d channels, then k
means and k scales per channel. Each component is a diagonal Gaussian over the d channels, and
one categorical chooses the component for the whole token (GIVT's "shared mixture"):

    p(x) = sum_j pi_j prod_c N(x_c; mu_jc, s_jc)

`GMMHead.forward` returns this as a `torch.distributions.MixtureSameFamily(Categorical,
Independent(Normal, 1))`, so training is `-pdf.log_prob(x)` and the sampler draws from the
same object. `gmm_loss` is the paper's eq. 8: NLL / d (GIVT normalises the log-likelihood by the
token width so the loss scale does not depend on d) plus L1 and L2 between the mixture mean and
the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal


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

    def forward(self, hidden: Tensor) -> MixtureSameFamily:
        """(..., H) -> a mixture distribution with batch shape (...) and event shape (d,)."""
        return mixture(*self.mixture_parameters(hidden))

    def mixture_parameters(self, hidden: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(..., H) -> logits (..., k), means (..., k, d), scales (..., k, d).

        The sampler draws from these directly: building the distribution object costs more than
        the head itself for one token.
        """
        k, d = self.num_mixtures, self.token_dim
        out = self.proj(hidden)  # (..., k + 2kd)
        logits = out[..., :k]  # (..., k)
        means = out[..., k : k + k * d].unflatten(-1, (k, d))  # (..., k, d)
        raw_scales = out[..., k + k * d :].unflatten(-1, (k, d))  # (..., k, d)
        # softplus keeps scales positive without exp's blow-up; the floor keeps the NLL finite
        # when the model becomes very confident on a training frame.
        scales = F.softplus(raw_scales) + self.min_scale
        return logits, means, scales


def mixture(logits: Tensor, means: Tensor, scales: Tensor) -> MixtureSameFamily:
    """Build the shared-mixture distribution from logits (..., k), means and scales (..., k, d)."""
    # Argument validation walks every tensor on each call; the head guarantees positive scales.
    components = Independent(Normal(means, scales, validate_args=False), 1, validate_args=False)
    return MixtureSameFamily(Categorical(logits=logits, validate_args=False), components, validate_args=False)


@dataclass
class GMMLoss:
    """Eq. 8 of the paper: total = nll_per_dim + l1_weight * l1 + l2_weight * l2 (all scalars)."""

    total: Tensor
    nll_per_dim: Tensor
    l1: Tensor
    l2: Tensor

    def as_floats(self) -> dict[str, float]:
        return {
            "loss": float(self.total.detach()),
            "nll_per_dim": float(self.nll_per_dim.detach()),
            "l1": float(self.l1.detach()),
            "l2": float(self.l2.detach()),
        }


def gmm_loss(
    pdf: MixtureSameFamily, target: Tensor, l1_weight: float = 1.0, l2_weight: float = 1.0
) -> GMMLoss:
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


def sample_gmm(
    pdf: MixtureSameFamily,
    generator: torch.Generator | None = None,
    mixture_temperature: float = 1.0,
    scale_temperature: float = 1.0,
) -> Tensor:
    """Draw one token per batch element of a mixture from `mixture`; returns (..., d).

    `torch.distributions.*.sample` cannot take a generator, so the draws are written out in
    `sample_mixture`.
    """
    return sample_mixture(
        pdf.mixture_distribution.logits,
        pdf.component_distribution.base_dist.loc,
        pdf.component_distribution.base_dist.scale,
        generator,
        mixture_temperature,
        scale_temperature,
    )


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
