import pytest
import torch
from PIL import Image

from core.encoders.open_clip_encoder import (
    ClipImageTransform,
    OpenClipEncoder,
    available_architectures,
    letterbox,
)


@pytest.fixture(scope="module")
def clip():
    return OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0).freeze()


def _images():
    return [Image.new("RGB", (224, 128), (200, 30, 30)), Image.new("RGB", (128, 128), (20, 90, 200))]


def test_our_architectures_are_registered_and_sized(clip):
    assert {"moviedreamer-clip-tiny", "moviedreamer-clip-default"} <= set(available_architectures())
    assert clip.image_size == (32, 56)
    assert clip.num_patches == 4 * 7
    assert clip.token_width == 32 and clip.embed_dim == 32


def test_spatial_tokens_and_embeddings_have_the_documented_shapes(clip):
    pixels = clip.to_pixels(_images())
    assert pixels.shape == (2, 3, 32, 56)
    pooled, tokens = clip.encode_image_tokens(pixels)
    assert pooled.shape == (2, 32) and tokens.shape == (2, 28, 32)
    assert torch.isfinite(tokens).all()
    image = clip.embed_images(pixels)
    text = clip.embed_texts(["Mara walks on the beach.", "Tom sits in the kitchen."])
    assert torch.allclose(image.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    scores = clip.clip_score(_images(), ["a red frame", "a blue face"])
    assert scores.shape == (2,) and (scores.abs() <= 100.0 + 1e-3).all()


def test_letterbox_keeps_the_aspect_ratio_and_pads():
    square = Image.new("RGB", (128, 128), (255, 255, 255))
    boxed = letterbox(square, (32, 56), (0, 0, 0))
    assert boxed.size == (56, 32)
    # A 32x32 white square centred between black bars.
    assert boxed.getpixel((28, 16)) == (255, 255, 255)
    assert boxed.getpixel((2, 16)) == (0, 0, 0) and boxed.getpixel((53, 16)) == (0, 0, 0)
    pixels = ClipImageTransform((32, 56))(square)
    assert pixels.shape == (3, 32, 56)


def test_save_and_load_round_trip_gives_identical_outputs(clip, tmp_path):
    clip.save_pretrained(tmp_path / "clip")
    loaded = OpenClipEncoder.from_pretrained(tmp_path / "clip").freeze()
    pixels = clip.to_pixels(_images())
    assert torch.equal(clip.encode_image_tokens(pixels)[1], loaded.encode_image_tokens(pixels)[1])
    assert torch.equal(clip.embed_texts(["a sentence"]), loaded.embed_texts(["a sentence"]))
    # The folder is open_clip's own local-dir layout.
    import open_clip

    model = open_clip.create_model(f"local-dir:{tmp_path / 'clip'}")
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in clip.model.parameters())


def test_freeze_stops_gradients(clip):
    assert not any(p.requires_grad for p in clip.model.parameters())
    assert not clip.model.training


def test_clear_errors(clip, tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        OpenClipEncoder.build("no-such-architecture")
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        OpenClipEncoder.from_checkpoint("ViT-L-14", tmp_path / "missing.bin")
    with pytest.raises(FileNotFoundError, match="open_clip_config.json"):
        OpenClipEncoder.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 56\)"):
        clip.encode_image_tokens(torch.zeros(1, 3, 64, 64))
    with pytest.raises(ValueError, match="No images"):
        clip.to_pixels([])


def test_from_checkpoint_reads_a_local_weights_file(clip, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.save(clip.model.state_dict(), path)
    loaded = OpenClipEncoder.from_checkpoint("moviedreamer-clip-tiny", path).freeze()
    pixels = clip.to_pixels(_images())
    assert torch.equal(clip.embed_images(pixels), loaded.embed_images(pixels))
    # A longer text context (LongCLIP-style) is set on both the tower and the tokenizer.
    longer = OpenClipEncoder.from_checkpoint("moviedreamer-clip-tiny", path, context_length=24)
    assert longer.tokenize(["a sentence"]).shape == (1, 24)
    assert longer.model_cfg["text_cfg"]["context_length"] == 24


def test_a_model_saved_without_its_text_tower_gives_the_same_image_outputs(clip, tmp_path):
    from core.encoders.descriptions import OpenClipTextDescriptionEncoder

    clip.save_pretrained(tmp_path / "full")
    clip.save_pretrained(tmp_path / "image", text_tower=False)
    full_bytes = (tmp_path / "full" / "open_clip_model.safetensors").stat().st_size
    image_bytes = (tmp_path / "image" / "open_clip_model.safetensors").stat().st_size
    assert image_bytes < full_bytes / 2  # the tiny tower's token table dominates, as in the bundle
    rng_before = torch.random.get_rng_state()
    loaded = OpenClipEncoder.from_pretrained(tmp_path / "image").freeze()
    assert torch.equal(rng_before, torch.random.get_rng_state())
    assert not loaded.has_text_tower and clip.has_text_tower
    pixels = clip.to_pixels(_images())
    assert torch.equal(clip.encode_image_tokens(pixels)[1], loaded.encode_image_tokens(pixels)[1])
    assert torch.equal(clip.embed_images(pixels), loaded.embed_images(pixels))
    with pytest.raises(NotImplementedError, match="without its text tower"):
        loaded.embed_texts(["a sentence"])
    with pytest.raises(ValueError, match="without its text tower"):
        OpenClipTextDescriptionEncoder(loaded)
    # saving it again keeps it image-only; asking for a text tower it lacks is refused
    loaded.save_pretrained(tmp_path / "again")
    assert OpenClipEncoder.from_pretrained(tmp_path / "again").has_text_tower is False
    with pytest.raises(ValueError, match="no text tower"):
        loaded.save_pretrained(tmp_path / "bad", text_tower=True)
