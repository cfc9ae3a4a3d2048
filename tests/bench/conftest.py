"""Shared fixtures of the bench tests: one tiny random bundle, tiny toy-cinema exports."""

from __future__ import annotations

import pytest
import torch

from core.pipeline import build_tiny_bundle
from train.data import toy_cinema


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny", seed=0)


def export_toy(tmp_path_factory, movies: int, min_shots: int, max_shots: int):
    """A toy-cinema export of `movies` movies, half of them held out with held-out identities."""
    out = tmp_path_factory.mktemp("toy") / "dataset"
    argv = [
        "export", "--out", str(out), "--movies", str(movies), "--seed", "3", "--identities", "8",
        "--test-fraction", "0.5", "--min-shots", str(min_shots), "--max-shots", str(max_shots),
        "--workers", "1",
    ]  # fmt: skip
    assert toy_cinema.main(argv) == 0
    return out


@pytest.fixture(autouse=True)
def _restore_threads():
    """The benches set torch's thread count; give the next test the one it had."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def bench_cache(tmp_path_factory):
    """The benches' on-demand cache (held-out movies, judges) in a temporary folder."""
    import os

    folder = tmp_path_factory.mktemp("bench-cache")
    old = os.environ.get("MOVIEDREAMER_CACHE")
    os.environ["MOVIEDREAMER_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("MOVIEDREAMER_CACHE", None)
    else:
        os.environ["MOVIEDREAMER_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_judge(bench_cache):
    """A judge trained for a few steps on a few of its own movies (shapes and plumbing, not accuracy)."""
    from bench.judge.train import Recipe, train

    folder = bench_cache / "tiny-judge"
    train(Recipe(train_movies=3, val_movies=1, shots=8, steps=3, batch_size=8, warmup=1), folder, threads=1)
    return folder
