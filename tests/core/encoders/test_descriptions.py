import pytest
import torch

from core.encoders.descriptions import (
    DescriptionEncoder,
    MiniLMDescriptionEncoder,
    OpenClipTextDescriptionEncoder,
    minilm_folder,
)
from core.encoders.open_clip_encoder import OpenClipEncoder


@pytest.fixture(scope="module")
def minilm():
    return MiniLMDescriptionEncoder()


def test_minilm_loads_offline_from_the_package_folder(minilm):
    assert (minilm_folder() / "modules.json").is_file()
    assert isinstance(minilm, DescriptionEncoder)
    assert minilm.embedding_dim == 384


def test_paraphrases_are_closer_than_unrelated_sentences(minilm):
    emb = minilm.encode(
        [
            "A woman with short red hair walks along the beach.",
            "A red-haired woman is walking by the sea.",
            "The accountant filed the quarterly tax report.",
        ]
    )
    assert emb.shape == (3, 384) and emb.dtype == torch.float32
    assert torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-4)
    paraphrase, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert paraphrase > 0.5 > unrelated


def test_minilm_refuses_bad_input(minilm):
    with pytest.raises(ValueError, match="Sentence 2 is empty"):
        minilm.encode(["fine", "  "])
    with pytest.raises(TypeError, match="list of sentences"):
        minilm.encode("one string")
    assert minilm.encode([]).shape == (0, 384)


def test_open_clip_text_tower_plugs_into_the_same_protocol():
    encoder = OpenClipTextDescriptionEncoder(OpenClipEncoder.build("moviedreamer-clip-tiny", seed=0))
    assert isinstance(encoder, DescriptionEncoder)
    emb = encoder.encode(["Mara smiles.", "Tom runs.", "Lea sits."])
    assert emb.shape == (3, encoder.embedding_dim) == (3, 32)
    assert torch.isfinite(emb).all()
