"""The tree stays formatted and lint-clean: `ruff format --check` and `ruff check` (issue 25)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["format", "--check", "."], ["check", "."]], ids=["format", "lint"])
def test_ruff_passes_over_the_tree(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (
        f"`ruff {' '.join(command)}` failed; run `ruff format .` / `ruff check --fix .`:\n"
        + result.stdout[-3000:]
        + result.stderr[-1000:]
    )
