"""The training attention mask: causal, padding-aware, with random key masking (paper 3.3).

Dimensions: B samples, P positions. The result is a 4D *additive* mask (B, 1, P, P) in the
model's dtype (0 where query q may attend to key k, the dtype's most negative value where not),
which transformers' Llama passes to attention unchanged.

Key masking is the paper's anti-overfitting trick: each key position of a sample is hidden
from every later query with probability p, on top of the causal mask, so the model cannot
lean on a single earlier token (e.g. copy the previous frame). It can only remove
connections, never add one, so no position ever sees the future. A position always sees
itself: a query row with no visible key would turn into NaN in the softmax.
"""

from __future__ import annotations

import torch
from torch import Tensor


def additive_causal_mask(
    padding_mask: Tensor,
    key_mask_probability: float = 0.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """padding_mask (B, P) with 1 for real positions -> additive mask (B, 1, P, P)."""
    if not 0.0 <= key_mask_probability < 1.0:
        raise ValueError(f"The key masking probability must be in [0, 1), got {key_mask_probability}.")
    batch, length = padding_mask.shape
    device = padding_mask.device
    positions = torch.arange(length, device=device)
    causal = positions[None, :] <= positions[:, None]  # (P, P): key <= query
    visible_keys = padding_mask.bool()  # (B, P)
    if key_mask_probability > 0:
        draws = torch.rand((batch, length), generator=generator, device=device)
        visible_keys = visible_keys & (draws >= key_mask_probability)
    allowed = causal[None] & visible_keys[:, None, :]  # (B, P, P)
    allowed = allowed | torch.eye(length, dtype=torch.bool, device=device)[None]
    mask = torch.zeros((batch, 1, length, length), dtype=dtype, device=device)
    return mask.masked_fill_(~allowed[:, None], torch.finfo(dtype).min)
