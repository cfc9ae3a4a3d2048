"""The 2-layer GELU MLP that aligns an outside embedding with the LLM's input space (LLaVA-1.5).

Dimensions: (..., in_dim) -> (..., H), H = hidden width of the AR backbone. MovieDreamer uses
one such projector per modality (description sentences, faces, previous visual tokens; paper 3.3).
"""

from __future__ import annotations

from torch import Tensor, nn


class MLPProjector(nn.Module):
    """Linear(in_dim, H) -> GELU -> Linear(H, H)."""

    def __init__(self, in_dim: int, hidden_size: int):
        super().__init__()
        self.in_dim = in_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size)
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_dim:
            raise ValueError(
                f"This projector reads embeddings of width {self.in_dim} but got width {x.shape[-1]}; "
                "the encoder that made them is not the one this AR model was configured for."
            )
        return self.net(x)
