"""Memoised sentence and face embeddings for the decoder stages.

The toy world repeats its sentences and cast photos across thousands of keyframes, so each is
encoded once (by the frozen description encoder or face embedder) and reused. Batches come
out zero-padded, the decoder's convention for "absent":

    lists of B keys (each <= slots, None = absent) -> (B, slots, E)

`save(path, fingerprint)` / `load(path, fingerprint)` keep the rows on disk (safetensors; the
keys as text, `str(key)` by default), so a resumed or later run encodes nothing again; the
fingerprint names the encoder (e.g. `feature_store.module_fingerprint` of its weights), and a
file made by another encoder is ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


class EmbeddingCache:
    def __init__(self, encode: Callable[[list], torch.Tensor], dim: int):
        self.encode = encode
        self.dim = dim
        self._rows: dict[Hashable, torch.Tensor] = {}
        self._stored: dict[str, torch.Tensor] = {}  # rows read from disk, by key text

    def save(self, path: str | Path, fingerprint: str) -> None:
        """Write every row (keys as `str(key)`) to `path`, atomically."""
        from safetensors.torch import save_file

        path = Path(path)
        rows = dict(self._stored)
        rows.update({str(k): v for k, v in self._rows.items()})
        keys = list(rows)
        matrix = torch.stack([rows[k] for k in keys]) if keys else torch.zeros(0, self.dim)
        tmp = path.with_name(path.name + ".tmp")
        save_file(
            {"rows": matrix.contiguous()},
            str(tmp),
            metadata={"fingerprint": fingerprint, "keys": json.dumps(keys)},
        )
        tmp.replace(path)

    def load(self, path: str | Path, fingerprint: str) -> int:
        """Read rows saved by the same encoder; returns how many (0 if absent or another encoder's)."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            return 0
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("fingerprint") != fingerprint:
                logger.warning("%s was made by another encoder; encoding its rows again.", path)
                return 0
            matrix = f.get_tensor("rows")
        keys = json.loads(meta["keys"])
        if matrix.shape != (len(keys), self.dim):
            logger.warning(
                "%s has rows of shape %s, not (%d, %d); ignored.",
                path,
                tuple(matrix.shape),
                len(keys),
                self.dim,
            )
            return 0
        self._stored.update(zip(keys, matrix, strict=True))
        return len(keys)

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, keys: Sequence[Hashable]) -> list[torch.Tensor]:
        if self._stored:
            for k in keys:
                if k not in self._rows and str(k) in self._stored:
                    self._rows[k] = self._stored[str(k)]
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
