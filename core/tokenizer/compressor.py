"""Token compressor (paper 3.2, App. A, Fig. 8): CLIP spatial tokens -> L visual tokens.

Dimensions:
    B  keyframes
    N  CLIP spatial tokens (default 112 = 8 x 14 patches; ViT-L/14: 256)
    C  CLIP token width (default 256; ViT-L/14: 1024)
    D  the compressor's internal width (`width`, defaults to C)
    L  visual tokens per keyframe (`num_tokens`, 2 in the paper)
    d  visual token width (`token_dim`): what the AR model predicts and the decoder reads

Fig. 8: three transformer blocks over the N tokens; swap the token and channel axes and map
N -> L with one linear layer; three more blocks over the L tokens; project to d.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

# Named sizes; `input_dim`/`num_patches` always come from the CLIP tower actually used.
COMPRESSOR_PRESETS: dict[str, dict] = {
    "tiny": {
        "num_tokens": 2,
        "token_dim": 8,
        "width": 32,
        "num_heads": 2,
        "blocks_before": 1,
        "blocks_after": 1,
    },
    "default": {
        "num_tokens": 2,
        "token_dim": 16,
        "width": 256,
        "num_heads": 4,
        "blocks_before": 3,
        "blocks_after": 3,
    },
    # The paper does not state d; 16 matches the AR model's GMM default (core.ar.ARConfig).
    "paper": {
        "num_tokens": 2,
        "token_dim": 16,
        "width": 1024,
        "num_heads": 16,
        "blocks_before": 3,
        "blocks_after": 3,
    },
}


def _block(width: int, heads: int, mlp_ratio: float, dropout: float) -> nn.TransformerEncoderLayer:
    # Pre-LN blocks train stably without warm-up tricks at every width we use.
    return nn.TransformerEncoderLayer(
        d_model=width,
        nhead=heads,
        dim_feedforward=int(width * mlp_ratio),
        dropout=dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )


class TokenCompressor(ModelMixin, ConfigMixin):
    """(B, N, C) CLIP spatial tokens -> (B, L, d) visual tokens."""

    @register_to_config
    def __init__(
        self,
        input_dim: int = 256,
        num_patches: int = 112,
        num_tokens: int = 2,
        token_dim: int = 16,
        width: int | None = None,
        num_heads: int = 4,
        blocks_before: int = 3,
        blocks_after: int = 3,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        normalize_tokens: bool = True,
    ):
        super().__init__()
        width = width or input_dim
        if width % num_heads:
            raise ValueError(f"The compressor width {width} must be divisible by its {num_heads} heads.")
        self.input_proj = nn.Linear(input_dim, width) if width != input_dim else nn.Identity()
        self.pre_blocks = nn.ModuleList(
            _block(width, num_heads, mlp_ratio, dropout) for _ in range(blocks_before)
        )
        self.norm_before = nn.LayerNorm(width)
        # The N -> L map acts on the token axis: it learns which patches feed which token.
        self.squeeze = nn.Linear(num_patches, num_tokens)
        self.post_blocks = nn.ModuleList(
            _block(width, num_heads, mlp_ratio, dropout) for _ in range(blocks_after)
        )
        self.norm_after = nn.LayerNorm(width)
        self.output_proj = nn.Linear(width, token_dim)
        # Why a fixed-scale output: the AR model regresses these tokens with a Gaussian mixture;
        # a parameter-free LayerNorm pins every token to zero mean / unit variance so the
        # autoencoder cannot drift to scales the mixture then has to chase.
        self.output_norm = (
            nn.LayerNorm(token_dim, elementwise_affine=False) if normalize_tokens else nn.Identity()
        )

    def forward(self, spatial_tokens: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if spatial_tokens.ndim != 3 or spatial_tokens.shape[1:] != (cfg.num_patches, cfg.input_dim):
            raise ValueError(
                f"The compressor expects CLIP tokens of shape (B, {cfg.num_patches}, {cfg.input_dim}) "
                f"but got {tuple(spatial_tokens.shape)}; it must be built for the CLIP tower in use."
            )
        x = self.input_proj(spatial_tokens)  # (B, N, D)
        for block in self.pre_blocks:
            x = block(x)
        x = self.norm_before(x)
        x = self.squeeze(x.transpose(1, 2)).transpose(1, 2)  # (B, D, N) -> (B, D, L) -> (B, L, D)
        for block in self.post_blocks:
            x = block(x)
        x = self.output_proj(self.norm_after(x))  # (B, L, d)
        return self.output_norm(x)
