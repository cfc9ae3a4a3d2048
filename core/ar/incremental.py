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
  `evict` forgets a span in the middle (the oldest frame of a rolling window): the later keys
  move up and are rotated back by the span's length, so every cached key sits at the position
  it would have in a window that never held the span (RoPE is a rotation by position, and
  R(p - k) = R(-k) R(p)). The first layer's keys and values depend only on their own
  positions, so for it this is exact; deeper layers keep what their positions once read from
  the evicted span (measured by bench.long, not exact);
* the rotary table computed once by the backbone's own `rotary_emb` (same values per position),
  and transformers' `rotate_half(x) * sin` written as `x.roll(D/2) * (sign * sin)`: bit for bit
  the same numbers in 2 kernels instead of 5 (a sign flip is exact);
* in the last layer only the last query: the other positions' outputs of that layer are never
  read (their keys and values are, and are cached), which removes a quarter of the attention
  and MLP work of every call, and of the window re-prefill;
* for CPU-sized backbones (<= FUSE_MAX_PARAMETERS), the q/k/v projections as one matrix and the
  MLP's gate/up projections as another (2 GEMMs instead of 5 per layer; the copies cost twice
  the weights' memory, so paper-scale backbones run the modules as they are), and float32
  RMSNorm as `F.rms_norm` (one kernel instead of five). Together about 5% of the sampler's
  time (cProfile of 128 frames, a 4-layer model: 7,940 -> 4,868 linear calls,
  1.79 -> 1.71 s).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import LlamaModel

MIN_CAPACITY = 512
FUSE_MAX_PARAMETERS = 50_000_000


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
        small = sum(p.numel() for p in backbone.parameters()) <= FUSE_MAX_PARAMETERS
        self.fused = [_FusedLayer(layer) for layer in self.layers] if small else None
        self.fast_norm = self.dtype == torch.float32

    def _norm(self, module: torch.nn.Module, hidden: Tensor) -> Tensor:
        if self.fast_norm:
            return F.rms_norm(hidden, module.weight.shape, module.weight, module.variance_epsilon)
        return module(hidden)

    def truncate(self, length: int) -> int:
        """Forget every position from `length` on; returns the positions still cached."""
        self.length = min(self.length, max(length, 0))
        return self.length

    def evict(self, start: int, count: int) -> int:
        """Forget positions start .. start + count - 1 and move the later ones up (module
        docstring); returns the positions still cached."""
        end = start + count
        if count <= 0:
            return self.length
        if start < 0 or end > self.length:
            raise ValueError(f"Cannot evict positions {start}..{end - 1}: the cache holds {self.length}.")
        tail = self.length - end
        if tail:
            self._reserve(self.length)
            cos, signed_sin = self.cos[count], self.signed_sin[count]  # rotation by +count, (D,)
            keys = self.keys[:, :, end : self.length]  # (N, g, tail, D)
            # R(-count) x = x cos - rotate_half(x) sin; new tensors, so the overlapping write is safe
            self.keys[:, :, start : start + tail] = (
                keys * cos - keys.roll(self.head_dim // 2, dims=-1) * signed_sin
            )
            self.values[:, :, start : start + tail] = self.values[:, :, end : self.length].clone()
        self.length -= count
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
            fused = self.fused[index] if self.fused is not None else None
            normed = self._norm(layer.input_layernorm, hidden)  # (1, n, H)
            if fused is not None:
                queries, keys, values = F.linear(normed[0], fused.qkv_weight, fused.qkv_bias).split(
                    fused.qkv_split, dim=-1
                )
            else:
                queries, keys, values = (
                    proj(normed[0]) for proj in (attention.q_proj, attention.k_proj, attention.v_proj)
                )
            keys = keys.view(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
            values = values.view(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
            self.keys[index, :, start:end] = self._rotated(keys, cos, sin)  # (g, n, D)
            self.values[index, :, start:end] = values
            if index == last:
                # Only the last position's output is ever read; its keys and values are cached above.
                hidden, queries = hidden[:, -1:], queries[-1:]  # (1, 1, H), (1, h*D)
                q_cos, q_sin, q_mask, causal = cos[-1:], sin[-1:], None, False
            else:
                q_cos, q_sin, q_mask, causal = cos, sin, mask, mask is None and n > 1
            q = queries.shape[0]
            queries = queries.reshape(q, self.num_heads, self.head_dim).transpose(0, 1)
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
            normed = self._norm(layer.post_attention_layernorm, hidden)
            if fused is not None:
                gate, up = F.linear(normed, fused.gate_up_weight, fused.gate_up_bias).chunk(2, dim=-1)
                hidden = hidden + layer.mlp.down_proj(layer.mlp.act_fn(gate) * up)
            else:
                hidden = hidden + layer.mlp(normed)
        self.length = end
        self.forward_positions += n
        return self._norm(self.backbone.norm, hidden)[0, -1]  # (H,)

    def _rotated(self, x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
        """RoPE of x (heads, n, D): x * cos + rotate_half(x) * sin, with rotate_half(x) * sin ==
        x.roll(D/2) * signed_sin (transformers.models.llama.modeling_llama.apply_rotary_pos_emb)."""
        return x * cos + x.roll(self.head_dim // 2, dims=-1) * signed_sin


class _FusedLayer:
    """One decoder layer's q/k/v and gate/up projection weights concatenated (copies)."""

    def __init__(self, layer: torch.nn.Module):
        attention, mlp = layer.self_attn, layer.mlp
        projections = (attention.q_proj, attention.k_proj, attention.v_proj)
        self.qkv_weight = torch.cat([p.weight for p in projections]).detach()  # (h*D + 2*g*D, H)
        self.qkv_bias = _cat_bias(projections)
        self.qkv_split = [p.weight.shape[0] for p in projections]
        self.gate_up_weight = torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]).detach()  # (2I, H)
        self.gate_up_bias = _cat_bias((mlp.gate_proj, mlp.up_proj))


def _cat_bias(projections) -> Tensor | None:
    if all(p.bias is None for p in projections):
        return None
    return torch.cat(
        [p.bias if p.bias is not None else p.weight.new_zeros(p.weight.shape[0]) for p in projections]
    ).detach()
