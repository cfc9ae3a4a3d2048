"""Decoder conditioning (paper 3.2 App. A; ID-preserving rendering 3.4, App. C).

Dimensions:
    B  keyframes
    L, d   visual tokens per keyframe and their width
    K      description slots (`max_descriptions`, 15), e their width (MiniLM: 384)
    F      face slots (`max_faces`, 5), f their width
    S      context length = L + K + F
    D      the UNet's cross_attention_dim (`context_dim`)
    P      SDXL pooled text width (`pooled_dim`, 1280), only for text_time UNets

The UNet's cross-attention reads the context
    [ token_proj(tokens) ; MLP(description embeddings) ; MLP(face embeddings) ]   (B, S, D)
plus a learned slot embedding (cross-attention is permutation-invariant, so without it the
two visual tokens and the slots of different characters would be indistinguishable).
For SDXL-style UNets the L tokens are also flattened and linearly projected to the pooled
`text_embeds` (B, P) of `addition_embed_type="text_time"`.

Absent descriptions and faces are zero rows (the paper's zero padding). In training every
present conditioning token is masked with probability `mask_prob` (App. C: 0.2): a masked
visual token becomes the learned null token, a masked description or face becomes a zero
row. With probability `drop_all_prob` a whole sample loses all its conditions; that teaches
the null condition used by classifier-free guidance. With probability `drop_tokens_prob`
(our addition, 0 by default) a sample loses all its visual tokens but keeps its sentences and
faces: 32 token numbers already describe the whole frame, so without it the decoder learns to
ignore the description and face slots.

`reads_shot_sentence` records how the weights were trained: True when the description slots
held `KeyframeInputs.decoder_sentences` (the script sentences plus the shot's framing and
time, `core.script.inputs.shot_sentence`), so generation gives it those sentences too.

`face_source` records which face embeddings the face slots were trained on: "face_encoder"
(the bundle's face encoder, shared with the AR model: CLIP tower or ArcFace) or "vae" (the
decoder's own VAE latent of the cast photo at `face_size` x `face_size`,
`core.encoders.face_latent`). `core.pipeline` embeds the cast photos accordingly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

# Where the face slots' embeddings come from (see the module docstring).
FACE_SOURCES = ("face_encoder", "vae")


@dataclass
class DecoderCondition:
    context: torch.Tensor  # (B, S, D) encoder_hidden_states
    pooled: torch.Tensor | None  # (B, P) SDXL text_embeds, or None
    present: torch.Tensor  # (B, S) bool: the slot carried an input
    kept: torch.Tensor  # (B, S) bool: the slot carried an input and was not masked


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    # Two layers with GELU, the LLaVA projector the paper uses for its alignment MLPs.
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))


class DecoderConditioner(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        token_dim: int = 16,
        num_tokens: int = 2,
        context_dim: int = 128,
        description_dim: int = 384,
        face_dim: int = 256,
        max_descriptions: int = 15,
        max_faces: int = 5,
        hidden_dim: int | None = None,
        pooled_dim: int | None = None,
        mask_prob: float = 0.2,
        drop_all_prob: float = 0.1,
        drop_tokens_prob: float = 0.0,
        input_norm: bool = False,
        reads_shot_sentence: bool = False,
        face_source: str = "face_encoder",
        face_size: int = 64,
    ):
        super().__init__()
        if face_source not in FACE_SOURCES:
            raise ValueError(f"face_source is {face_source!r} but must be one of {', '.join(FACE_SOURCES)}.")
        for name, p in (
            ("mask_prob", mask_prob),
            ("drop_all_prob", drop_all_prob),
            ("drop_tokens_prob", drop_tokens_prob),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} is {p} but must be a probability between 0 and 1.")
        hidden = hidden_dim or context_dim
        self.token_proj = nn.Linear(token_dim, context_dim)
        self.null_tokens = nn.Parameter(torch.randn(num_tokens, token_dim) * 0.02)  # (L, d)
        self.description_mlp = _mlp(description_dim, hidden, context_dim) if max_descriptions else None
        self.face_mlp = _mlp(face_dim, hidden, context_dim) if max_faces else None
        # Unit-norm embeddings (MiniLM, the CLIP face tower) have entries of ~1/sqrt(width): through
        # freshly initialised MLPs they reach the cross-attention ~20x weaker than the visual tokens,
        # and measured after 2,800 stage-3 steps the MLP outputs for real and for absent inputs
        # still differed by only ~0.02. input_norm gives every embedding unit variance first.
        self.description_norm = nn.LayerNorm(description_dim) if input_norm and max_descriptions else None
        self.face_norm = nn.LayerNorm(face_dim) if input_norm and max_faces else None
        self.slot_embedding = nn.Parameter(torch.randn(self.num_slots, context_dim) * 0.02)  # (S, D)
        self.pooled_proj = nn.Linear(num_tokens * token_dim, pooled_dim) if pooled_dim else None

    @property
    def num_slots(self) -> int:
        cfg = self.config
        return cfg.num_tokens + cfg.max_descriptions + cfg.max_faces

    # -- inputs ----------------------------------------------------------------------

    def _pad(
        self, embeds: torch.Tensor | None, slots: int, width: int, batch: int, what: str
    ) -> torch.Tensor:
        """(B, k, width) with k <= slots -> (B, slots, width), zero rows for absent entries."""
        if embeds is None:
            return torch.zeros(batch, slots, width, device=self.device, dtype=self.dtype)
        if embeds.ndim != 3 or embeds.shape[0] != batch or embeds.shape[2] != width:
            raise ValueError(
                f"The {what} embeddings must have shape (B={batch}, up to {slots}, {width}) but have "
                f"shape {tuple(embeds.shape)}."
            )
        if embeds.shape[1] > slots:
            raise ValueError(
                f"{embeds.shape[1]} {what} embeddings were given per keyframe but the decoder has "
                f"room for {slots}; pass at most {slots}."
            )
        embeds = embeds.to(device=self.device, dtype=self.dtype)
        return nn.functional.pad(embeds, (0, 0, 0, slots - embeds.shape[1]))

    @staticmethod
    def _batch_size(batch_size: int | None, *inputs: torch.Tensor | None) -> int:
        sizes = {x.shape[0] for x in inputs if x is not None}
        if batch_size is not None:
            sizes.add(batch_size)
        if len(sizes) > 1:
            raise ValueError(f"The conditioning inputs disagree on the batch size: {sorted(sizes)}.")
        if not sizes:
            raise ValueError("No conditioning input was given; pass batch_size= for the null condition.")
        return sizes.pop()

    def _rand(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        device = generator.device if generator is not None else self.device
        return torch.rand(shape, generator=generator, device=device).to(self.device)

    # -- forward ---------------------------------------------------------------------

    def forward(
        self,
        tokens: torch.Tensor | None = None,
        description_embeds: torch.Tensor | None = None,
        face_embeds: torch.Tensor | None = None,
        *,
        batch_size: int | None = None,
        apply_masking: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> DecoderCondition:
        """Build the cross-attention context.

        tokens (B, L, d) or None (all null); description_embeds (B, <=K, e) and face_embeds
        (B, <=F, f), zero rows meaning "absent", or None. With no input at all, pass
        `batch_size`. Masking runs when `apply_masking` is True, or by default in training mode.
        """
        cfg = self.config
        batch = self._batch_size(batch_size, tokens, description_embeds, face_embeds)
        if tokens is not None and tuple(tokens.shape[1:]) != (cfg.num_tokens, cfg.token_dim):
            raise ValueError(
                f"The decoder reads {cfg.num_tokens} visual tokens of width {cfg.token_dim} per keyframe "
                f"but got tokens of shape {tuple(tokens.shape)}."
            )
        null = self.null_tokens.unsqueeze(0).expand(batch, -1, -1)  # (B, L, d)
        token_present = torch.full((batch, cfg.num_tokens), tokens is not None, device=self.device)
        tokens = null if tokens is None else tokens.to(device=self.device, dtype=self.dtype)
        desc = self._pad(description_embeds, cfg.max_descriptions, cfg.description_dim, batch, "description")
        faces = self._pad(face_embeds, cfg.max_faces, cfg.face_dim, batch, "face")
        present = torch.cat([token_present, desc.abs().sum(-1) > 0, faces.abs().sum(-1) > 0], dim=1)  # (B, S)

        kept = present
        if self.training if apply_masking is None else apply_masking:
            keep = self._rand(tuple(present.shape), generator) >= cfg.mask_prob  # (B, S)
            keep &= self._rand((batch, 1), generator) >= cfg.drop_all_prob
            if cfg.drop_tokens_prob:
                # All visual tokens of a sample at once: the decoder must then draw the frame
                # from its sentences and faces alone, which is what makes it use them at all.
                L = cfg.num_tokens
                keep[:, :L] &= self._rand((batch, 1), generator) >= cfg.drop_tokens_prob
            kept = present & keep
            L, K = cfg.num_tokens, cfg.max_descriptions
            tokens = torch.where(kept[:, :L, None], tokens, null)
            desc = desc * kept[:, L : L + K, None]
            faces = faces * kept[:, L + K :, None]

        parts = [self.token_proj(tokens)]  # (B, L, D)
        if self.description_mlp is not None:
            if self.description_norm is not None:
                # Absent and masked rows stay equal to each other: both are zero before the norm.
                desc = self.description_norm(desc)
            parts.append(self.description_mlp(desc))  # (B, K, D)
        if self.face_mlp is not None:
            if self.face_norm is not None:
                faces = self.face_norm(faces)
            parts.append(self.face_mlp(faces))  # (B, F, D)
        context = torch.cat(parts, dim=1) + self.slot_embedding  # (B, S, D)
        pooled = self.pooled_proj(tokens.flatten(1)) if self.pooled_proj is not None else None  # (B, P)
        return DecoderCondition(context=context, pooled=pooled, present=present, kept=kept)

    def null_condition(self, batch_size: int) -> DecoderCondition:
        """The unconditional input of classifier-free guidance: every slot null."""
        return self.forward(batch_size=batch_size, apply_masking=False)
