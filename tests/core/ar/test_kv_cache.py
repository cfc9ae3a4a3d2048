import torch
from transformers import DynamicCache

from core.ar.kv_cache import MIN_CAPACITY, growing_cache
from tests.core.ar.synthetic import tiny_model


def test_growing_cache_gives_the_same_hidden_states_as_dynamic_cache_across_regrowth():
    model = tiny_model()
    config = model.backbone.config
    chunks = [
        torch.randn(1, n, model.hidden_size, generator=torch.Generator().manual_seed(n))
        for n in (200, 1, 90, 3, 300)
    ]
    ours, reference = growing_cache(config.num_hidden_layers), DynamicCache(config=config)
    with torch.no_grad():
        for chunk in chunks:  # 200 + 1 + 90 + 3 + 300 positions: the 256-slot buffer grows twice
            a = model(chunk, past_key_values=ours, use_cache=True).last_hidden_state
            b = model(chunk, past_key_values=reference, use_cache=True).last_hidden_state
            torch.testing.assert_close(a, b)
    assert ours.get_seq_length() == reference.get_seq_length() == 594
    assert ours.layers[0]._key_buffer.shape[-2] >= 594 > 2 * MIN_CAPACITY


def test_cropping_forgets_the_last_positions():
    model = tiny_model()
    config = model.backbone.config
    ours, reference = growing_cache(config.num_hidden_layers), DynamicCache(config=config)
    prefix, tail, more = (torch.randn(1, n, model.hidden_size) for n in (10, 5, 4))
    with torch.no_grad():
        for cache in (ours, reference):
            model(torch.cat([prefix, tail], 1), past_key_values=cache, use_cache=True)
            cache.crop(-5)
        a = model(more, past_key_values=ours, use_cache=True).last_hidden_state
        b = model(more, past_key_values=reference, use_cache=True).last_hidden_state
    torch.testing.assert_close(a, b)
    assert ours.get_seq_length() == 14
