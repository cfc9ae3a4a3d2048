import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler

from core.decoder.architectures import build_unet, build_vae, default_scheduler, sdxl_pooled_dim
from core.decoder.conditioning import DecoderConditioner
from core.decoder.pipeline import KeyframeDecoderPipeline, combine_guidance


def make_pipeline(unet_preset: str = "tiny") -> KeyframeDecoderPipeline:
    torch.manual_seed(0)
    vae = build_vae("tiny")
    unet = build_unet(unet_preset, cross_attention_dim=16, sample_size=(8, 14), pooled_dim=24)
    conditioner = DecoderConditioner(
        token_dim=8,
        num_tokens=2,
        context_dim=16,
        description_dim=12,
        face_dim=10,
        pooled_dim=sdxl_pooled_dim(unet),
    )
    pipe = KeyframeDecoderPipeline(unet.eval(), vae.eval(), default_scheduler(), conditioner.eval())
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def pipe():
    return make_pipeline()


def _inputs():
    g = torch.Generator().manual_seed(42)
    return (
        torch.randn(2, 2, 8, generator=g),
        torch.randn(2, 3, 12, generator=g),
        torch.randn(2, 2, 10, generator=g),
    )


def _render(pipe, seed, **kwargs):
    tokens, text, faces = _inputs()
    args = dict(text_embeds=text, face_embeds=faces, num_inference_steps=3, output_type="np")
    args.update(kwargs)
    return pipe(tokens, generator=torch.Generator().manual_seed(seed), **args).images


def test_output_shape_and_range(pipe):
    images = _render(pipe, 0)
    assert images.shape == (2, 32, 56, 3) == (2, *pipe.image_size, 3)
    assert np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0
    pil = _render(pipe, 0, output_type="pil")
    assert pil[0].size == (56, 32)
    latents = _render(pipe, 0, output_type="latent")
    assert latents.shape == (2, 4, 8, 14)


def test_fixed_generator_is_deterministic_and_the_seed_matters(pipe):
    a, b, c = _render(pipe, 0), _render(pipe, 0), _render(pipe, 1)
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_runs_with_or_without_the_extra_inputs(pipe):
    tokens, text, faces = _inputs()
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    full = pipe(tokens, text, faces, num_inference_steps=2, generator=g(), output_type="np").images
    tokens_only = pipe(tokens, num_inference_steps=2, generator=g(), output_type="np").images
    no_tokens = pipe(None, text, faces, num_inference_steps=2, generator=g(), output_type="np").images
    unconditional = pipe(batch_size=2, num_inference_steps=2, generator=g(), output_type="np").images
    assert full.shape == tokens_only.shape == no_tokens.shape == unconditional.shape
    assert np.abs(full - tokens_only).max() > 0
    no_guidance = pipe(
        tokens, num_inference_steps=2, guidance_scale=1.0, generator=g(), output_type="np"
    ).images
    assert np.abs(no_guidance - tokens_only).max() > 0


@pytest.mark.parametrize("scheduler_class", [EulerDiscreteScheduler, DPMSolverMultistepScheduler])
def test_any_diffusers_scheduler_works(pipe, scheduler_class):
    other = KeyframeDecoderPipeline(
        **{**pipe.components, "scheduler": scheduler_class.from_config(pipe.scheduler.config)}
    )
    other.set_progress_bar_config(disable=True)
    images = _render(other, 0)
    assert images.shape == (2, 32, 56, 3) and np.isfinite(images).all()


def test_save_and_load_round_trip_gives_identical_outputs(pipe, tmp_path):
    pipe.save_pretrained(tmp_path)
    loaded = KeyframeDecoderPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert type(loaded.conditioner) is DecoderConditioner
    assert np.array_equal(_render(pipe, 5), _render(loaded, 5))


def test_from_pretrained_accepts_local_folders_only(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        KeyframeDecoderPipeline.from_pretrained(tmp_path / "stabilityai-sdxl")


def test_tiny_sdxl_unet_takes_tokens_through_cross_attention_and_pooled_embeds():
    pipe = make_pipeline("tiny-sdxl")
    assert pipe.unet.config.addition_embed_type == "text_time"
    assert pipe.conditioner.pooled_proj is not None
    images = _render(pipe, 0)
    assert images.shape == (2, 32, 56, 3) and np.isfinite(images).all()
    # The pooled path matters: other tokens through the pooled projection alone change the image.
    with torch.no_grad():
        pipe.conditioner.pooled_proj.weight.mul_(5.0)
    assert np.abs(_render(pipe, 0) - images).max() > 0


def test_mismatched_components_are_refused():
    pipe = make_pipeline()
    wrong = DecoderConditioner(token_dim=8, num_tokens=2, context_dim=32, description_dim=12, face_dim=10)
    with pytest.raises(ValueError, match="cross-attention reads width 16"):
        KeyframeDecoderPipeline(pipe.unet, pipe.vae, pipe.scheduler, wrong)
    with pytest.raises(ValueError, match="at least 1 step"):
        pipe(torch.randn(1, 2, 8), num_inference_steps=0)
    with pytest.raises(ValueError, match="output_type"):
        pipe(torch.randn(1, 2, 8), output_type="jpeg")


def test_other_image_sizes_on_request(pipe):
    images = _render(pipe, 0, height=16, width=24)
    assert images.shape == (2, 16, 24, 3)
    with pytest.raises(ValueError, match="divisible"):
        _render(pipe, 0, height=18, width=24)


def test_a_v_prediction_zero_snr_decoder_survives_save_and_load(tmp_path):
    pipe = make_pipeline()
    pipe.scheduler = default_scheduler("v_zero_snr")
    before = _render(pipe, 3)
    assert np.isfinite(before).all()
    pipe.save_pretrained(tmp_path / "decoder")
    loaded = KeyframeDecoderPipeline.from_pretrained(tmp_path / "decoder")
    loaded.set_progress_bar_config(disable=True)
    assert (
        loaded.scheduler.config.rescale_betas_zero_snr
        and loaded.scheduler.config.prediction_type == "v_prediction"
    )
    np.testing.assert_allclose(_render(loaded, 3), before, atol=1e-5)


def test_combine_guidance_mixes_the_branches_like_instructpix2pix():
    null, no_faces, full = (torch.full((1, 2), v) for v in (1.0, 2.0, 4.0))
    assert torch.equal(combine_guidance((full,), None, None), full)
    assert torch.allclose(combine_guidance((null, full), 3.0, None), null + 3.0 * (full - null))
    assert torch.allclose(combine_guidance((no_faces, full), None, 2.0), no_faces + 2.0 * (full - no_faces))
    both = combine_guidance((null, no_faces, full), 3.0, 2.0)
    assert torch.allclose(both, null + 3.0 * (no_faces - null) + 2.0 * (full - no_faces))
    # equal scales are plain guidance towards the full condition
    assert torch.allclose(combine_guidance((null, no_faces, full), 2.5, 2.5), null + 2.5 * (full - null))


def test_identity_guidance_changes_the_image_only_when_there_are_faces(pipe):
    tokens, text, faces = _inputs()

    def render(faces_in, face_scale, guidance=1.0):
        return pipe(
            tokens,
            text,
            faces_in,
            num_inference_steps=2,
            guidance_scale=guidance,
            face_guidance_scale=face_scale,
            generator=torch.Generator().manual_seed(0),
            output_type="np",
        ).images

    assert np.abs(render(faces, 3.0) - render(faces, 1.0)).max() > 1e-4
    assert np.abs(render(faces, 3.0, guidance=2.0) - render(faces, 1.0, guidance=2.0)).max() > 1e-4
    # without faces there is no identity direction: the scale is ignored
    assert np.array_equal(render(None, 3.0), render(None, 1.0))
    # scale 1 is exactly the plain pipeline
    assert np.array_equal(render(faces, 1.0, guidance=2.0), render(faces, 0.0, guidance=2.0))


def test_the_output_of_a_fixed_seed_is_the_recorded_one(pipe):
    # diffusers' fast-test habit: a seeded tiny pipeline's output slice, recorded once. A change
    # to the sampling loop, the guidance mix, the conditioning or the VAE decode moves it.
    images = _render(pipe, 0)  # 3 steps, guidance 2.0 (the decoder's default), both inputs
    expected_corner = np.array(
        [0.263589, 0.550273, 0.668110, 0.299926, 0.401826, 0.581873, 0.406675, 0.395785, 0.529030]
    )  # image 0, last 3x3 pixels, blue
    expected_origin = np.array(
        [0.584499, 0.524243, 0.628062, 0.549178, 0.537009, 0.732973, 0.510608, 0.546222, 0.665689]
    )  # image 1, first 3x3 pixels, red
    np.testing.assert_allclose(images[0, -3:, -3:, -1].flatten(), expected_corner, atol=1e-3)
    np.testing.assert_allclose(images[1, :3, :3, 0].flatten(), expected_origin, atol=1e-3)
