import pytest
import torch
from PIL import Image

from core.encoders.open_clip_encoder import OpenClipEncoder
from core.tokenizer.compressor import COMPRESSOR_PRESETS, TokenCompressor
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer


@pytest.fixture()
def tokenizer():
    torch.manual_seed(0)
    clip = OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0)
    return KeyframeTokenizer.build(clip, **COMPRESSOR_PRESETS["tiny"])


def _frames(n=3):
    return [Image.new("RGB", (224, 128), (40 * i, 100, 200 - 40 * i)) for i in range(n)]


def test_encode_gives_L_tokens_of_width_d(tokenizer):
    tokens = tokenizer.encode(_frames(3), batch_size=2)
    assert tokens.shape == (3, tokenizer.num_tokens, tokenizer.token_dim) == (3, 2, 8)
    assert torch.isfinite(tokens).all()
    assert not torch.allclose(tokens[0], tokens[2])


def test_only_the_compressor_learns(tokenizer):
    tokenizer.compressor.train()
    pixels = tokenizer.clip.to_pixels(_frames(2))
    tokenizer.encode_pixels(pixels).sum().backward()
    assert all(p.grad is None for p in tokenizer.clip.model.parameters())
    assert all(p.grad is not None for p in tokenizer.compressor.parameters())


def test_save_and_load_round_trip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = KeyframeTokenizer.from_pretrained(tmp_path)
    assert torch.equal(tokenizer.encode(_frames(2)), loaded.encode(_frames(2)))


def test_mismatched_parts_are_refused(tokenizer, tmp_path):
    wrong = TokenCompressor(input_dim=64, num_patches=28, **COMPRESSOR_PRESETS["tiny"])
    with pytest.raises(ValueError, match="build the compressor for this CLIP tower"):
        KeyframeTokenizer(tokenizer.clip, wrong)
    with pytest.raises(FileNotFoundError, match="compressor"):
        KeyframeTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="No keyframes"):
        tokenizer.encode([])
