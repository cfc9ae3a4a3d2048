import json

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from core.ar import ARConfig, KeyframeAR, build_batch
from core.script.inputs import IDENTIFIER_VOCABULARY
from tests.core.ar.synthetic import make_sample, tiny_model


def test_presets_build_the_documented_sizes():
    tiny = KeyframeAR.from_config(ARConfig.tiny(), IDENTIFIER_VOCABULARY)
    assert sum(p.numel() for p in tiny.parameters()) < 100_000
    default = ARConfig.default()
    assert (default.hidden_size, default.num_layers, default.tokens_per_frame) == (256, 2, 2)
    assert ARConfig.paper("/models/llama-2-7b").backbone_path == "/models/llama-2-7b"
    with pytest.raises(ValueError, match="Unknown AR preset 'huge'"):
        ARConfig.preset("huge")


def test_the_backbone_is_a_llama_without_token_ids_to_stop_on():
    model = tiny_model(dropout=0.5, attention_dropout=0.25)
    assert model.input_dropout.p == model.head_dropout.p == 0.5
    config = model.backbone.config
    assert config.model_type == "llama"
    assert config.eos_token_id is None and config.bos_token_id is None
    assert config.attention_dropout == 0.25
    assert config.vocab_size == len(model.tokenizer)


def test_save_and_load_round_trip_gives_the_same_model(tmp_path):
    model = tiny_model()
    sample = make_sample(model.config, 4, num_references=2)
    with torch.no_grad():
        before = model.loss(build_batch(model, [sample])).total
    model.save_pretrained(tmp_path / "bundle")
    assert (
        json.loads((tmp_path / "bundle" / "ar_config.json").read_text())["token_dim"]
        == model.config.token_dim
    )
    loaded = KeyframeAR.from_pretrained(tmp_path / "bundle")
    assert not loaded.training
    assert loaded.tokenizer.get_vocab() == model.tokenizer.get_vocab()
    with torch.no_grad():
        after = loaded.loss(build_batch(loaded, [sample])).total
    torch.testing.assert_close(before, after)


def test_loading_a_folder_without_a_bundle_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not an AR model folder"):
        KeyframeAR.from_pretrained(tmp_path)


def _write_llama_checkpoint(folder):
    """A miniature 'LLaMA' checkpoint folder: LlamaForCausalLM weights and a tokenizer with <s>."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "the": 3, "beach": 4, "Shot:": 5}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return LlamaForCausalLM.from_pretrained(folder).model.embed_tokens.weight.detach().clone()


def test_paper_scale_path_loads_a_local_llama_checkpoint_and_adds_the_identifier_vocabulary(tmp_path):
    original_embeddings = _write_llama_checkpoint(tmp_path / "llama")
    config = ARConfig.paper(
        str(tmp_path / "llama"), token_dim=8, sentence_dim=16, face_dim=16, num_mixtures=4, dtype="float32"
    )
    model = KeyframeAR.from_config(config, IDENTIFIER_VOCABULARY)
    assert model.hidden_size == 32  # taken from the checkpoint, not from the config defaults
    assert len(model.tokenizer) > 6 and model.backbone.config.vocab_size == len(model.tokenizer)
    # The checkpoint's own rows are kept; the markers and identifier words get new rows.
    torch.testing.assert_close(model.backbone.embed_tokens.weight[:6], original_embeddings)
    ids = model.tokenizer("<START_OF_FRAME> Characters: <char_0>", add_special_tokens=False)["input_ids"]
    assert len(ids) == 3 and min(ids) >= 6

    sample = make_sample(model.config, 3, num_references=1)
    batch = build_batch(model, [sample])
    assert int(batch.kinds[0, 0]) == 1  # the sequence starts with the checkpoint's <s>
    torch.testing.assert_close(batch.inputs_embeds[0, 0], model.backbone.embed_tokens.weight[1])
    assert torch.isfinite(model.loss(batch).total)

    model.save_pretrained(tmp_path / "bundle")
    loaded = KeyframeAR.from_pretrained(tmp_path / "bundle")
    with torch.no_grad():
        torch.testing.assert_close(
            model.eval().loss(batch).total, loaded.loss(build_batch(loaded, [sample])).total
        )


def test_a_missing_checkpoint_folder_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="No LLaMA checkpoint was found"):
        KeyframeAR.from_config(ARConfig.paper(str(tmp_path / "nowhere")), IDENTIFIER_VOCABULARY)


def test_dropout_acts_in_training_only_and_can_be_changed_when_loading(tmp_path):
    model = tiny_model(dropout=0.5)
    batch = build_batch(model, [make_sample(model.config, 3)])
    with torch.no_grad():
        evaluated = [model.eval().loss(batch).total for _ in range(2)]
        trained = [model.train().loss(batch).total for _ in range(2)]
    torch.testing.assert_close(evaluated[0], evaluated[1])
    assert not torch.allclose(trained[0], trained[1])
    model.save_pretrained(tmp_path / "bundle")
    loaded = KeyframeAR.from_pretrained(tmp_path / "bundle", dropout=0.1, attention_dropout=0.2)
    assert (loaded.config.dropout, loaded.input_dropout.p, loaded.backbone.config.attention_dropout) == (
        0.1,
        0.1,
        0.2,
    )
