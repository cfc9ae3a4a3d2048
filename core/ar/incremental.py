"""Incremental forward of a transformers Llama backbone for sampling, with a preallocated KV cache.

Dimensions: n new positions fed in one call, P positions in the cache, H hidden width, h query
heads, g key/value heads, D head width, N layers.

The sampler calls the backbone twice per keyframe (the script part up to token 1, then token
1 to get token 2), and each call needs only the hidden state of the last position. Through
`LlamaModel.forward` each call paid ~4 ms (cProfile, one thread) of bookkeeping (mask construction, output capture,
cache objects) on our CPU, about a third of the sampler's time. `IncrementalLlama` runs the
same layers (the backbone's own modules and weights, the same arithmetic) with:

* one key/value buffer per layer, (g, capacity, D), that grows by doubling and is written in
  place; `truncate` forgets positions (a new context window, or all but the reference block);
* the rotary table computed once by the backbone's own `rotary_emb` (same values per position),
  and transformers' `rotate_half(x) * sin` written as `x.roll(D/2) * (sign * sin)`: bit for bit
  the same numbers in 2 kernels instead of 5 (a sign flip is exact);
* in the last layer only the last query: the other positions' outputs of that layer are never
  read (their keys and values are, and are cached), which removes a quarter of the attention
  and MLP work of every call, and of the window re-prefill.

Equal to `LlamaModel.forward` over the whole history up to floating-point rounding
(tests/core/ar/test_incremental.py). `unsupported_reason` names what it does not cover (dynamic RoPE,
whose frequencies change with the sequence length); the sampler then uses transformers' own
forward with a KV cache.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import LlamaModel

MIN_CAPACITY = 512


def unsupported_reason(backbone: torch.nn.Module) -> str | None:
    """Why `IncrementalLlama` cannot run this backbone, or None when it can."""
    if type(backbone) is not LlamaModel:
        return f"the backbone is a {type(backbone).__name__}, not a transformers LlamaModel"
    rope_type = (backbone.config.rope_parameters or {}).get("rope_type", "default")
    if "dynamic" in rope_type or rope_type == "longrope":
        return f"its RoPE ({rope_type}) changes with the sequence length"
    return None


class IncrementalLlama:
    """Feeds new positions through a LlamaModel's layers and returns the last hidden state."""

    def __init__(self, backbone: LlamaModel, capacity: int = MIN_CAPACITY):
        reason = unsupported_reason(backbone)
        if reason is not None:
            raise ValueError(f"IncrementalLlama cannot run this backbone: {reason}.")
        config = backbone.config
        self.backbone = backbone
        self.layers = list(backbone.layers[: config.num_hidden_layers])
        attention = self.layers[0].self_attn
        self.head_dim = attention.head_dim
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.scaling = attention.scaling
        self.length = 0  # P: positions in the cache
        self.forward_positions = 0  # positions pushed through the layers (cost accounting)
        weight = backbone.norm.weight
        self.dtype, self.device = weight.dtype, weight.device
        capacity = max(capacity, MIN_CAPACITY)
        shape = (len(self.layers), self.num_kv_heads, capacity, self.head_dim)
        self.keys = torch.empty(shape, dtype=self.dtype, device=self.device)  # (N, g, capacity, D)
        self.values = torch.empty(shape, dtype=self.dtype, device=self.device)
        self.cos = self.signed_sin = torch.empty((0, self.head_dim), dtype=self.dtype, device=self.device)

    def truncate(self, length: int) -> int:
        """Forget every position from `length` on; returns the positions still cached."""
        self.length = min(self.length, max(length, 0))
        return self.length

    def _reserve(self, end: int) -> None:
        capacity = self.keys.shape[2]
        if end > capacity:
            capacity = max(end, 2 * capacity)
            for name in ("keys", "values"):
                old = getattr(self, name)
                grown = old.new_empty((*old.shape[:2], capacity, old.shape[3]))
                grown[:, :, : self.length] = old[:, :, : self.length]
                setattr(self, name, grown)
        if end > self.cos.shape[0]:
            # The backbone's own rotary module: the same cos/sin per position as its forward.
            count = max(end, 2 * self.cos.shape[0], MIN_CAPACITY)
            positions = torch.arange(count, device=self.device)[None]  # (1, count)
            probe = torch.empty((), dtype=self.dtype, device=self.device)
            cos, sin = self.backbone.rotary_emb(probe, position_ids=positions)  # (1, count, D)
            half = self.head_dim // 2
            sign = torch.cat([-torch.ones(half), torch.ones(half)]).to(dtype=sin.dtype, device=self.device)
            self.cos, self.signed_sin = cos[0], sin[0] * sign  # (count, D)

    def feed(self, embeds: Tensor) -> Tensor:
        """embeds (n, H) for the next positions -> final-norm hidden state (H,) of the last one."""
        n = embeds.shape[0]
        if n == 0:
            raise ValueError("Nothing to feed: the sampler must pass at least one position.")
        start, end = self.length, self.length + n
        self._reserve(end)
        cos, sin = self.cos[start:end], self.signed_sin[start:end]  # (n, D)
        mask = None  # one query sees every cached key; a fresh cache is plain causal (is_causal below)
        if n > 1 and start > 0:
            # Query j (at position start + j) sees keys 0 .. start + j. Additive, not boolean: the
            # CPU flash kernel converts a boolean mask on every call, measured 1.7x slower.
            mask = torch.zeros((n, end), dtype=self.dtype, device=self.device)  # (n, P + n)
            future = torch.ones((n, n), dtype=torch.bool, device=self.device).triu(1)
            mask[:, start:].masked_fill_(future, float("-inf"))
        hidden = embeds[None]  # (1, n, H)
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            attention = layer.self_attn
            normed = layer.input_layernorm(hidden)  # (1, n, H)
            keys = attention.k_proj(normed).view(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
            values = attention.v_proj(normed).view(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
            self.keys[index, :, start:end] = self._rotated(keys, cos, sin)  # (g, n, D)
            self.values[index, :, start:end] = values
            if index == last:
                # Only the last position's output is ever read; its keys and values are cached above.
                hidden, normed = hidden[:, -1:], normed[:, -1:]  # (1, 1, H)
                q_cos, q_sin, q_mask, causal = cos[-1:], sin[-1:], None, False
            else:
                q_cos, q_sin, q_mask, causal = cos, sin, mask, mask is None and n > 1
            q = normed.shape[1]
            queries = attention.q_proj(normed).view(q, self.num_heads, self.head_dim).transpose(0, 1)
            queries = self._rotated(queries, q_cos, q_sin)  # (h, q, D)
            out = F.scaled_dot_product_attention(
                queries[None],
                self.keys[index, :, :end][None],  # (1, g, P + n, D)
                self.values[index, :, :end][None],
                attn_mask=q_mask,
                is_causal=causal,
                scale=self.scaling,
                enable_gqa=self.num_heads != self.num_kv_heads,
            )  # (1, h, q, D)
            out = out.transpose(1, 2).reshape(1, q, self.num_heads * self.head_dim)  # (1, q, h*D)
            hidden = hidden + attention.o_proj(out)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        self.length = end
        self.forward_positions += n
        return self.backbone.norm(hidden)[0, -1]  # (H,)

    def _rotated(self, x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
        """RoPE of x (heads, n, D): x * cos + rotate_half(x) * sin, with rotate_half(x) * sin ==
        x.roll(D/2) * signed_sin (transformers.models.llama.modeling_llama.apply_rotary_pos_emb)."""
        return x * cos + x.roll(self.head_dim // 2, dims=-1) * signed_sin
