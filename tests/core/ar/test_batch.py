import pytest
import torch

from core.ar import Kind, build_batch
from core.script.inputs import Description, FaceSlot, Identifier, VisualTokens
from tests.core.ar.synthetic import frame_of, make_sample, tiny_model


def _frame(words: str = "Shot: wide eye-level static", sentences: int = 1, faces: int = 1):
    items = [Identifier("<START_OF_FRAME>"), Identifier(words)]
    items += [Description(i) for i in range(sentences)]
    items += [FaceSlot(s) for s in range(faces)]
    items += [VisualTokens(), Identifier("<END_OF_FRAME>")]
    return frame_of(items, [f"s{i}" for i in range(sentences)])


def test_positions_follow_the_script_segments_and_visual_tokens_are_teacher_forced():
    model = tiny_model()
    sample = make_sample(model.config, 0, frames=[_frame(), _frame("Shot: close-up high pan-left", 2, 0)])
    batch = build_batch(model, [sample])
    tok = model.tokenizer.convert_tokens_to_ids
    T, D, F, V = Kind.TOKEN, Kind.DESCRIPTION, Kind.FACE, Kind.VISUAL
    # frame 1: <SOF> Shot: wide eye-level static | d0 | c0 | e e | <EOF>
    # frame 2: <SOF> Shot: close-up high pan-left | d0 d1 | e e | <EOF>
    expected = [T, T, T, T, T, D, F, V, V, T, T, T, T, T, T, D, D, V, V, T]
    assert batch.kinds[0].tolist() == [int(k) for k in expected]
    embeds = batch.inputs_embeds[0]
    torch.testing.assert_close(embeds[0], model.backbone.embed_tokens.weight[tok("<START_OF_FRAME>")])
    torch.testing.assert_close(embeds[2], model.backbone.embed_tokens.weight[tok("wide")])
    torch.testing.assert_close(embeds[5], model.description_proj(sample.sentence_embeddings[0, 0]))
    torch.testing.assert_close(embeds[6], model.face_proj(sample.face_embeddings[0, 0]))
    torch.testing.assert_close(embeds[16], model.description_proj(sample.sentence_embeddings[1, 1]))
    torch.testing.assert_close(embeds[17], model.visual_proj(sample.visual_tokens[1, 0]))
    # Token i of a frame is predicted at the position before it: the first one from the last
    # script position (the face slot of frame 1, the second description of frame 2).
    assert batch.prediction_positions.tolist() == [[0, 6], [0, 7], [0, 16], [0, 17]]
    torch.testing.assert_close(batch.targets, sample.visual_tokens.flatten(0, 1))
    assert batch.attention_mask.tolist() == [[1] * len(expected)]


def test_reference_frames_form_one_block_before_the_first_frame_and_are_not_targets():
    model = tiny_model()
    sample = make_sample(model.config, 2, num_references=3)
    batch = build_batch(model, [sample])
    kinds = batch.kinds[0].tolist()
    ids = model.tokenizer.convert_tokens_to_ids
    assert kinds[:8] == [Kind.TOKEN] + [Kind.VISUAL] * 6 + [Kind.TOKEN]
    torch.testing.assert_close(
        batch.inputs_embeds[0, 0], model.backbone.embed_tokens.weight[ids("<START_OF_REFERENCES>")]
    )
    torch.testing.assert_close(
        batch.inputs_embeds[0, 7], model.backbone.embed_tokens.weight[ids("<END_OF_REFERENCES>")]
    )
    torch.testing.assert_close(
        batch.inputs_embeds[0, 1:7], model.visual_proj(sample.reference_tokens.flatten(0, 1))
    )
    assert batch.targets.shape == (4, model.config.token_dim)
    assert int(batch.prediction_positions[:, 1].min()) > 7


def test_padding_does_not_change_any_sample_loss():
    model = tiny_model()
    long, short = make_sample(model.config, 5, seed=1, num_references=2), make_sample(model.config, 2, seed=2)
    together = build_batch(model, [long, short])
    assert together.attention_mask[1].sum() < together.attention_mask.shape[1]
    assert bool((together.inputs_embeds[1][together.attention_mask[1] == 0] == 0).all())
    with torch.no_grad():
        joint = model.loss(together).nll_per_dim
        alone = [model.loss(build_batch(model, [s])).nll_per_dim for s in (long, short)]
    # The joint NLL averages over all targets: weight each sample by its token count.
    expected = (alone[0] * 10 + alone[1] * 4) / 14
    torch.testing.assert_close(joint, expected, atol=1e-5, rtol=1e-5)


def test_loss_gradients_reach_every_projector_and_the_head():
    model = tiny_model().train()
    loss = model.loss(build_batch(model, [make_sample(model.config, 3, num_references=1)]))
    loss.total.backward()
    for module in (
        model.description_proj,
        model.face_proj,
        model.visual_proj,
        model.head,
        model.backbone.embed_tokens,
    ):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (frame_of([Identifier("Shot:"), Identifier("<END_OF_FRAME>")]), "no VisualTokens"),
        (frame_of([Identifier("Shot:"), VisualTokens(), VisualTokens()]), "two VisualTokens"),
        (frame_of([VisualTokens(), Identifier("Shot:")]), "script part before them is empty"),
        (frame_of([Description(2), VisualTokens()], ["a"]), "description 2"),
        (frame_of([FaceSlot(7), VisualTokens()]), "face slot 7"),
        (frame_of([Identifier("Spaceship"), VisualTokens()]), "does not know"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame, message):
    model = tiny_model()
    with pytest.raises(ValueError, match=message):
        build_batch(model, [make_sample(model.config, 0, frames=[frame])])


def test_embeddings_of_the_wrong_width_are_refused():
    model = tiny_model()
    sample = make_sample(model.config, 2)
    sample.face_embeddings = torch.zeros(2, 5, model.config.face_dim + 1)
    with pytest.raises(ValueError, match="face embeddings have width 17 but this AR model reads width 16"):
        build_batch(model, [sample])
