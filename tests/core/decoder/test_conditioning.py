import pytest
import torch

from core.decoder.conditioning import DecoderConditioner


def _conditioner(**overrides) -> DecoderConditioner:
    torch.manual_seed(0)
    config = dict(
        token_dim=8,
        num_tokens=2,
        context_dim=16,
        description_dim=12,
        face_dim=10,
        max_descriptions=15,
        max_faces=5,
    )
    return DecoderConditioner(**{**config, **overrides})


def test_context_layout_and_shapes():
    cond = _conditioner(pooled_dim=24).eval()
    out = cond(torch.randn(3, 2, 8), torch.randn(3, 4, 12), torch.randn(3, 2, 10))
    assert out.context.shape == (3, 2 + 15 + 5, 16)
    assert out.pooled.shape == (3, 24)
    assert torch.isfinite(out.context).all()
    expected_present = [True] * 2 + [True] * 4 + [False] * 11 + [True] * 2 + [False] * 3
    assert out.present[0].tolist() == expected_present
    assert torch.equal(out.kept, out.present)  # eval: nothing masked


def test_the_pipeline_runs_without_extra_inputs():
    cond = _conditioner().eval()
    only_tokens = cond(torch.randn(2, 2, 8))
    assert only_tokens.context.shape == (2, 22, 16)
    assert only_tokens.present[:, 2:].sum() == 0
    no_tokens = cond(description_embeds=torch.randn(2, 1, 12))
    assert no_tokens.present[:, :2].sum() == 0
    null = cond.null_condition(2)
    assert null.present.sum() == 0
    # Absent inputs and the null condition coincide.
    assert torch.allclose(cond(batch_size=2).context, null.context)


def test_zero_rows_are_absent_slots():
    cond = _conditioner().eval()
    desc = torch.randn(1, 3, 12)
    desc[0, 1] = 0.0
    out = cond(torch.randn(1, 2, 8), desc)
    assert out.present[0, 2:5].tolist() == [True, False, True]
    padded = cond(torch.randn(1, 2, 8), desc[:, :1])
    assert torch.allclose(out.context[0, 3], padded.context[0, 3])


def test_masking_rate_matches_the_config():
    cond = _conditioner(mask_prob=0.2, drop_all_prob=0.0).train()
    g = torch.Generator().manual_seed(0)
    out = cond(torch.randn(4000, 2, 8), torch.randn(4000, 15, 12), torch.randn(4000, 5, 10), generator=g)
    masked = 1.0 - out.kept.float().mean().item()
    assert abs(masked - 0.2) < 0.01  # 88,000 Bernoulli draws: std 0.0013


def test_masked_slots_equal_absent_inputs():
    cond = _conditioner(mask_prob=0.5, drop_all_prob=0.0)
    tokens, desc, faces = torch.randn(6, 2, 8), torch.randn(6, 15, 12), torch.randn(6, 5, 10)
    out = cond.train()(tokens, desc, faces, generator=torch.Generator().manual_seed(2))
    kept = out.kept
    # The same inputs with masked rows zeroed and masked tokens set to the null token.
    tokens_ref = torch.where(kept[:, :2, None], tokens, cond.null_tokens.detach().expand(6, -1, -1))
    ref = cond.eval()(tokens_ref, desc * kept[:, 2:17, None], faces * kept[:, 17:, None])
    assert torch.allclose(out.context, ref.context, atol=1e-6)


def test_whole_condition_dropout_rate_matches_the_config():
    cond = _conditioner(mask_prob=0.0, drop_all_prob=0.1).train()
    g = torch.Generator().manual_seed(1)
    out = cond(torch.randn(5000, 2, 8), generator=g)
    dropped = (~out.kept[:, :2].any(dim=1)).float().mean().item()
    assert abs(dropped - 0.1) < 0.015
    # Token-level masking is off, so samples are either fully kept or fully dropped.
    assert torch.equal(out.kept[:, 0], out.kept[:, 1])


def test_dropping_all_visual_tokens_keeps_sentences_and_faces_at_the_configured_rate():
    cond = _conditioner(mask_prob=0.0, drop_all_prob=0.0, drop_tokens_prob=0.3).train()
    g = torch.Generator().manual_seed(4)
    out = cond(torch.randn(5000, 2, 8), torch.randn(5000, 15, 12), torch.randn(5000, 5, 10), generator=g)
    tokens_dropped = ~out.kept[:, :2].any(dim=1)
    assert abs(tokens_dropped.float().mean().item() - 0.3) < 0.02
    assert torch.equal(out.kept[:, 0], out.kept[:, 1])  # both tokens go together
    assert out.kept[:, 2:].all()  # sentences and faces stay
    with pytest.raises(ValueError, match="drop_tokens_prob"):
        _conditioner(drop_tokens_prob=-0.1)


def test_input_norm_scales_unit_norm_embeddings_up_and_keeps_absent_equal_to_masked():
    plain = _conditioner(input_norm=False).eval()
    normed = _conditioner(input_norm=True).eval()
    desc = torch.nn.functional.normalize(torch.randn(2, 3, 12), dim=-1)  # unit norm, like MiniLM
    spread = {}
    for name, cond in (("plain", plain), ("normed", normed)):
        with torch.no_grad():
            present = cond(torch.randn(2, 2, 8), desc).context[:, 2:5]
            absent = cond(torch.randn(2, 2, 8)).context[:, 2:5]
        spread[name] = (present - absent).abs().mean().item()
    assert spread["normed"] > 3 * spread["plain"]
    # A masked description and an absent one still give the same context row.
    cond = _conditioner(input_norm=True, mask_prob=0.5, drop_all_prob=0.0)
    tokens, faces = torch.randn(6, 2, 8), torch.randn(6, 5, 10)
    full = torch.randn(6, 15, 12)
    out = cond.train()(tokens, full, faces, generator=torch.Generator().manual_seed(2))
    tokens_ref = torch.where(out.kept[:, :2, None], tokens, cond.null_tokens.detach().expand(6, -1, -1))
    ref = cond.eval()(tokens_ref, full * out.kept[:, 2:17, None], faces * out.kept[:, 17:, None])
    assert torch.allclose(out.context, ref.context, atol=1e-6)


def test_masking_is_reproducible_with_a_generator():
    cond = _conditioner().train()
    tokens = torch.randn(8, 2, 8)
    a = cond(tokens, generator=torch.Generator().manual_seed(3))
    b = cond(tokens, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.kept, b.kept) and torch.equal(a.context, b.context)


def test_input_errors_are_explained():
    cond = _conditioner().eval()
    with pytest.raises(ValueError, match="room for 15"):
        cond(torch.randn(1, 2, 8), torch.randn(1, 16, 12))
    with pytest.raises(ValueError, match="2 visual tokens of width 8"):
        cond(torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match="face embeddings must have shape"):
        cond(torch.randn(1, 2, 8), face_embeds=torch.randn(1, 2, 11))
    with pytest.raises(ValueError, match="disagree on the batch size"):
        cond(torch.randn(2, 2, 8), torch.randn(3, 1, 12))
    with pytest.raises(ValueError, match="probability"):
        _conditioner(mask_prob=1.5)


def test_save_and_load_round_trip(tmp_path):
    cond = _conditioner(pooled_dim=24, mask_prob=0.3).eval()
    cond.save_pretrained(tmp_path)
    loaded = DecoderConditioner.from_pretrained(tmp_path).eval()
    assert loaded.config.mask_prob == 0.3
    x = torch.randn(2, 2, 8)
    assert torch.equal(cond(x).context, loaded(x).context)
    assert torch.equal(cond(x).pooled, loaded(x).pooled)
