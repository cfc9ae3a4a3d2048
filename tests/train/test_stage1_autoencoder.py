import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import train.stage1_autoencoder as stage1
from core.decoder.pipeline import KeyframeDecoderPipeline
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from tests.train.test_common_synthetic_movies import synthetic_movies, tiny_stage0_outputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    movies = synthetic_movies(tmp_path / "data")
    monkeypatch.setattr(stage1, "open_movies", lambda root, split: movies)
    init = tiny_stage0_outputs(tmp_path / "stage0")
    return tmp_path / "data", init


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_help(capsys):
    with pytest.raises(SystemExit) as done:
        stage1.main(["--help"])
    assert done.value.code == 0
    assert "--init" in capsys.readouterr().out


def test_two_steps_checkpoint_then_resume_through_the_three_phases(setup, tmp_path):
    data, init = setup
    out = tmp_path / "run"
    args = [
        "--preset",
        "tiny",
        "--data",
        str(data),
        "--init",
        str(init),
        "--out",
        str(out),
        "--set",
        "checkpoint_every=1",
        "--set",
        "keep_checkpoints=5",
    ]
    assert stage1.main(args + ["--max-steps", "2"]) == 0
    assert [r["step"] for r in _log(out)] == [1, 2]
    assert stage1.main(args) == 0
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2, 3]
    assert [r["phase"] for r in log] == ["decoder", "compressor", "joint"]
    assert all(np.isfinite(r["loss"]) for r in log)

    # Phase 2 trains the compressor into the frozen decoder: the UNet must not move in it.
    states = [load_file(out / "checkpoints" / f"step_{s:08d}" / "model.safetensors") for s in (1, 2, 3)]
    unet_keys = [k for k in states[0] if k.startswith("unet.")]
    compressor_keys = [k for k in states[0] if k.startswith("compressor.")]
    assert all(torch.equal(states[0][k], states[1][k]) for k in unet_keys)
    assert any(not torch.equal(states[0][k], states[1][k]) for k in compressor_keys)
    # Phase 3 trains everything jointly: the UNet moves again.
    assert any(not torch.equal(states[1][k], states[2][k]) for k in unet_keys)

    tokenizer = KeyframeTokenizer.from_pretrained(out / "tokenizer")
    pipeline = KeyframeDecoderPipeline.from_pretrained(out / "decoder")
    pipeline.set_progress_bar_config(disable=True)
    tokens = tokenizer.encode(
        [Image.open(p) for p in sorted((data / "train" / "movie000" / "frames").glob("*.png"))[:2]]
    )
    assert tokens.shape == (2, 2, 8)
    images = pipeline(
        tokens, num_inference_steps=2, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    assert images.shape == (2, 32, 56, 3) and np.isfinite(images).all()
    assert json.loads((out / "encoders.json").read_text())["face_dim"] == 32


def test_missing_stage0_folder_is_explained(setup, tmp_path):
    data, _ = setup
    with pytest.raises(FileNotFoundError, match="finished stage 0 run"):
        stage1.main(
            [
                "--preset",
                "tiny",
                "--data",
                str(data),
                "--init",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "o"),
            ]
        )


@pytest.mark.slow
def test_two_cpu_processes_keep_identical_parameters(tmp_path):
    """Two CPU processes (torchrun through accelerate, gloo all-reduce); replicas are compared at checkpoints.

    accelerate's `--cpu` launcher starts a single process, so the launch uses its multi-process
    launcher and the stage's own --cpu flag, which makes accelerate pick gloo on the CPU.
    """
    init = tiny_stage0_outputs(tmp_path / "stage0")
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(f"""
        import os
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        import train.stage1_autoencoder as stage1
        from tests.train.test_common_synthetic_movies import synthetic_movies
        # Each process writes its own copy of the (identical, seeded) synthetic movies.
        movies = synthetic_movies(Path({str(tmp_path)!r}) / ("data" + os.environ["RANK"]))
        stage1.open_movies = lambda root, split: movies
        raise SystemExit(stage1.main(sys.argv[1:]))
    """)
    )
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            str(driver),
            "--cpu",
            "--preset",
            "tiny",
            "--data",
            str(tmp_path),
            "--init",
            str(init),
            "--out",
            str(out),
            "--set",
            "checkpoint_every=1",
            "--set",
            "batch_size=1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = _log(out)
    checksums = [r["replica_checksums"] for r in log if "replica_checksums" in r]
    assert len(checksums) == 3  # one per checkpoint, i.e. after every step of the 3 phases
    assert all(len(c) == 2 and c[0] == c[1] for c in checksums)
    assert len({c[0] for c in checksums}) == 3  # and the weights did change between steps
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3]
