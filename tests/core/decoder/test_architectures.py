import pytest
import torch

from core.decoder.architectures import (
    UNET_PRESETS,
    VAE_PRESETS,
    build_unet,
    build_vae,
    load_sdxl,
    sdxl_pooled_dim,
)


@pytest.mark.parametrize("preset", ["default", "wide"])
def test_keyframe_vaes_map_keyframes_to_16_by_28_latents(preset):
    vae = build_vae(preset).eval()
    with torch.no_grad():
        latents = vae.encode(torch.zeros(1, 3, 128, 224)).latent_dist.mode()
        image = vae.decode(latents).sample
    assert latents.shape == (1, 4, 16, 28)
    assert image.shape == (1, 3, 128, 224)


def test_wide8_vae_keeps_the_16_by_28_grid_with_8_channels():
    vae = build_vae("wide8").eval()
    with torch.no_grad():
        latents = vae.encode(torch.zeros(1, 3, 128, 224)).latent_dist.mode()
        image = vae.decode(latents).sample
    assert latents.shape == (1, 8, 16, 28)
    assert image.shape == (1, 3, 128, 224)


def test_default_unet_denoises_default_latents():
    unet = build_unet("default", cross_attention_dim=256, sample_size=(16, 28)).eval()
    with torch.no_grad():
        out = unet(torch.randn(1, 4, 16, 28), 10, encoder_hidden_states=torch.randn(1, 22, 256)).sample
    assert out.shape == (1, 4, 16, 28) and torch.isfinite(out).all()
    assert sdxl_pooled_dim(unet) is None


def test_xattn_unet_attends_at_every_level_and_reads_8_channel_latents():
    unet = build_unet("xattn", cross_attention_dim=64, sample_size=(16, 28), latent_channels=8).eval()
    assert all("CrossAttn" in b for b in unet.config.down_block_types + unet.config.up_block_types)
    assert unet.config.mid_block_type == "UNetMidBlock2DCrossAttn"
    with torch.no_grad():
        out = unet(torch.randn(1, 8, 16, 28), 10, encoder_hidden_states=torch.randn(1, 22, 64)).sample
    assert out.shape == (1, 8, 16, 28) and torch.isfinite(out).all()


def test_sdxl_style_preset_needs_and_reports_its_pooled_width():
    with pytest.raises(ValueError, match="pooled_dim"):
        build_unet("tiny-sdxl", cross_attention_dim=16, sample_size=(8, 14))
    unet = build_unet("tiny-sdxl", cross_attention_dim=16, sample_size=(8, 14), pooled_dim=24)
    assert sdxl_pooled_dim(unet) == 24


def test_unknown_presets_and_missing_sdxl_folder_are_explained(tmp_path):
    with pytest.raises(ValueError, match="choose one of"):
        build_vae("huge")
    with pytest.raises(ValueError, match="choose one of"):
        build_unet("huge", cross_attention_dim=8, sample_size=(8, 8))
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_sdxl(tmp_path)
    assert {"tiny", "default", "wide"} <= set(VAE_PRESETS) and {"tiny", "tiny-sdxl", "default"} <= set(
        UNET_PRESETS
    )


def test_load_sdxl_reads_a_local_diffusers_folder(tmp_path):
    build_unet("tiny-sdxl", cross_attention_dim=16, sample_size=(8, 14), pooled_dim=24).save_pretrained(
        tmp_path / "unet"
    )
    build_vae("tiny").save_pretrained(tmp_path / "vae")
    unet, vae, scheduler = load_sdxl(tmp_path)
    assert sdxl_pooled_dim(unet) == 24 and vae.config.latent_channels == 4
    assert scheduler.config.prediction_type == "epsilon"
