"""Frozen features of training keyframes, computed once and kept on disk (issue 20).

Stages that train a decoder on top of frozen models (the VAE's encoder, the CLIP tower, the
sentence and face encoders) spend most of a step re-encoding the same frames. Here each
frame is encoded once and the result is stored in shards of safetensors files:

    FOLDER/shard_00000.safetensors   {name: (n, ...) tensor}, metadata {"fingerprint", "count"}

A shard is reused only when its fingerprint matches: a digest of the frozen models' weights,
the settings and the ordered list of frame files. Anything else (another VAE, another
dataset) re-encodes it. Shards are written whole (temporary file, then rename), so a run
killed while encoding resumes at the first missing shard.

`module_fingerprint` is the digest of a module's weights (optionally only some of them, e.g.
a VAE's encoder), for the fingerprints above and for `EmbeddingCache.save`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

SHARD_PREFIX = "shard_"


def module_fingerprint(module: torch.nn.Module, prefixes: Iterable[str] | None = None) -> str:
    """sha256 of the named weights of `module` (only names starting with `prefixes`, if given)."""
    prefixes = tuple(prefixes) if prefixes is not None else None
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        if prefixes is not None and not name.startswith(prefixes):
            continue
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def combine_fingerprints(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)


class FrameFeatureStore:
    """Per-frame tensors for `count` frames, encoded in shards by `encode(start, end)`.

    encode(start, end) -> {name: (end - start, ...) tensor}; the same names and shapes for
    every call. `load()` encodes what is missing and returns {name: (count, ...) tensor}.
    """

    def __init__(
        self,
        folder: str | Path,
        count: int,
        fingerprint: str,
        encode: Callable[[int, int], dict[str, torch.Tensor]],
        *,
        shard_size: int = 1024,
    ):
        if count <= 0:
            raise ValueError("The feature store has no frames to encode; check the dataset and split.")
        if shard_size <= 0:
            raise ValueError(f"shard_size is {shard_size}; use a positive number of frames.")
        self.folder = Path(folder)
        self.count = count
        self.fingerprint = fingerprint
        self.encode = encode
        self.shard_size = shard_size
        self.encoded_shards = 0

    @property
    def num_shards(self) -> int:
        return -(-self.count // self.shard_size)

    def shard_path(self, k: int) -> Path:
        return self.folder / f"{SHARD_PREFIX}{k:05d}.safetensors"

    def _read(self, k: int) -> dict[str, torch.Tensor] | None:
        from safetensors import safe_open

        path = self.shard_path(k)
        if not path.is_file():
            return None
        expected = min(self.shard_size, self.count - k * self.shard_size)
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("fingerprint") != self.fingerprint or int(meta.get("count", -1)) != expected:
                logger.warning("%s was made by other models, settings or frames; encoding it again.", path)
                return None
            return {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open is no dict)

    def load(self, progress: Callable[[int, int], None] | None = None) -> dict[str, torch.Tensor]:
        self.folder.mkdir(parents=True, exist_ok=True)
        parts: list[dict[str, torch.Tensor]] = []
        for k in range(self.num_shards):
            shard = self._read(k)
            if shard is None:
                start, end = k * self.shard_size, min(self.count, (k + 1) * self.shard_size)
                shard = self.encode(start, end)
                for name, tensor in shard.items():
                    if tensor.shape[0] != end - start:
                        raise ValueError(
                            f"The encoder returned {tensor.shape[0]} rows of {name!r} for frames "
                            f"{start}..{end - 1}; expected {end - start}."
                        )
                meta = {"fingerprint": self.fingerprint, "count": str(end - start)}
                _atomic_save(shard, self.shard_path(k), meta)
                self.encoded_shards += 1
            parts.append(shard)
            if progress is not None:
                progress(k + 1, self.num_shards)
        names = list(parts[0])
        return {name: torch.cat([p[name] for p in parts]) for name in names}


def frame_list_fingerprint(paths: Sequence[str | Path], settings: dict) -> str:
    """Digest of the ordered frame files (path, size, mtime) and the encoding settings."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
