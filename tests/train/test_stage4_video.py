import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from train import stage4_video


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # two OpenMP threads of a tiny model spin against each other on a busy 2-core machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _clips(root, movies=2, clips=2, frames=6):
    """Toy-cinema layout with synthetic motion: a textured strip sliding right."""
    rng = np.random.default_rng(0)
    for m in range(movies):
        folder = root / "train" / f"movie{m}" / "clips"
        folder.mkdir(parents=True)
        for c in range(clips):
            strip = rng.integers(0, 255, (128, 224 + 4 * frames, 3), dtype=np.uint8)
            np.savez(
                folder / f"{c:06d}.npz",
                frames=np.stack([strip[:, 4 * t : 4 * t + 224] for t in range(frames)]),
            )
    return root


def _log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_help_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        stage4_video.main(["--help"])
    assert exit_info.value.code == 0
    assert "--init" in capsys.readouterr().out


def test_two_steps_then_resume_and_export(tmp_path):
    data = _clips(tmp_path / "data")
    out = tmp_path / "run"
    argv = ["--preset", "tiny", "--data", str(data), "--out", str(out)]
    assert stage4_video.main([*argv, "--max-steps", "2"]) == 0
    first = _log(out)
    assert [r["step"] for r in first] == [1, 2]
    assert [r["phase"] for r in first] == ["vae", "unet"]
    assert all(np.isfinite(r["loss"]) for r in first)
    assert (out / "checkpoints" / "step_00000002").is_dir()

    assert (out / "latent_cache_rank0.safetensors").is_file()  # the unet step's frames, for a resume
    assert stage4_video.main(argv) == 0  # resumes at step 2, runs the last step, exports
    assert [r["step"] for r in _log(out)] == [1, 2, 3]

    from core.video.loading import load_video_pipeline

    pipe = load_video_pipeline(out / "video")
    assert pipe.vae.config.scaling_factor != pytest.approx(0.5)  # measured, not the preset's guess
    image = np.random.default_rng(1).integers(0, 255, (32, 56, 3), dtype=np.uint8)
    frames = pipe(
        image, last_image=image, num_inference_steps=2, generator=torch.Generator().manual_seed(0)
    ).frames
    assert frames.shape == (1, 4, 32, 56, 3) and np.isfinite(frames).all()


def test_a_stage0_run_provides_the_clip_and_vae(tmp_path):
    from core.encoders.open_clip_encoder import OpenClipEncoder
    from core.video.config import build_vae, preset
    from core.video.image_embedder import OpenClipImageEmbedder
    from core.video.loading import load_video_pipeline

    init = tmp_path / "stage0"
    OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).save_pretrained(init / "clip")
    stage0_vae = build_vae(replace(preset("tiny"), vae_layers_per_block=2, vae_mid_attention=True))
    stage0_vae.register_to_config(scaling_factor=0.73)
    stage0_vae.save_pretrained(init / "vae")
    data = _clips(tmp_path / "data", movies=1)
    out = tmp_path / "run"
    assert (
        stage4_video.main(
            [
                "--preset",
                "tiny",
                "--data",
                str(data),
                "--out",
                str(out),
                "--init",
                str(init),
                "--set",
                "steps=1",
            ]
        )
        == 0
    )
    assert [r["phase"] for r in _log(out)] == ["unet"]  # stage 0's VAE is reused, not retrained
    pipe = load_video_pipeline(out / "video")
    assert isinstance(pipe.image_encoder, OpenClipImageEmbedder)
    # video_config.json describes stage 0's VAE, not the preset's
    described = json.loads((out / "video" / "video_config.json").read_text())
    assert described["vae_layers_per_block"] == 2 and described["vae_mid_attention"] is True
    assert described["vae_scaling_factor"] == pytest.approx(0.73)
    assert pipe.vae.config.layers_per_block == 2


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="pretrained"):
        stage4_video.main(["--preset", "paper", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    with pytest.raises(FileNotFoundError, match="No motion clips"):
        stage4_video.main(["--preset", "tiny", "--data", str(tmp_path), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("objective", ["ddpm_v", "edm"])
def test_both_objectives_give_finite_losses_and_gradients(objective):
    from core.video.config import build_training_scheduler

    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    frames = torch.rand(2, parts.model.num_frames, 3, parts.model.height, parts.model.width) * 2 - 1
    generator = torch.Generator().manual_seed(0)
    loss = stage4_video.diffusion_loss(
        parts, parts.unet, frames, objective, build_training_scheduler(parts.model), generator
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert parts.unet.conv_in.weight.grad is not None and torch.isfinite(parts.unet.conv_in.weight.grad).all()
    assert all(p.grad is None for p in parts.image_encoder.parameters())  # the anchor tower stays frozen


def test_the_anchor_keyframe_and_first_latent_dropout_reach_the_conditioning():
    from core.video.image_embedder import embed_images

    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    m = parts.model
    frames = torch.rand(2, m.num_frames, 3, m.height, m.width) * 2 - 1
    keyframes = torch.rand(2, 3, m.height, m.width) * 2 - 1
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    with torch.no_grad():
        key = embed_images(parts.image_encoder, (keyframes + 1) / 2, None)
        window = embed_images(parts.image_encoder, (frames[:, 0] + 1) / 2, None)
        options = {"keyframes": keyframes, "first_latent_dropout": 0.0}
        anchored = stage4_video.conditioning(parts, frames, g(), anchor_keyframe_prob=1.0, **options)
        plain = stage4_video.conditioning(parts, frames, g(), anchor_keyframe_prob=0.0, **options)
        dropped = stage4_video.conditioning(
            parts, frames, g(), keyframes=keyframes, first_latent_dropout=1.0, anchor_keyframe_prob=0.0
        )
    kept = anchored["embedding"].abs().sum(dim=(1, 2)) > 0  # the embedding's own dropout may hit a sample
    assert kept.any()
    assert torch.allclose(anchored["embedding"][kept, 0], key[kept], atol=1e-5)
    assert torch.allclose(plain["embedding"][kept, 0], window[kept], atol=1e-5)
    assert not torch.allclose(key, window)
    c = m.latent_channels
    assert dropped["condition"][:, :, :c].abs().max() == 0  # every first latent dropped
    assert plain["condition"][:, :, :c].abs().max() > 0


def test_windows_come_with_their_clips_keyframe(tmp_path):
    files = stage4_video.clip_files(_clips(tmp_path, movies=1, clips=1, frames=6))
    windows = stage4_video.ClipWindows(files, num_frames=4, size=(128, 224))
    frames, keyframes = windows.batch_with_keyframes([0], torch.Generator().manual_seed(3))
    assert frames.shape == (1, 4, 3, 128, 224) and keyframes.shape == (1, 3, 128, 224)
    with np.load(files[0]) as data:
        first = torch.from_numpy(data["frames"][0]).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(keyframes[0], first)


def test_the_latent_cache_encodes_each_frame_once_and_changes_no_loss(tmp_path):
    from core.video.config import build_training_scheduler

    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    m = parts.model
    files = stage4_video.clip_files(_clips(tmp_path, movies=1, clips=2, frames=m.num_frames + 2))
    windows = stage4_video.ClipWindows(files, num_frames=m.num_frames, size=(m.height, m.width))
    frames, _, keys = windows.sample([0, 1], torch.Generator().manual_seed(3))
    assert [clip for clip, _ in keys] == [0, 1]
    cache = stage4_video.LatentCache(parts.vae)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    schedule = build_training_scheduler(m)
    with torch.no_grad():
        direct = stage4_video.diffusion_loss(parts, parts.unet, frames, "ddpm_v", schedule, g())
        cached = stage4_video.diffusion_loss(
            parts, parts.unet, frames, "ddpm_v", schedule, g(), latents=cache.latents(frames, keys)
        )
    assert cached == pytest.approx(float(direct), rel=1e-4)
    assert len(cache) == cache.encoded == 2 * m.num_frames

    # a window overlapping a cached one encodes only its new frames, and they are the same latents
    clip, start = keys[0]
    shifted_start = start + 1 if start + 1 + m.num_frames <= m.num_frames + 2 else start - 1
    with np.load(files[clip]) as data:
        raw = data["frames"][shifted_start : shifted_start + m.num_frames]
    shifted = torch.nn.functional.interpolate(
        torch.from_numpy(raw).permute(0, 3, 1, 2).float() / 127.5 - 1,
        size=(m.height, m.width),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )[None]
    again = cache.latents(shifted, [(clip, shifted_start)])
    assert cache.encoded == 2 * m.num_frames + 1
    with torch.no_grad():
        fresh = stage4_video.encode_condition_latents(parts.vae, shifted[0]) * parts.vae.config.scaling_factor
    assert torch.allclose(again[0], fresh, atol=1e-5)


def test_a_saved_latent_cache_is_reused_only_by_the_same_vae_and_clips(tmp_path):
    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    m = parts.model
    files = stage4_video.clip_files(_clips(tmp_path / "data", movies=1, clips=2, frames=m.num_frames))
    windows = stage4_video.ClipWindows(files, num_frames=m.num_frames, size=(m.height, m.width))
    frames, _, keys = windows.sample([0, 1], torch.Generator().manual_seed(3))
    path = tmp_path / "latent_cache_rank0.safetensors"
    first = stage4_video.LatentCache(parts.vae, path, identity="clips A")
    expected = first.latents(frames, keys)
    first.save()
    assert path.is_file() and not path.with_name(path.name + ".tmp").exists()

    resumed = stage4_video.LatentCache(parts.vae, path, identity="clips A")
    assert len(resumed) == 2 * m.num_frames
    assert torch.equal(resumed.latents(frames, keys), expected)
    assert resumed.encoded == 0  # nothing encoded again

    assert len(stage4_video.LatentCache(parts.vae, path, identity="clips B")) == 0
    other_vae = stage4_video.build_components(stage4_video.PRESETS["tiny"] | {"seed": 1}, None).vae
    with torch.no_grad():
        next(other_vae.encoder.parameters()).add_(0.01)
    assert len(stage4_video.LatentCache(other_vae, path, identity="clips A")) == 0


def test_degraded_first_frames_reach_the_first_latent_while_the_target_stays_sharp():
    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    m = parts.model
    frames = torch.rand(2, m.num_frames, 3, m.height, m.width) * 2 - 1
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    with torch.no_grad():
        degraded = stage4_video.degrade_frames(parts.vae, frames[:, 0], 1.5, g())
        options = {"first_latent_dropout": 0.0}
        clean = stage4_video.conditioning(parts, frames, g(), degrade_first_prob=0.0, **options)
        worse = stage4_video.conditioning(
            parts, frames, g(), degrade_first_prob=1.0, degrade_blur=1.5, **options
        )
    assert degraded.shape == frames[:, 0].shape and degraded.abs().max() <= 1
    assert not torch.allclose(degraded, frames[:, 0], atol=1e-3)
    c = m.latent_channels
    assert not torch.allclose(clean["condition"][:, :, :c], worse["condition"][:, :, :c], atol=1e-4)


def test_colour_degradation_shifts_the_palette_of_the_round_trip_only_when_asked():
    parts = stage4_video.build_components(stage4_video.PRESETS["tiny"], None)
    m = parts.model
    frames = torch.rand(3, 3, m.height, m.width) * 2 - 1
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    with torch.no_grad():
        plain = stage4_video.degrade_frames(parts.vae, frames, 0.0, g())
        shifted = stage4_video.degrade_frames(parts.vae, frames, 0.0, g(), colour=0.3)
        again = stage4_video.degrade_frames(parts.vae, frames, 0.0, g(), colour=0.3)
    assert torch.equal(shifted, again)  # the generator decides the shift
    assert shifted.shape == frames.shape and shifted.abs().max() <= 1
    # every frame's mean colour moves (gain and offset per channel), by at most what colour allows
    moved = (shifted - plain).mean(dim=(2, 3)).abs()  # (B, 3)
    assert bool((moved.amax(dim=1) > 1e-3).all())
    assert float(moved.max()) <= 0.3 * 2 + 0.15 + 1e-4


def test_a_run_can_start_from_an_earlier_runs_unet(tmp_path):
    from core.video.config import build_unet, preset

    cfg = stage4_video.PRESETS["tiny"]
    donor = build_unet(preset("tiny"))
    with torch.no_grad():
        donor.conv_in.weight.fill_(0.25)
    donor.save_pretrained(tmp_path / "video" / "unet")
    parts = stage4_video.build_components(cfg | {"unet_init": str(tmp_path / "video")}, None)
    assert torch.equal(parts.unet.conv_in.weight, donor.conv_in.weight)

    build_unet(preset("tiny", first_last=False)).save_pretrained(tmp_path / "other" / "unet")
    with pytest.raises(ValueError, match="in_channels"):
        stage4_video.build_components(cfg | {"unet_init": str(tmp_path / "other")}, None)
    with pytest.raises(FileNotFoundError, match="unet/config.json"):
        stage4_video.build_components(cfg | {"unet_init": str(tmp_path / "missing")}, None)
