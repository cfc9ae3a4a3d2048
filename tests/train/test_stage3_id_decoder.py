import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import train.stage3_id_decoder as stage3
from core.decoder.pipeline import KeyframeDecoderPipeline
from core.encoders.descriptions import OpenClipTextDescriptionEncoder
from core.encoders.face_clip import ClipFaceEmbedder
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from tests.train.test_common_synthetic_movies import synthetic_movies, tiny_stage1_outputs


@pytest.fixture()
def data(tmp_path, monkeypatch):
    movies = synthetic_movies(tmp_path / "data")
    monkeypatch.setattr(stage3, "open_movies", lambda root, split: movies)
    return tmp_path / "data"


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_help(capsys):
    with pytest.raises(SystemExit) as done:
        stage3.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "--init" in out and "tiny" in out


def test_two_steps_checkpoint_then_resume(data, tmp_path):
    init = tiny_stage1_outputs(tmp_path / "stage1")
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--data", str(data), "--init", str(init), "--out", str(out)]
    assert stage3.main(args + ["--max-steps", "2"]) == 0
    assert (out / "checkpoints" / "step_00000002").is_dir()
    assert stage3.main(args) == 0
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) for r in log)

    # The tokenizer stays frozen (stage 2 predicts its tokens); the UNet and conditioner learn.
    before = load_file(init / "tokenizer" / "compressor" / "diffusion_pytorch_model.safetensors")
    after = load_file(out / "tokenizer" / "compressor" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)
    unet_before = load_file(init / "decoder" / "unet" / "diffusion_pytorch_model.safetensors")
    unet_after = load_file(out / "decoder" / "unet" / "diffusion_pytorch_model.safetensors")
    assert any(not torch.equal(unet_before[k], unet_after[k]) for k in unet_before)

    pipeline = KeyframeDecoderPipeline.from_pretrained(out / "decoder")
    pipeline.set_progress_bar_config(disable=True)
    assert pipeline.conditioner.config.mask_prob == 0.2  # the ID stage's masking travels with the weights
    tokenizer = KeyframeTokenizer.from_pretrained(out / "tokenizer")
    faces = ClipFaceEmbedder(tokenizer.clip).embed_crops([Image.new("RGB", (128, 128), (200, 150, 120))])
    text = OpenClipTextDescriptionEncoder(tokenizer.clip).encode(["Mara has short red hair."])
    images = pipeline(
        torch.zeros(1, 2, 8),
        text[None],
        faces[None],
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images
    assert images.shape == (1, 32, 56, 3) and np.isfinite(images).all()


def test_encoder_width_mismatch_is_explained(data, tmp_path):
    init = tiny_stage1_outputs(tmp_path / "stage1", face_dim=10)
    with pytest.raises(
        ValueError, match="face encoder gives embeddings of width 32 but the decoder was built for 10"
    ):
        stage3.main(
            ["--preset", "tiny", "--data", str(data), "--init", str(init), "--out", str(tmp_path / "run")]
        )


def test_paper_preset_asks_for_its_local_models(data, tmp_path):
    init = tiny_stage1_outputs(tmp_path / "stage1")
    encoders = json.loads((init / "encoders.json").read_text()) | {"description_encoder": "open_clip"}
    (init / "encoders.json").write_text(json.dumps(encoders))
    with pytest.raises(ValueError, match="--set description_clip_checkpoint="):
        stage3.main(
            ["--preset", "paper", "--data", str(data), "--init", str(init), "--out", str(tmp_path / "run")]
        )


def test_switching_to_the_zero_snr_v_objective_travels_with_the_decoder(data, tmp_path):
    init = tiny_stage1_outputs(tmp_path / "stage1")
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--data", str(data), "--init", str(init), "--out", str(out)]
    assert stage3.main(args + ["--set", "scheduler=v_zero_snr", "--max-steps", "1"]) == 0
    config = KeyframeDecoderPipeline.from_pretrained(out / "decoder").scheduler.config
    assert config.prediction_type == "v_prediction" and config.rescale_betas_zero_snr
    with pytest.raises(ValueError, match="scheduler='ddpm' is unknown"):
        stage3.main(args + ["--set", "scheduler=ddpm"])


def test_adding_input_norms_keeps_every_trained_weight():
    from core.decoder.conditioning import DecoderConditioner

    torch.manual_seed(0)
    old = DecoderConditioner(token_dim=8, num_tokens=2, context_dim=16, description_dim=12, face_dim=10)
    new = stage3.add_input_norm(old)
    assert new.config.input_norm and new.description_norm is not None and new.face_norm is not None
    for key, value in old.state_dict().items():
        assert torch.equal(new.state_dict()[key], value)
    tokens = torch.randn(2, 2, 8)
    with torch.no_grad():  # visual-token slots are untouched by the new norms
        torch.testing.assert_close(new.eval()(tokens).context[:, :2], old.eval()(tokens).context[:, :2])
