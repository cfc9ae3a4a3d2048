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
