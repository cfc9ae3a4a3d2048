import pytest
import torch

from core.video.config import build_image_encoder, preset
from core.video.image_embedder import OpenClipImageEmbedder, embed_images


def test_transformers_tower_gives_pooled_embedding_then_projected_patch_tokens():
    cfg = preset("tiny")
    tower = build_image_encoder(cfg)
    pixels = torch.rand(2, 3, cfg.height, cfg.width)
    pooled = embed_images(tower, pixels)
    tokens = embed_images(tower, pixels, tokens=True)
    patches = (cfg.encoder_image_size // cfg.encoder_patch) ** 2
    assert pooled.shape == (2, cfg.image_embed_dim)
    assert tokens.shape == (2, 1 + patches, cfg.image_embed_dim)
    assert torch.allclose(tokens[:, 0], pooled, atol=1e-6)  # row 0 is SVD's image_embeds
    # the patch tokens carry where things are: they change when the image is mirrored
    mirrored = embed_images(tower, pixels.flip(-1), tokens=True)
    assert not torch.allclose(mirrored[:, 1:], tokens[:, 1:], atol=1e-4)


def test_open_clip_tower_gives_the_same_layout():
    from core.encoders.open_clip_encoder import OpenClipEncoder

    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).freeze()
    tower = OpenClipImageEmbedder(clip.model, clip.image_size, clip.mean, clip.std)
    pixels = torch.rand(3, 3, 40, 70)  # resized to the tower's own input size
    pooled = embed_images(tower, pixels)
    tokens = embed_images(tower, pixels, tokens=True)
    height, width = clip.image_size
    patch = clip.model.visual.patch_size
    assert tokens.shape == (3, 1 + (height // patch[0]) * (width // patch[1]), clip.embed_dim)
    assert torch.allclose(tokens[:, 0], pooled, atol=1e-5)
    assert torch.isfinite(tokens).all()


def test_a_tower_that_cannot_give_tokens_is_refused_clearly():
    tower = lambda pixels: torch.zeros(pixels.shape[0], 8)  # noqa: E731
    assert embed_images(tower, torch.rand(2, 3, 8, 8)).shape == (2, 8)
    with pytest.raises(ValueError, match=r"image tokens per image, shape \(B, N, D\)"):
        embed_images(tower, torch.rand(2, 3, 8, 8), tokens=True)
