"""A transformers KV cache that grows in place (amortised O(1) per appended position).

Dimensions: B batch, h key/value heads, P cached positions, D head width; each layer holds
keys and values of shape (B, h, P, D).

transformers' `DynamicLayer` appends with `torch.cat`, which copies the whole cache on every
step: for a 128-frame window (~3k positions) that copy was ~20% of the sampler's time on our
CPU. This layer keeps a buffer with spare capacity (doubling when full) and hands attention
views of the filled part, so an append only writes the new positions. Everything else
(sequence length, masks, positions) is DynamicLayer's, so Llama treats it like the
DynamicCache it is built on.
"""

from __future__ import annotations

from torch import Tensor
from transformers.cache_utils import Cache, DynamicLayer

MIN_CAPACITY = 256


class GrowingLayer(DynamicLayer):
    def lazy_initialization(self, key_states: Tensor, value_states: Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._key_buffer: Tensor | None = None
        self._value_buffer: Tensor | None = None
        self._length = 0

    def update(self, key_states: Tensor, value_states: Tensor, *args, **kwargs) -> tuple[Tensor, Tensor]:
        """Append (B, h, n, D) keys and values; returns views (B, h, P + n, D) of everything cached."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self._length + key_states.shape[-2]
        if self._key_buffer is None or end > self._key_buffer.shape[-2]:
            old = 0 if self._key_buffer is None else self._key_buffer.shape[-2]
            self._key_buffer = self._grown(self._key_buffer, key_states, max(end, 2 * old, MIN_CAPACITY))
            self._value_buffer = self._grown(
                self._value_buffer, value_states, max(end, 2 * old, MIN_CAPACITY)
            )
        self._key_buffer[..., self._length : end, :] = key_states
        self._value_buffer[..., self._length : end, :] = value_states
        self._length = end
        self.keys = self._key_buffer[..., :end, :]
        self.values = self._value_buffer[..., :end, :]
        return self.keys, self.values

    def _grown(self, buffer: Tensor | None, like: Tensor, capacity: int) -> Tensor:
        grown = like.new_empty((*like.shape[:-2], capacity, like.shape[-1]))  # (B, h, capacity, D)
        if buffer is not None and self._length:
            grown[..., : self._length, :] = buffer[..., : self._length, :]
        return grown

    def reset(self) -> None:
        super().reset()
        self._key_buffer = self._value_buffer = None
        self._length = 0

    def crop(self, tokens_to_remove: int) -> None:
        super().crop(tokens_to_remove)
        if self.is_initialized:
            self._length = self.keys.shape[-2]


def growing_cache(num_layers: int) -> Cache:
    """An empty cache for a decoder with `num_layers` full-attention layers."""
    return Cache(layers=[GrowingLayer() for _ in range(num_layers)])
