"""The decoder's own face embedder: VAE latents of cast photos (core.encoders.face_latent)."""

import numpy as np
import pytest
import torch
from PIL import Image

from core.decoder.architectures import build_vae
from core.encoders.face_box import FaceBox
from core.encoders.face_latent import VaeFaceEmbedder


@pytest.fixture(scope="module")
def embedder():
    torch.manual_seed(0)
    return VaeFaceEmbedder(build_vae("tiny"), size=16)


def _photo(colour, size=(40, 40)):
    image = Image.new("RGB", size, (200, 200, 200))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    return image


def test_a_row_is_the_flattened_scaled_latent_of_the_resized_crop(embedder):
    vae = embedder.vae
    rows = embedder.embed_crops([_photo((255, 0, 0)), _photo((0, 0, 255))])
    assert rows.shape == (2, embedder.embedding_dim) == (2, vae.config.latent_channels * 4 * 4)
    pixels = embedder._pixels(_photo((255, 0, 0)))[None]
    with torch.no_grad():
        latent = vae.encode(pixels).latent_dist.mode() * vae.config.scaling_factor
    assert torch.allclose(rows[0], latent.flatten(), atol=1e-5)
    assert not torch.allclose(rows[0], rows[1], atol=1e-3)  # the colours reach the embedding
    assert torch.allclose(
        embedder.embed_crops([_photo((255, 0, 0))])[0], rows[0], atol=1e-5
    )  # alone = in a batch
    assert embedder.embed_crops([]).shape == (0, embedder.embedding_dim)


def test_a_crop_that_is_not_square_is_padded_not_stretched(embedder):
    tall = Image.new("RGB", (20, 40), (10, 200, 30))
    pixels = embedder._pixels(tall)  # (3, 16, 16) in [-1, 1]
    assert pixels.shape == (3, 16, 16)
    middle = pixels[:, 8, 8]
    assert torch.allclose(middle, torch.tensor([10, 200, 30]) / 127.5 - 1, atol=0.02)
    # the padding takes the crop's own edge colour, so a one-colour crop stays one colour
    assert float((pixels - middle[:, None, None]).abs().max()) < 0.02


def test_faces_are_cut_from_a_frame_by_their_boxes(embedder):
    frame = Image.new("RGB", (80, 60), (0, 0, 0))
    frame.paste(_photo((255, 255, 0), (20, 20)), (30, 20))
    (row,) = embedder.embed_faces(frame, [FaceBox(33, 23, 47, 37)])
    assert row.shape == (embedder.embedding_dim,) and bool(torch.isfinite(row).all())


def test_a_size_the_vae_cannot_divide_is_refused():
    with pytest.raises(ValueError, match="multiple of the VAE's downsampling 4"):
        VaeFaceEmbedder(build_vae("tiny"), size=18)


def test_the_conditioner_names_its_face_source():
    from core.decoder.conditioning import DecoderConditioner

    assert DecoderConditioner().config.face_source == "face_encoder"
    with pytest.raises(ValueError, match="face_source is 'pixels'"):
        DecoderConditioner(face_source="pixels")
    np.testing.assert_equal(DecoderConditioner(face_source="vae", face_size=32).config.face_size, 32)
