import json

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler

import train.stage13_cached_decoder as stage13
from core.decoder.architectures import build_vae
from core.decoder.pipeline import KeyframeDecoderPipeline
from core.encoders.open_clip_encoder import OpenClipEncoder
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer
from tests.train.test_common_synthetic_movies import synthetic_movies


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    movies = synthetic_movies(tmp_path / "data", frames=3)
    monkeypatch.setattr(stage13, "open_movies", lambda root, split: movies)
    monkeypatch.setattr(stage13, "judge_scores", lambda images, records: {"frames": float(len(images))})
    torch.manual_seed(0)
    OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).save_pretrained(tmp_path / "stage0" / "clip")
    vae = build_vae("tiny", latent_channels=8)
    vae.register_to_config(scaling_factor=0.5)
    vae.save_pretrained(tmp_path / "stage0" / "vae")
    return tmp_path


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_two_steps_then_resume_from_cached_features(setup, caplog):
    tmp = setup
    out = tmp / "run"
    args = [
        "--preset",
        "tiny",
        "--data",
        str(tmp / "data"),
        "--init",
        str(tmp / "stage0"),
        "--out",
        str(out),
        "--set",
        f"eval_data={tmp / 'data'}",
    ]
    assert stage13.main(args + ["--max-steps", "2"]) == 0
    assert (out / "checkpoints" / "step_00000002").is_dir()
    shards = sorted((out / "features" / "frames").glob("shard_*.safetensors"))
    assert len(shards) == 2  # 6 keyframes in shards of 3
    assert (out / "features" / "sentences.safetensors").is_file()
    assert (out / "features" / "faces.safetensors").is_file()
    stamps = [s.stat().st_mtime_ns for s in shards]

    caplog.clear()
    assert stage13.main(args) == 0  # resumes at step 2; the features are read, not encoded
    assert [s.stat().st_mtime_ns for s in shards] == stamps
    assert "0 shards encoded" in caplog.text
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and r["steps_per_s"] > 0 for r in log)
    assert 0 < log[-1]["ema_decay"] < 1

    curve = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    assert curve[0]["row"] == "vae_round_trip" and curve[0]["judge"] == {"frames": 2.0}
    recon = [r for r in curve if r["row"] == "reconstruction"]
    assert [(r["step"], r["guidance"]) for r in recon] == [(2, 1.0), (2, 2.0), (3, 1.0), (3, 2.0)]
    assert all(np.isfinite(r["latent_l1"]) for r in recon)
    assert (out / "samples" / "step_000003_g2.png").is_file()

    # The exported decoder samples with DPM-Solver++ and reads the tokenizer's tokens.
    pipeline = KeyframeDecoderPipeline.from_pretrained(out / "decoder")
    pipeline.set_progress_bar_config(disable=True)
    assert isinstance(pipeline.scheduler, DPMSolverMultistepScheduler)
    assert pipeline.unet.config.in_channels == 8
    tokenizer = KeyframeTokenizer.from_pretrained(out / "tokenizer")
    tokens = tokenizer.compressor(torch.randn(1, tokenizer.clip.num_patches, tokenizer.clip.token_width))
    image = pipeline(tokens, num_inference_steps=2, guidance_scale=2.0, output_type="np").images
    assert image.shape == (1, 32, 56, 3) and np.isfinite(image).all()
    assert json.loads((out / "encoders.json").read_text())["face_embedder"] == "clip"


def test_features_of_other_vae_weights_are_encoded_again(setup):
    tmp = setup
    out = tmp / "run"
    base = ["--preset", "tiny", "--data", str(tmp / "data"), "--init", str(tmp / "stage0"), "--out", str(out)]
    assert stage13.main(base + ["--max-steps", "1"]) == 0
    shard = out / "features" / "frames" / "shard_00000.safetensors"
    before = shard.stat().st_mtime_ns
    torch.manual_seed(5)
    other = build_vae("tiny", latent_channels=8)
    other.register_to_config(scaling_factor=0.5)
    other.save_pretrained(tmp / "other_vae")
    assert stage13.main(base + ["--set", f"vae_path={tmp / 'other_vae'}", "--max-steps", "2"]) == 0
    assert shard.stat().st_mtime_ns != before


def test_pick_frames_spreads_over_the_list():
    assert stage13.pick_frames(list(range(10)), 4) == [0, 3, 6, 9]
    assert stage13.pick_frames(list(range(3)), None) == [0, 1, 2]


def test_a_kept_tokenizer_stays_frozen_and_a_decoder_run_can_start_from_another(setup):
    """tokenizer_path keeps an AR model's token space; init_decoder continues an earlier decoder."""
    tmp = setup
    clip = OpenClipEncoder.from_pretrained(tmp / "stage0" / "clip")
    torch.manual_seed(3)
    from core.tokenizer.compressor import TokenCompressor

    compressor = TokenCompressor(
        input_dim=clip.token_width, num_patches=clip.num_patches, **stage13.COMPRESSOR_PRESETS["tiny"]
    )
    KeyframeTokenizer(clip, compressor).save_pretrained(tmp / "kept")
    base = ["--preset", "tiny", "--data", str(tmp / "data"), "--set", f"vae_path={tmp / 'stage0' / 'vae'}"]
    kept = ["--set", f"tokenizer_path={tmp / 'kept'}"]
    assert stage13.main(base + kept + ["--out", str(tmp / "first"), "--max-steps", "2"]) == 0
    exported = KeyframeTokenizer.from_pretrained(tmp / "first" / "tokenizer")
    for (name, a), (_, b) in zip(
        compressor.state_dict().items(), exported.compressor.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name  # not trained
    first = KeyframeDecoderPipeline.from_pretrained(tmp / "first" / "decoder")

    # a second run starting from the first run's decoder has its weights before its first step
    second = (
        base + kept + ["--out", str(tmp / "second"), "--set", f"init_decoder={tmp / 'first' / 'decoder'}"]
    )
    started = {}
    original = stage13.start_from_decoder

    def spy(model, folder, **kwargs):
        original(model, folder, **kwargs)
        started["unet"] = {k: v.clone() for k, v in model.unet.state_dict().items()}

    stage13.start_from_decoder = spy
    try:
        assert stage13.main(second + ["--max-steps", "1"]) == 0
    finally:
        stage13.start_from_decoder = original
    for name, value in first.unet.state_dict().items():
        assert torch.equal(started["unet"][name], value), name
    with pytest.raises(FileNotFoundError, match="unet/ and conditioner/"):
        stage13.main(base + kept + ["--out", str(tmp / "third"), "--set", f"init_decoder={tmp / 'nothing'}"])


def test_the_sweep_renders_every_guidance_and_step_count_of_an_exported_decoder(setup, capsys):
    from train import decoder_sweep

    tmp = setup
    out = tmp / "run"
    base = ["--preset", "tiny", "--data", str(tmp / "data"), "--init", str(tmp / "stage0"), "--out", str(out)]
    assert stage13.main(base + ["--max-steps", "1"]) == 0  # the final evaluation exports the models
    argv = [
        "--run",
        str(out),
        "--data",
        str(tmp / "data"),
        "--guidance",
        "1",
        "2",
        "--steps",
        "2",
        "1",
        "--frames",
        "2",
        "--face-guidance",
        "1",
        "3",
    ]
    assert decoder_sweep.main(argv) == 0
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [(r["row"], r["guidance"], r["face_guidance"], r["sweep_steps"]) for r in rows] == [
        ("reconstruction", 1.0, 1.0, 2), ("reconstruction", 1.0, 3.0, 2),
        ("reconstruction", 2.0, 1.0, 2), ("reconstruction", 2.0, 3.0, 2), ("t2i", 2.0, 1.0, 2),
        ("reconstruction", 1.0, 1.0, 1), ("reconstruction", 1.0, 3.0, 1),
        ("reconstruction", 2.0, 1.0, 1), ("reconstruction", 2.0, 3.0, 1), ("t2i", 2.0, 1.0, 1),
    ]  # fmt: skip
    assert (out / "sweep" / "steps_2" / "samples" / "step_000001_g2_f3.png").is_file()
    assert all(r["judge"] == {"frames": 2.0} and r["checkpoint_step"] == 1 for r in rows)
    assert (out / "sweep" / "steps_1" / "samples" / "step_000001_g2_t2i.png").is_file()
    assert "reconstruction  guidance 2" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:
        decoder_sweep.main(["--run", str(tmp / "nothing"), "--data", str(tmp / "data")])
    assert stopped.value.code == 2 and "has exported its models" in capsys.readouterr().err


def test_a_run_with_the_shot_sentence_trains_and_exports_a_decoder_that_reads_it(setup):
    tmp = setup
    out = tmp / "shot"
    base = ["--preset", "tiny", "--data", str(tmp / "data"), "--init", str(tmp / "stage0")]
    assert stage13.main(base + ["--out", str(out), "--set", "shot_sentence=true", "--max-steps", "2"]) == 0
    decoder = KeyframeDecoderPipeline.from_pretrained(out / "decoder")
    assert decoder.conditioner.config.reads_shot_sentence is True
    from safetensors import safe_open

    with safe_open(out / "features" / "sentences.safetensors", "pt") as f:
        metadata = f.metadata()
    assert any("shot from" in key for key in json.loads(metadata["keys"])), (
        "the shot sentences were not encoded"
    )
    plain = tmp / "plain"
    assert stage13.main(base + ["--out", str(plain), "--max-steps", "1"]) == 0
    assert (
        KeyframeDecoderPipeline.from_pretrained(plain / "decoder").conditioner.config.reads_shot_sentence
        is False
    )


def test_a_run_with_vae_faces_starts_from_another_decoder_with_a_fresh_face_mlp(setup):
    """face_embedder=vae: the face slots read the VAE's latent of the cast photo; the earlier
    decoder's face MLP read CLIP embeddings, so fresh_face_mlp keeps a new one."""
    from safetensors import safe_open

    from core.pipeline.bundle import decoder_face_embedder

    tmp = setup
    base = ["--preset", "tiny", "--data", str(tmp / "data"), "--init", str(tmp / "stage0")]
    assert stage13.main(base + ["--out", str(tmp / "clip-faces"), "--max-steps", "1"]) == 0
    earlier = KeyframeDecoderPipeline.from_pretrained(tmp / "clip-faces" / "decoder")
    vae_faces = ["--set", "face_embedder=vae", "--set", "face_size=16"]
    with pytest.raises(ValueError, match="does not fit"):  # widths differ: the CLIP face MLP cannot load
        stage13.main(
            base
            + vae_faces
            + ["--out", str(tmp / "refused"), "--set", f"init_decoder={tmp / 'clip-faces' / 'decoder'}"]
        )
    out = tmp / "vae-faces"
    started = {}
    original = stage13.start_from_decoder

    def spy(model, folder, **kwargs):
        original(model, folder, **kwargs)
        started.update({k: v.clone() for k, v in model.conditioner.state_dict().items()})

    stage13.start_from_decoder = spy
    try:
        run = base + vae_faces + ["--set", f"init_decoder={tmp / 'clip-faces' / 'decoder'}"]
        assert (
            stage13.main(run + ["--out", str(out), "--set", "fresh_face_mlp=true", "--max-steps", "2"]) == 0
        )
    finally:
        stage13.start_from_decoder = original
    for name, value in earlier.conditioner.state_dict().items():
        if name.startswith(("face_mlp.", "face_norm.")):
            assert started[name].shape[-1] != value.shape[-1] or not torch.equal(started[name], value), name
        else:
            assert torch.equal(started[name], value), name  # everything else continues
    decoder = KeyframeDecoderPipeline.from_pretrained(out / "decoder")
    config = decoder.conditioner.config
    assert (config.face_source, config.face_size, config.face_dim) == ("vae", 16, 8 * 4 * 4)
    assert decoder_face_embedder(decoder).embedding_dim == config.face_dim
    assert json.loads((out / "encoders.json").read_text())["face_embedder"] == "vae"
    with safe_open(out / "features" / "faces.safetensors", "pt") as f:
        assert f.get_tensor("rows").shape[1] == 8 * 4 * 4
