import json
import subprocess
import sys

import pytest
import torch
from diffusers import AutoencoderKL
from PIL import Image

import train.stage0_representation as stage0
from core.encoders.open_clip_encoder import OpenClipEncoder
from tests.train.test_common_synthetic_movies import synthetic_movies


@pytest.fixture()
def data(tmp_path, monkeypatch):
    movies = synthetic_movies(tmp_path / "data")
    monkeypatch.setattr(stage0, "open_movies", lambda root, split: movies)
    return tmp_path / "data"


def _steps(out):
    return [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "train.stage0_representation", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--preset" in result.stdout and "paper" in result.stdout and "--max-steps" in result.stdout


def test_two_steps_checkpoint_then_resume(data, tmp_path):
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--data", str(data), "--out", str(out)]
    assert stage0.main(args + ["--max-steps", "2"]) == 0
    assert (out / "checkpoints" / "step_00000002").is_dir()
    assert _steps(out) == [1, 2]
    first = OpenClipEncoder.from_pretrained(out / "clip").freeze()

    assert stage0.main(args) == 0  # resumes at step 2 and runs the VAE phase
    assert _steps(out) == [1, 2, 3, 4]
    phases = [json.loads(line)["phase"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert phases == ["clip", "clip", "vae", "vae"]
    assert all(
        torch.isfinite(torch.tensor(json.loads(line)["loss"]))
        for line in (out / "log.jsonl").read_text().splitlines()
    )
    vae_rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()][2:]
    assert all(row["edge"] > 0 for row in vae_rows)  # the tiny preset's edge term is on
    clip = OpenClipEncoder.from_pretrained(out / "clip").freeze()
    pixels = clip.to_pixels([Image.new("RGB", (224, 128), (90, 40, 10))])
    assert torch.equal(
        clip.encode_image_tokens(pixels)[1], first.encode_image_tokens(pixels)[1]
    )  # CLIP done at step 2
    vae = AutoencoderKL.from_pretrained(out / "vae")
    assert vae.config.scaling_factor != AutoencoderKL().config.scaling_factor  # measured on the frames
    assert stage0.main(args) == 0  # nothing left to do
    assert _steps(out) == [1, 2, 3, 4]


def test_paper_preset_asks_for_its_local_checkpoints(data, tmp_path):
    with pytest.raises(ValueError, match="--set clip_checkpoint="):
        stage0.main(["--preset", "paper", "--data", str(data), "--out", str(tmp_path / "run")])


def test_decoder_only_fine_tuning_keeps_the_latent_space(data, tmp_path):
    from core.decoder.architectures import build_vae

    torch.manual_seed(0)
    pretrained = build_vae("tiny")
    pretrained.register_to_config(scaling_factor=0.77)
    pretrained.save_pretrained(tmp_path / "vae0")
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--data", str(data), "--out", str(out), "--set", "clip_steps=0"]
    with pytest.raises(ValueError, match="vae_pretrained"):
        stage0.main([*args, "--set", "vae_train_encoder=false"])
    options = ["--set", f"vae_pretrained={tmp_path / 'vae0'}", "--set", "vae_train_encoder=false"]
    assert stage0.main([*args, *options]) == 0
    tuned = AutoencoderKL.from_pretrained(out / "vae")
    before, after = pretrained.state_dict(), tuned.state_dict()
    encoder_keys = [k for k in before if k.startswith(("encoder.", "quant_conv."))]
    decoder_keys = [k for k in before if k.startswith("decoder.")]
    assert encoder_keys and all(torch.equal(before[k], after[k]) for k in encoder_keys)
    assert any(not torch.equal(before[k], after[k]) for k in decoder_keys)
    assert tuned.config.scaling_factor == pytest.approx(0.77)  # the latents did not change


def test_edge_term_is_zero_for_equal_images_and_sees_a_shifted_outline():
    image = torch.zeros(1, 3, 8, 8)
    image[..., 2:6, 2:6] = 1.0
    assert stage0.edge_l1(image, image) == 0
    shifted = torch.roll(image, 1, dims=-1)
    blurred = torch.nn.functional.avg_pool2d(image, 3, stride=1, padding=1)
    assert stage0.edge_l1(shifted, image) > 0 and stage0.edge_l1(blurred, image) > 0


def test_vae8_preset_trains_the_8_channel_vae_alone():
    cfg = stage0.PRESETS["vae8"]
    assert cfg["clip_steps"] == 0 and cfg["vae_preset"] == "wide8" and cfg["edge_weight"] > 0
    assert set(cfg) == set(stage0.PRESETS["default"])
