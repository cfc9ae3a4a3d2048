import pytest
from transformers import PreTrainedTokenizerFast

from core.ar.identifier_tokenizer import MARKERS, build_identifier_tokenizer
from core.script.inputs import IDENTIFIER_VOCABULARY, keyframe_inputs
from tests.core.ar.synthetic import make_script


def test_every_identifier_of_a_script_becomes_known_whole_words():
    tokenizer = build_identifier_tokenizer(IDENTIFIER_VOCABULARY)
    for frame in keyframe_inputs(make_script(12, seed=3)):
        text = frame.identifier_text
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.convert_ids_to_tokens(ids) == text.split()


def test_markers_are_special_tokens_and_the_vocabulary_is_closed():
    tokenizer = build_identifier_tokenizer(IDENTIFIER_VOCABULARY)
    assert set(MARKERS) <= set(tokenizer.all_special_tokens)
    assert len(tokenizer) == len(set(IDENTIFIER_VOCABULARY) | set(MARKERS)) + 2  # + <pad>, <unk>
    assert tokenizer("Spaceship", add_special_tokens=False)["input_ids"] == [tokenizer.unk_token_id]


def test_save_pretrained_and_from_pretrained_round_trip(tmp_path):
    tokenizer = build_identifier_tokenizer(IDENTIFIER_VOCABULARY)
    tokenizer.save_pretrained(tmp_path)
    loaded = PreTrainedTokenizerFast.from_pretrained(tmp_path, local_files_only=True)
    text = "<START_OF_FRAME> Characters: <char_1> Shot: close-up low static <END_OF_FRAME>"
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.get_vocab() == tokenizer.get_vocab()


def test_words_with_spaces_are_refused():
    with pytest.raises(ValueError, match="one word without spaces"):
        build_identifier_tokenizer(["two words"])
