"""Video tests run torch on one thread: on a busy 2-core machine two OpenMP threads of tiny
models spin against each other (measured 20x slower than one thread)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
