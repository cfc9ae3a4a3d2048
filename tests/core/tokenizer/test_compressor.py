import pytest
import torch

from core.tokenizer.compressor import COMPRESSOR_PRESETS, TokenCompressor


def _tiny(**overrides) -> TokenCompressor:
    torch.manual_seed(0)
    return TokenCompressor(input_dim=32, num_patches=28, **{**COMPRESSOR_PRESETS["tiny"], **overrides}).eval()


def test_compressor_yields_L_tokens_of_width_d():
    compressor = _tiny()
    tokens = compressor(torch.randn(3, 28, 32))
    assert tokens.shape == (3, 2, 8)
    assert torch.isfinite(tokens).all()
    other = _tiny(num_tokens=3, token_dim=5)(torch.randn(3, 28, 32))
    assert other.shape == (3, 3, 5)


def test_tokens_have_a_fixed_scale_for_the_ar_mixture():
    tokens = _tiny()(torch.randn(4, 28, 32) * 10.0)
    assert torch.allclose(tokens.mean(-1), torch.zeros(4, 2), atol=1e-5)
    assert torch.allclose(tokens.var(-1, unbiased=False), torch.ones(4, 2), atol=1e-3)
    raw = _tiny(normalize_tokens=False)(torch.randn(4, 28, 32) * 10.0)
    assert not torch.allclose(raw.var(-1, unbiased=False), torch.ones(4, 2), atol=1e-2)


def test_every_parameter_learns():
    compressor = _tiny().train()
    compressor(torch.randn(2, 28, 32)).pow(2).sum().backward()
    missing = [
        n for n, p in compressor.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert missing == []


def test_the_squeeze_acts_on_the_token_axis():
    compressor = _tiny()
    assert tuple(compressor.squeeze.weight.shape) == (2, 28)  # (L, N)
    # Only the tokens the squeeze reads matter: zero weights for patch 5 make it irrelevant.
    with torch.no_grad():
        compressor.squeeze.weight[:, 5] = 0.0
        compressor.pre_blocks[0].self_attn.in_proj_weight.zero_()  # attention can no longer mix patches in
        compressor.pre_blocks[0].self_attn.in_proj_bias.zero_()
    x = torch.randn(1, 28, 32)
    y = x.clone()
    y[:, 5] += 5.0
    assert torch.allclose(compressor(x), compressor(y), atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    compressor = _tiny()
    compressor.save_pretrained(tmp_path)
    loaded = TokenCompressor.from_pretrained(tmp_path).eval()
    x = torch.randn(2, 28, 32)
    assert torch.equal(compressor(x), loaded(x))
    assert loaded.config.num_tokens == 2 and loaded.config.token_dim == 8


def test_wrong_input_shape_is_explained():
    with pytest.raises(ValueError, match=r"\(B, 28, 32\)"):
        _tiny()(torch.randn(2, 30, 32))
    with pytest.raises(ValueError, match="divisible"):
        TokenCompressor(input_dim=30, num_patches=4, num_heads=4)
