"""Which examples each process reads at each step: deterministic, sharded and resumable.

The examples form one endless stream: epoch e is a permutation of range(n) seeded by
(seed, e). Step s reads the next `batch_size * world_size` entries of the stream and process r
takes its own `batch_size` of them. Every entry also gets a `draw` (an int from a generator
seeded by (seed, s)) that datasets use for their random choices (which photo, which
sentence, flip or not). A run resumed at step s therefore reads exactly what an uninterrupted
run would have read, without replaying the data loader.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

_DRAW_LIMIT = 2**31 - 1


def _permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def step_indices(
    n: int, step: int, *, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> list[int]:
    """The example indices process `rank` reads at global step `step`."""
    if n <= 0:
        raise ValueError("The training set is empty; check --data and the split.")
    per_step = batch_size * world_size
    start = step * per_step + rank * batch_size
    out: list[int] = []
    position = start
    while len(out) < batch_size:
        epoch, offset = divmod(position, n)
        perm = _permutation(n, seed, epoch)
        take = min(batch_size - len(out), n - offset)
        out.extend(perm[offset : offset + take].tolist())
        position += take
    return out


class StepBatchSampler:
    """A batch sampler yielding [(index, draw), ...] for steps start_step .. end_step - 1."""

    def __init__(
        self,
        n: int,
        *,
        batch_size: int,
        seed: int,
        start_step: int,
        end_step: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step
        self.end_step = end_step
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            indices = step_indices(
                self.n,
                step,
                batch_size=self.batch_size,
                seed=self.seed,
                rank=self.rank,
                world_size=self.world_size,
            )
            g = torch.Generator().manual_seed(((self.seed + 7919) * 1_000_003 + step) * 65_537 + self.rank)
            draws = torch.randint(0, _DRAW_LIMIT, (len(indices),), generator=g).tolist()
            yield list(zip(indices, draws, strict=True))
