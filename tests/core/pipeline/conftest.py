import pytest

from core.pipeline import build_tiny_bundle


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """One tiny random bundle for the whole session (building it loads MiniLM once)."""
    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny", seed=0)
