import numpy as np
import pytest
import torch

from core.video.config import (
    build_random_pipeline,
    build_scheduler,
    build_unet,
    build_vae,
    preset,
)
from core.video.image_embedder import OpenClipImageEmbedder
from core.video.loading import load_video_pipeline, save_video_pipeline
from core.video.pipeline import AnchoredVideoPipeline

CFG = preset("tiny")


def _frames(pipe, image, **kwargs):
    return pipe(image, num_inference_steps=2, generator=torch.Generator().manual_seed(0), **kwargs).frames


def _image():
    return np.random.default_rng(0).integers(0, 255, (CFG.height, CFG.width, 3), dtype=np.uint8)


def test_our_folder_round_trips(tmp_path):
    pipe = build_random_pipeline(CFG)
    save_video_pipeline(pipe, tmp_path / "video")
    loaded = load_video_pipeline(tmp_path / "video")
    assert loaded.first_last
    assert np.allclose(_frames(pipe, _image()), _frames(loaded, _image()), atol=1e-5)


def test_a_stable_video_diffusion_folder_loads_from_a_local_path(tmp_path):
    """Paper scale: the SVD layout, here with tiny random weights written by diffusers itself."""
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 32),
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=16,
        num_attention_heads=(2, 2),
        layers_per_block=1,
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
        in_channels=8,
        out_channels=4,
        num_frames=3,
    )
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D",) * 2,
        latent_channels=4,
        layers_per_block=1,
    )
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=16,
            patch_size=8,
            projection_dim=16,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        prediction_type="v_prediction",
        interpolation_type="linear",
        use_karras_sigmas=True,
        sigma_min=0.002,
        sigma_max=700.0,
        timestep_type="continuous",
        timestep_spacing="leading",
        steps_offset=1,
    )
    extractor = CLIPImageProcessor(crop_size=16, size=16)
    StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler, feature_extractor=extractor
    ).save_pretrained(tmp_path / "svd")

    pipe = load_video_pipeline(tmp_path / "svd")
    assert isinstance(pipe.vae, AutoencoderKLTemporalDecoder)
    assert not pipe.first_last
    frames = _frames(pipe, np.zeros((32, 48, 3), np.uint8) + 90, num_segments=2, max_guidance_scale=2.5)
    assert frames.shape == (1, 3 + 2, 32, 48, 3)
    assert np.isfinite(frames).all()


@pytest.mark.parametrize("anchor_tokens", [False, True])
def test_an_open_clip_anchor_tower_is_saved_beside_the_model(tmp_path, anchor_tokens):
    from core.encoders.open_clip_encoder import OpenClipEncoder

    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).freeze()
    tower = OpenClipImageEmbedder(clip.model, clip.image_size, clip.mean, clip.std)
    cfg = preset("tiny", image_embed_dim=clip.embed_dim)
    torch.manual_seed(0)
    pipe = AnchoredVideoPipeline(
        vae=build_vae(cfg).eval(),
        image_encoder=tower,
        unet=build_unet(cfg).eval(),
        scheduler=build_scheduler(cfg),
        anchor_tokens=anchor_tokens,
    )
    with pytest.raises(ValueError, match="clip_encoder"):
        save_video_pipeline(pipe, tmp_path / "nope")
    save_video_pipeline(pipe, tmp_path / "video", clip_encoder=clip)
    loaded = load_video_pipeline(tmp_path / "video")
    assert isinstance(loaded.image_encoder, OpenClipImageEmbedder)
    assert loaded.config.anchor_tokens is anchor_tokens  # the context the UNet was trained on
    assert np.allclose(_frames(pipe, _image()), _frames(loaded, _image()), atol=1e-5)


def test_missing_folders_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        load_video_pipeline(tmp_path)
