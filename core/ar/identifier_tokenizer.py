"""Tokenizers for the identifier text of the multimodal script (paper 3.3).

Identifiers are the structural words of the script ("<START_OF_FRAME>", field names, shot
sizes...). They are read as ordinary text tokens, so the backbone needs a tokenizer:

* default scale: a word-level `tokenizers` model over exactly the identifier vocabulary of
  `core.script.inputs`, with a whitespace pre-tokenizer and the frame / reference markers as
  special tokens, wrapped in a `PreTrainedTokenizerFast` (save_pretrained / from_pretrained);
* paper scale: the LLaMA checkpoint's own tokenizer with the markers added as special tokens
  and the identifier words added as whole-word tokens (the embedding matrix is resized by the
  model afterwards).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from core.script.inputs import END_OF_FRAME, START_OF_FRAME

# Few-shot reference frames (paper 3.3) are a block of visual tokens without a script, so
# they get their own markers rather than posing as frames with an empty script.
START_OF_REFERENCES = "<START_OF_REFERENCES>"
END_OF_REFERENCES = "<END_OF_REFERENCES>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
MARKERS = (START_OF_FRAME, END_OF_FRAME, START_OF_REFERENCES, END_OF_REFERENCES)


def build_identifier_tokenizer(vocabulary: Iterable[str]) -> PreTrainedTokenizerFast:
    """A word-level tokenizer whose vocabulary is <pad>, <unk>, the markers, then `vocabulary` in order.

    `vocabulary` is core.script.inputs.IDENTIFIER_VOCABULARY for the models of this project.
    """
    words: list[str] = [PAD_TOKEN, UNK_TOKEN, *MARKERS]
    seen = set(words)
    for word in vocabulary:
        if not word or any(ch.isspace() for ch in word):
            raise ValueError(
                f"The identifier vocabulary contains {word!r}; every entry must be one word without spaces."
            )
        if word not in seen:
            seen.add(word)
            words.append(word)
    backend = Tokenizer(models.WordLevel({word: i for i, word in enumerate(words)}, unk_token=UNK_TOKEN))
    # core.script splits identifier text on whitespace only ("Characters:", "<char_0>" and
    # "close-up" are single words of its vocabulary), so the pre-tokenizer must do the same.
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        additional_special_tokens=list(MARKERS),
    )


def extend_pretrained_tokenizer(tokenizer: PreTrainedTokenizerBase, vocabulary: Iterable[str]) -> int:
    """Add the markers and identifier words to a checkpoint's tokenizer; returns how many tokens were new."""
    markers = [AddedToken(marker, special=True, normalized=False) for marker in MARKERS]
    added = tokenizer.add_tokens(markers, special_tokens=True)
    # single_word keeps "Scene" from matching inside "Scenery" in free text.
    words = [AddedToken(word, single_word=True, normalized=False) for word in dict.fromkeys(vocabulary)]
    added += tokenizer.add_tokens(words)
    return added
