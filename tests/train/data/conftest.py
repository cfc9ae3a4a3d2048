"""Shared fixtures: a small identity pool and one tiny exported dataset per test session."""

from __future__ import annotations

import pytest

from train.data import toy_cinema
from train.data.world import make_identity_pool


@pytest.fixture(scope="session")
def pool():
    return make_identity_pool(seed=0, n=24)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """3 movies of 4-6 shots with clips, exported in-process (one worker)."""
    out = tmp_path_factory.mktemp("toy") / "dataset"
    argv = [
        "export", "--out", str(out), "--movies", "3", "--seed", "5", "--identities", "8",
        "--test-fraction", "0.25", "--min-shots", "4", "--max-shots", "6",
        "--clips", "--clip-frames", "3", "--clip-every", "2", "--workers", "1",
    ]  # fmt: skip
    assert toy_cinema.main(argv) == 0
    return out
