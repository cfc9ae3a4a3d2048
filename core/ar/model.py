"""The autoregressive keyframe-token model of MovieDreamer (paper 3.3).

Dimensions: B samples, P sequence positions, H hidden width of the Llama backbone, L visual
tokens per keyframe, d token width, e description-embedding width, f face-embedding width,
k mixture components, N predicted tokens in a batch.

A transformers `LlamaModel` reads `inputs_embeds` (B, P, H) assembled from four sources:
identifier words through the backbone's own token embeddings, description sentences, faces
and earlier visual tokens each through a 2-layer GELU MLP (LLaVA projectors). The hidden state
at the position before a visual token goes through a GIVT Gaussian-mixture head that predicts
that token (so the first token of a frame is predicted from the frame's last script position,
token i from token i-1).

Default scale: a small Llama trained from scratch with a word-level tokenizer over the
identifier vocabulary. Paper scale: any local LLaMA-family checkpoint folder; its tokenizer
gets the markers and identifier words, and its embedding matrix is resized.
A bundle folder holds ar_config.json, backbone/ (save_pretrained), tokenizer/ and
heads.safetensors (projectors + GMM head).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from transformers import (
    AutoTokenizer,
    LlamaConfig,
    LlamaModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)
from transformers.modeling_outputs import BaseModelOutputWithPast

from core.ar.attention_mask import additive_causal_mask
from core.ar.gmm import GaussianMixture, GMMHead, GMMLoss, gmm_loss
from core.ar.identifier_tokenizer import build_identifier_tokenizer, extend_pretrained_tokenizer
from core.ar.projector import MLPProjector
from core.ar.sequence import Kind, SequencePlanner

logger = logging.getLogger(__name__)

CONFIG_FILE = "ar_config.json"
HEADS_FILE = "heads.safetensors"
BACKBONE_DIR = "backbone"
TOKENIZER_DIR = "tokenizer"


@dataclass
class ARConfig:
    """Everything needed to rebuild a KeyframeAR; saved beside its weights."""

    token_dim: int = 16  # d: width of one visual token (core.tokenizer's compressor presets use 16)
    tokens_per_frame: int = 2  # L: visual tokens per keyframe (paper: 2)
    sentence_dim: int = 384  # e: all-MiniLM-L6-v2 by default, LongCLIP-L (768) at paper scale
    face_dim: int = 256  # f: face-encoder width (the bundle CLIP's embedding; ArcFace: 512)
    num_mixtures: int = 16  # k: GIVT mixture components
    min_scale: float = 1e-4  # floor on every Gaussian scale, keeps the NLL finite
    l1_weight: float = 1.0  # eq. 8 weights of the L1 / L2 terms on the mixture mean
    l2_weight: float = 1.0
    dropout: float = 0.0  # on the backbone's input embeddings and before the GMM head (paper: 0.5)
    # Attention-probability dropout inside Llama. Off by default: on CPU it forces SDPA's math
    # kernel, measured 12x slower (1.8 s vs 0.15 s forward for 4 x 8 heads x 800 positions).
    attention_dropout: float = 0.0
    # Backbone trained here (ignored when backbone_path names a checkpoint folder).
    hidden_size: int = 256
    # 2 layers: a 128-frame window samples in 0.74 s on 2 cores (4 layers: 1.06 s) for a held-out
    # NLL/d of 0.158 vs 0.147 after the same 2,000 steps (bench.ar, session 3).
    num_layers: int = 2
    num_heads: int = 8
    num_kv_heads: int = 8
    intermediate_size: int = 704
    max_position_embeddings: int = 16384  # a 128-frame window of rich scripts needs ~10k positions
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    backbone_path: str | None = None  # local LLaMA-family folder (paper scale)
    dtype: str = "float32"
    attn_implementation: str = "sdpa"

    @classmethod
    def tiny(cls, **overrides) -> ARConfig:
        """About 27 k parameters: for tests."""
        base = cls(
            token_dim=8,
            sentence_dim=16,
            face_dim=16,
            num_mixtures=4,
            hidden_size=32,
            num_layers=2,
            num_heads=4,
            num_kv_heads=2,
            intermediate_size=64,
            max_position_embeddings=4096,
        )
        return replace(base, **overrides)

    @classmethod
    def default(cls, **overrides) -> ARConfig:
        """The embedded CPU model: hidden 256, 2 layers (1.6 M backbone, 2.1 M parameters in all)."""
        return replace(cls(), **overrides)

    @classmethod
    def paper(cls, backbone_path: str, **overrides) -> ARConfig:
        """LLaMA-2-7B-class backbone from a local folder, LongCLIP-L descriptions, ArcFace faces."""
        base = cls(
            sentence_dim=768,
            face_dim=512,
            dropout=0.5,
            backbone_path=backbone_path,
            dtype="bfloat16",
        )
        return replace(base, **overrides)

    @classmethod
    def preset(cls, name: str, **overrides) -> ARConfig:
        presets = {"tiny": cls.tiny, "default": cls.default, "paper": cls.paper}
        if name not in presets:
            raise ValueError(f"Unknown AR preset {name!r}; choose one of {', '.join(presets)}.")
        return presets[name](**overrides)

    @property
    def torch_dtype(self) -> torch.dtype:
        dtype = getattr(torch, self.dtype, None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"Unknown dtype {self.dtype!r}; use float32, bfloat16 or float16.")
        return dtype

    def llama_config(self, vocab_size: int) -> LlamaConfig:
        config = LlamaConfig(
            vocab_size=vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            num_key_value_heads=self.num_kv_heads,
            max_position_embeddings=self.max_position_embeddings,
            rms_norm_eps=self.rms_norm_eps,
            attention_dropout=self.attention_dropout,
            rope_parameters={"rope_type": "default", "rope_theta": self.rope_theta},
            # The backbone never produces text, so it has no BOS/EOS/PAD ids (and no eos to stop on).
            bos_token_id=None,
            eos_token_id=None,
            pad_token_id=None,
            tie_word_embeddings=False,
            attn_implementation=self.attn_implementation,
        )
        return config

    @classmethod
    def from_dict(cls, values: dict) -> ARConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"The AR config has unknown fields {unknown}; it was written by a newer version."
            )
        return cls(**values)


class KeyframeAR(nn.Module):
    """Llama backbone + modality projectors + GMM head. See the module docstring for shapes."""

    def __init__(self, config: ARConfig, tokenizer: PreTrainedTokenizerBase, backbone: LlamaModel):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        self.description_proj = MLPProjector(config.sentence_dim, hidden)
        self.face_proj = MLPProjector(config.face_dim, hidden)
        self.visual_proj = MLPProjector(config.token_dim, hidden)
        self.input_dropout = nn.Dropout(config.dropout)
        self.head_dropout = nn.Dropout(config.dropout)
        self.head = GMMHead(hidden, config.token_dim, config.num_mixtures, config.min_scale)
        self.planner = SequencePlanner(tokenizer, config.tokens_per_frame)
        self.to(config.torch_dtype)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_config(cls, config: ARConfig, vocabulary: Iterable[str]) -> KeyframeAR:
        """A fresh model for the identifier `vocabulary` (core.script.inputs.IDENTIFIER_VOCABULARY).

        With `config.backbone_path` the LLaMA checkpoint and its tokenizer are loaded from that
        local folder and extended; otherwise a small Llama is initialised from the config.
        """
        if config.backbone_path is None:
            tokenizer = build_identifier_tokenizer(vocabulary)
            backbone = LlamaModel(config.llama_config(len(tokenizer)))
            return cls(config, tokenizer, backbone)
        folder = Path(config.backbone_path)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"No LLaMA checkpoint was found at {folder} (config.json is missing); download the "
                "checkpoint to a local folder and point backbone_path at it."
            )
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        added = extend_pretrained_tokenizer(tokenizer, vocabulary)
        backbone = LlamaModel.from_pretrained(
            folder,
            local_files_only=True,
            dtype=config.torch_dtype,
            attention_dropout=config.attention_dropout,
            attn_implementation=config.attn_implementation,
        )
        backbone.resize_token_embeddings(len(tokenizer))
        logger.info("Loaded the LLaMA backbone from %s and added %d identifier tokens.", folder, added)
        return cls(config, tokenizer, backbone)

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        self.backbone.save_pretrained(folder / BACKBONE_DIR)
        self.tokenizer.save_pretrained(folder / TOKENIZER_DIR)
        heads = {
            name: tensor.contiguous()
            for name, tensor in self.state_dict().items()
            if not name.startswith("backbone.")
        }
        save_file(heads, folder / HEADS_FILE)

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, dropout: float | None = None, attention_dropout: float | None = None
    ) -> KeyframeAR:
        """Load a bundle written by save_pretrained; the dropouts override the saved values (fine-tuning)."""
        folder = Path(folder)
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"{folder} is not an AR model folder ({CONFIG_FILE} is missing); pass the folder that "
                "KeyframeAR.save_pretrained or train.stage2_ar wrote."
            )
        config = ARConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text()))
        if dropout is not None:
            config = replace(config, dropout=dropout)
        if attention_dropout is not None:
            config = replace(config, attention_dropout=attention_dropout)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder / TOKENIZER_DIR, local_files_only=True)
        backbone = LlamaModel.from_pretrained(
            folder / BACKBONE_DIR,
            local_files_only=True,
            dtype=config.torch_dtype,
            attention_dropout=config.attention_dropout,
            attn_implementation=config.attn_implementation,
        )
        model = cls(config, tokenizer, backbone)
        missing, unexpected = model.load_state_dict(load_file(folder / HEADS_FILE), strict=False)
        missing = [name for name in missing if not name.startswith("backbone.")]
        if missing or unexpected:
            raise ValueError(
                f"The weights in {folder / HEADS_FILE} do not fit the saved config (missing {missing}, "
                f"unexpected {unexpected}); the bundle is damaged or mixed from two models."
            )
        return model.eval()

    # -- properties --------------------------------------------------------------------

    @property
    def hidden_size(self) -> int:
        return self.backbone.config.hidden_size

    @property
    def device(self) -> torch.device:
        return self.head.proj.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.head.proj.weight.dtype

    # -- computation ------------------------------------------------------------------

    def embed(
        self, kinds: Tensor, values: Tensor, descriptions: Tensor, faces: Tensor, visual: Tensor
    ) -> Tensor:
        """Positions -> inputs_embeds.

        kinds, values: (B, P) from core.ar.sequence; descriptions (Nd, e), faces (Nf, f) and
        visual (Nv, d) are the tables that DESCRIPTION / FACE / VISUAL values index.
        Returns (B, P, H); PAD positions are zero.
        """
        out = torch.zeros((*kinds.shape, self.hidden_size), dtype=self.dtype, device=self.device)  # (B, P, H)
        sources = (
            (Kind.TOKEN, self.backbone.embed_tokens, None),
            (Kind.DESCRIPTION, self.description_proj, descriptions),
            (Kind.FACE, self.face_proj, faces),
            (Kind.VISUAL, self.visual_proj, visual),
        )
        for kind, module, table in sources:
            where = kinds == kind
            if not bool(where.any()):
                continue
            rows = values[where]
            features = rows if table is None else table.to(self.dtype)[rows]  # (n,) ids or (n, width)
            out[where] = module(features)
        return out

    def forward(
        self,
        inputs_embeds: Tensor,
        attention_mask: Tensor | None = None,
        past_key_values=None,
        use_cache: bool = False,
    ) -> BaseModelOutputWithPast:
        """inputs_embeds (B, P, H) -> last_hidden_state (B, P, H) (+ past_key_values)."""
        return self.backbone(
            inputs_embeds=self.input_dropout(inputs_embeds),
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            use_cache=use_cache,
        )

    def distribution(self, hidden: Tensor) -> GaussianMixture:
        """(..., H) hidden states -> mixture over the next visual token, event shape (d,)."""
        return self.head(self.head_dropout(hidden))

    def loss(
        self, batch, key_mask_probability: float = 0.0, generator: torch.Generator | None = None
    ) -> GMMLoss:
        """Teacher-forced eq. 8 loss of an ARBatch (core.ar.batch), with optional key masking."""
        mask = additive_causal_mask(batch.attention_mask, key_mask_probability, generator, self.dtype)
        hidden = self(batch.inputs_embeds, attention_mask=mask).last_hidden_state  # (B, P, H)
        predicting = hidden[batch.prediction_positions[:, 0], batch.prediction_positions[:, 1]]  # (N, H)
        pdf = self.distribution(predicting)
        return gmm_loss(pdf, batch.targets.to(self.dtype), self.config.l1_weight, self.config.l2_weight)
