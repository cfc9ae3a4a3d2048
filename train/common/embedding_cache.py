"""Memoised sentence and face embeddings for the decoder stages.

The toy world repeats its sentences and cast photos across thousands of keyframes, so each is
encoded once (by the frozen description encoder or face embedder) and reused. Batches come
out zero-padded, the decoder's convention for "absent":

    lists of B keys (each <= slots, None = absent) -> (B, slots, E)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import torch


class EmbeddingCache:
    def __init__(self, encode: Callable[[list], torch.Tensor], dim: int):
        self.encode = encode
        self.dim = dim
        self._rows: dict[Hashable, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, keys: Sequence[Hashable]) -> list[torch.Tensor]:
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        if missing:
            with torch.no_grad():
                encoded = self.encode(missing).float().cpu()
            if encoded.shape != (len(missing), self.dim):
                raise ValueError(
                    f"The encoder returned shape {tuple(encoded.shape)} for {len(missing)} inputs; "
                    f"expected ({len(missing)}, {self.dim})."
                )
            self._rows.update(zip(missing, encoded, strict=True))
        return [self._rows[k] for k in keys]

    def padded(self, batch: Sequence[Sequence[Hashable | None]], slots: int) -> torch.Tensor:
        """(B, slots, E): row j of sample i is the embedding of batch[i][j], zeros where absent."""
        out = torch.zeros(len(batch), slots, self.dim)
        wanted = [
            (i, j, key)
            for i, keys in enumerate(batch)
            for j, key in enumerate(keys[:slots])
            if key is not None
        ]
        if wanted:
            rows = self.rows([key for _, _, key in wanted])
            for (i, j, _), row in zip(wanted, rows, strict=True):
                out[i, j] = row
        return out
