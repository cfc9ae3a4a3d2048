"""The held-out set every bench evaluates on, and the judge's own movies, rendered on demand.

The canonical dataset is the one `python -m train.data.toy_cinema export --seed 0
--identities 60 --test-fraction 0.2` writes. Its held-out (test) movies are the indices i
with `movie_split(i, 0.2) == "test"` (4, 9, 14, ...) whatever the export size, and they cast
only the 12 held-out identities. The benches render the first few of them themselves into a
cache folder (deterministic, fingerprinted by the world's own renders), so a fresh clone
needs nothing exported beforehand; `--data` still points a bench at an exported dataset.

The judge (`bench.judge`) trains on *other* movies of the same held-out cast, drawn from a
separate seed stream (`judge_movie_seeds`) that never meets the evaluated movies.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path

from train.data import toy_cinema
from train.data.dataset import DatasetError, MovieRecord, ToyCinemaDataset
from train.data.world import FrameSpec, Identity, make_identity_pool, render_keyframe, split_identities

logger = logging.getLogger(__name__)

WORLD_SEED = 0
IDENTITIES = 60
TEST_FRACTION = 0.2
# Seeds of bench.video's drift shots (1000 + i) and the canonical test movies are excluded
# from the judge's stream by construction: it hashes a different base.
JUDGE_SEED_BASE = 20_261_207
_FINGERPRINT_SPECS = (
    FrameSpec("beach", "sunset", "clear", "warm-film", "wide", "eye-level", (), variant=1),
    FrameSpec("office", "night", "clear", "noir", "medium", "high", (), variant=2),
    FrameSpec("snow-mountain", "day", "snow", "pastel", "extreme-wide", "low", (), variant=0),
)


def cache_root() -> Path:
    """Where benches keep what they rebuild on demand (outside the repository).

    `MOVIEDREAMER_CACHE` names the folder itself; otherwise `$XDG_CACHE_HOME/moviedreamer-studio`
    or `~/.cache/moviedreamer-studio`.
    """
    if os.environ.get("MOVIEDREAMER_CACHE"):
        return Path(os.environ["MOVIEDREAMER_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "moviedreamer-studio"


def held_out_identities() -> list[Identity]:
    """The 12 held-out identities of the canonical dataset (never in a training movie)."""
    pool = make_identity_pool(WORLD_SEED, IDENTITIES)
    return split_identities(pool, TEST_FRACTION, WORLD_SEED)[1]


def held_out_indices(count: int) -> list[int]:
    """The movie indices of the first `count` held-out movies of the canonical dataset."""
    indices, i = [], 0
    while len(indices) < count:
        if toy_cinema.movie_split(i, TEST_FRACTION) == "test":
            indices.append(i)
        i += 1
    return indices


def evaluated_movie_seeds(count: int = 64) -> set[int]:
    """Seeds of the held-out movies benches may evaluate (the judge must never train on them)."""
    seeds = {toy_cinema.movie_seed(WORLD_SEED, i) for i in held_out_indices(count)}
    return seeds | set(range(1000, 1000 + count))  # bench.video's drift movies


def judge_movie_seeds(count: int, offset: int = 0) -> list[int]:
    """Seeds of the judge's own movies (held-out cast, disjoint from every evaluated movie)."""
    excluded = evaluated_movie_seeds()
    seeds = [toy_cinema.movie_seed(JUDGE_SEED_BASE, offset + j) for j in range(count)]
    clash = excluded.intersection(seeds)
    if clash:  # 32-bit hashes: practically never; refuse rather than leak
        raise RuntimeError(f"judge movie seeds {sorted(clash)} are also evaluated; change JUDGE_SEED_BASE")
    return seeds


@lru_cache(maxsize=1)
def world_fingerprint() -> str:
    """A hash of what the world draws today: renders of fixed specs plus the held-out cast.

    Any change to the renderer, the palettes or the cast changes it, so caches built on an
    older world are rebuilt instead of silently reused.
    """
    digest = hashlib.sha256()
    for spec in _FINGERPRINT_SPECS:
        image, _ = render_keyframe(spec)
        digest.update(image.tobytes())
    for identity in held_out_identities():
        digest.update(repr(identity).encode())
        digest.update(repr(identity.description).encode())
    return digest.hexdigest()[:16]


def held_out_dataset(movies: int, folder: Path | None = None, workers: int = 2) -> ToyCinemaDataset:
    """The first `movies` held-out movies as a dataset folder, rendered once and cached.

    The folder is `cache_root()/heldout-<fingerprint>-<movies>` unless given; a complete
    folder is reused (the export writes manifest.json last, so a half-written one is not).
    """
    if movies < 1:
        raise ValueError(f"a held-out set needs at least 1 movie, not {movies}")
    indices = held_out_indices(movies)
    folder = folder or cache_root() / f"heldout-{world_fingerprint()}-{movies}"
    try:
        dataset = ToyCinemaDataset(folder)
        if len(dataset.movie_ids("test")) >= movies:
            return dataset
    except DatasetError:
        pass
    logger.info("Rendering %d held-out movies into %s (once; later runs reuse them)", movies, folder)
    args = argparse.Namespace(
        out=str(folder),
        movies=indices[-1] + 1,
        seed=WORLD_SEED,
        test_fraction=TEST_FRACTION,
        identities=IDENTITIES,
        min_shots=40,
        max_shots=400,
        clips=False,
        clip_frames=12,
        clip_every=4,
        workers=workers,
        overwrite=True,
        split="test",
    )
    toy_cinema.export(args)
    return ToyCinemaDataset(folder)


def held_out_movies(movies: int, data: Path | None = None) -> list[MovieRecord]:
    """The held-out movies a bench evaluates: from an exported dataset, or rendered on demand."""
    if data is not None:
        records = ToyCinemaDataset(data).movies("test")
        if not records:
            raise DatasetError(
                f"the dataset {data} has no held-out (test) movies; export it with --test-fraction 0.2"
            )
        return records[:movies]
    return held_out_dataset(movies).movies("test")[:movies]
