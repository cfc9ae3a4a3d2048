import pytest
import torch

from core.ar import build_batch
from core.ar.attention_mask import additive_causal_mask
from tests.core.ar.synthetic import make_sample, tiny_model


def test_no_position_ever_sees_a_later_one_whatever_is_masked():
    padding = torch.ones(3, 40, dtype=torch.long)
    padding[1, 30:] = 0
    for seed in range(5):
        mask = additive_causal_mask(padding, 0.5, torch.Generator().manual_seed(seed))
        visible = mask[:, 0] == 0  # (B, P, P)
        future = torch.triu(torch.ones(40, 40, dtype=torch.bool), diagonal=1)
        assert not bool((visible & future).any())
        assert bool(torch.diagonal(visible, dim1=1, dim2=2).all())  # never an empty softmax row


def test_key_masking_hides_about_p_of_the_earlier_keys_and_never_padding():
    padding = torch.ones(4, 400, dtype=torch.long)
    padding[2, 300:] = 0
    mask = additive_causal_mask(padding, 0.15, torch.Generator().manual_seed(0))
    last_query = mask[:, 0, -1, :-1] == 0  # what the last query sees of the earlier positions
    hidden_rate = 1 - last_query[[0, 1, 3]].float().mean().item()
    assert hidden_rate == pytest.approx(0.15, abs=0.03)
    assert not bool(last_query[2, 300:].any())
    # One decision per key: every later query sees the same subset of earlier keys.
    assert torch.equal(mask[0, 0, 200, :100], mask[0, 0, 399, :100])


def test_probability_one_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        additive_causal_mask(torch.ones(1, 3), 1.0)


def test_hidden_states_do_not_depend_on_later_inputs_under_key_masking():
    model = tiny_model()
    batch = build_batch(model, [make_sample(model.config, 4)])
    mask = additive_causal_mask(batch.attention_mask, 0.15, torch.Generator().manual_seed(3))
    cut = batch.inputs_embeds.shape[1] // 2
    changed = batch.inputs_embeds.clone()
    changed[:, cut:] = torch.randn_like(changed[:, cut:])
    with torch.no_grad():
        before = model(batch.inputs_embeds, attention_mask=mask).last_hidden_state
        after = model(changed, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(before[:, :cut], after[:, :cut])
    assert not torch.allclose(before[:, cut:], after[:, cut:])


def test_without_masking_the_additive_mask_equals_llamas_own_causal_mask():
    model = tiny_model()
    batch = build_batch(model, [make_sample(model.config, 3)])
    with torch.no_grad():
        ours = model(
            batch.inputs_embeds, attention_mask=additive_causal_mask(batch.attention_mask)
        ).last_hidden_state
        builtin = model(batch.inputs_embeds).last_hidden_state
    torch.testing.assert_close(ours, builtin, atol=1e-5, rtol=1e-5)
