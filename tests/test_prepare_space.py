"""scripts/prepare_space.sh: the Space copy routes weights through Git LFS; this repository does not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "prepare_space.sh"
HUB_LIMIT = 10 * 1024 * 1024


def _filter(repo: Path, paths: list[str]) -> dict[str, str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "check-attr", "filter", "--", *paths],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split(": ")[0]: line.split(": ")[-1] for line in out.splitlines()}


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("space") / "copy"
    subprocess.run(["bash", str(SCRIPT), str(out)], check=True, timeout=600, capture_output=True)
    return out


def test_the_space_copy_holds_what_the_space_runs(space):
    for name in ("app.py", "requirements.txt", "README.md", "assets/bundle/manifest.json", "studio/cli.py"):
        assert (space / name).is_file(), name
    assert not (space / "tests").exists() and not (space / "bench").exists()
    # The Space installs the runtime requirements only.
    assert "pytest" not in (space / "requirements.txt").read_text()
    assert (space / "README.md").read_text().startswith("---\ntitle: MovieDreamer Studio")


def test_every_weight_and_binary_file_of_the_copy_goes_through_lfs(space):
    files = [p for p in space.rglob("*") if p.is_file() and ".git" not in p.relative_to(space).parts]
    binary = [
        p.relative_to(space).as_posix()
        for p in files
        if p.stat().st_size > HUB_LIMIT or b"\x00" in p.read_bytes()[:8192]
    ]
    assert any(name.endswith(".safetensors") for name in binary)
    assert set(_filter(space, binary).values()) == {"lfs"}
    # Text stays plain git.
    assert _filter(space, ["app.py", "assets/bundle/manifest.json"]) == {
        "app.py": "unspecified",
        "assets/bundle/manifest.json": "unspecified",
    }


def test_this_repository_keeps_its_weights_as_plain_git_blobs():
    weights = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "*.safetensors"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert weights
    assert set(_filter(ROOT, weights).values()) == {"unspecified"}


def test_a_non_empty_target_is_refused(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
