import pytest
import torch
from transformers import LlamaConfig, LlamaModel

from core.ar.incremental import MIN_CAPACITY, IncrementalLlama, unsupported_reason
from tests.core.ar.synthetic import tiny_model


def _full(backbone, history: list[torch.Tensor]) -> torch.Tensor:
    """transformers' forward over the whole history: hidden state (H,) of the last position."""
    return backbone(inputs_embeds=torch.cat(history)[None]).last_hidden_state[0, -1]


@pytest.mark.parametrize("kv_heads", [2, 4])  # grouped-query and plain multi-head attention
def test_feeding_chunks_equals_the_full_forward_across_buffer_growth(kv_heads):
    backbone = tiny_model(num_kv_heads=kv_heads).backbone.eval()
    incremental = IncrementalLlama(backbone)
    g = torch.Generator().manual_seed(0)
    history = []
    with torch.no_grad():
        # A first chunk (causal, empty cache), single positions, chunks over a cache, and a
        # chunk that outgrows the preallocated buffer.
        for n in (7, 1, 30, 1, 2 * MIN_CAPACITY, 3):
            chunk = torch.randn(n, backbone.config.hidden_size, generator=g)
            history.append(chunk)
            torch.testing.assert_close(
                incremental.feed(chunk), _full(backbone, history), atol=2e-5, rtol=1e-5
            )
    assert incremental.length == sum(chunk.shape[0] for chunk in history)
    assert incremental.keys.shape[2] >= incremental.length > MIN_CAPACITY


def test_truncating_keeps_the_first_positions_and_forgets_the_rest():
    backbone = tiny_model().backbone.eval()
    incremental = IncrementalLlama(backbone)
    g = torch.Generator().manual_seed(1)
    prefix, old, new = (torch.randn(n, backbone.config.hidden_size, generator=g) for n in (5, 40, 12))
    with torch.no_grad():
        incremental.feed(prefix)
        incremental.feed(old)
        assert incremental.truncate(5) == 5
        torch.testing.assert_close(
            incremental.feed(new), _full(backbone, [prefix, new]), atol=2e-5, rtol=1e-5
        )
    assert incremental.forward_positions == 57


def test_a_backbone_it_does_not_cover_is_named_with_the_reason():
    tiny = tiny_model().backbone.config
    config = LlamaConfig(
        vocab_size=tiny.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=4,
        rope_parameters={"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0},
    )
    backbone = LlamaModel(config)
    assert "changes with the sequence length" in unsupported_reason(backbone)
    with pytest.raises(ValueError, match="cannot run this backbone"):
        IncrementalLlama(backbone)
    assert unsupported_reason(tiny_model().backbone) is None


def test_evicting_a_span_in_one_layer_equals_a_cache_that_never_held_it():
    # A first layer's keys and values depend only on their own positions: after the eviction
    # (later keys moved up and rotated back) the cache is exactly one fed without the span.
    backbone = tiny_model(num_layers=1).backbone.eval()
    incremental = IncrementalLlama(backbone)
    g = torch.Generator().manual_seed(2)
    prefix, old, kept, new = (
        torch.randn(n, backbone.config.hidden_size, generator=g) for n in (5, 23, 40, 7)
    )
    with torch.no_grad():
        incremental.feed(torch.cat([prefix, old]))
        incremental.feed(kept)
        assert incremental.evict(5, 23) == 45
        torch.testing.assert_close(
            incremental.feed(new), _full(backbone, [prefix, kept, new]), atol=2e-5, rtol=1e-5
        )
    assert incremental.length == 52


def test_evicting_in_deeper_layers_keeps_the_layout_but_not_every_number():
    backbone = tiny_model(num_layers=2).backbone.eval()
    g = torch.Generator().manual_seed(3)
    prefix, old, kept, new = (
        torch.randn(n, backbone.config.hidden_size, generator=g) for n in (5, 23, 40, 7)
    )
    with torch.no_grad():
        rolled = IncrementalLlama(backbone)
        rolled.feed(torch.cat([prefix, old, kept]))
        rolled.evict(5, 23)
        out = rolled.feed(new)
        exact = _full(backbone, [prefix, kept, new])
        # the second layer of `kept` once attended to `old`: close, not equal
        difference = float((out - exact).abs().max())
        assert 1e-6 < difference < 0.05
        with pytest.raises(ValueError, match="cache holds 52"):
            rolled.evict(40, 20)
        assert rolled.evict(3, 0) == 52
