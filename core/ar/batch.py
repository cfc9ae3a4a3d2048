"""Batch builder: KeyframeInputs + embedding tensors -> what the AR backbone and loss read.

Dimensions: B samples, P positions (longest sample; shorter ones are right-padded), H hidden
width, N predicted visual tokens in the batch (sum of T_b * L), d token width.

For each sample (a `core.ar.sequence.FrameSequence`) the planner lays out the positions; the
samples' tensors are concatenated into one table per modality with row offsets, and
`KeyframeAR.embed` projects each table once. Targets are the frames' visual tokens; the hidden
state at position p-1 predicts the token that sits at position p (teacher forcing), so the
first token of a frame is predicted from the frame's last script position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from core.ar.sequence import FrameSequence, Kind, SampleLayout


@dataclass
class ARBatch:
    """inputs_embeds (B, P, H); attention_mask (B, P), 1 = real position; prediction_positions
    (N, 2) = (sample, position whose hidden state predicts target n); targets (N, d);
    kinds (B, P) = core.ar.sequence.Kind of every position."""

    inputs_embeds: Tensor
    attention_mask: Tensor
    prediction_positions: Tensor
    targets: Tensor
    kinds: Tensor


def build_batch(model, samples: Sequence[FrameSequence]) -> ARBatch:
    """Assemble a padded batch for `model` (a KeyframeAR) from one or more samples."""
    if not samples:
        raise ValueError("A batch needs at least one sample.")
    for sample in samples:
        _check_widths(model.config, sample)
    layouts: list[SampleLayout] = [model.planner.layout(sample) for sample in samples]
    length = max(len(layout) for layout in layouts)
    device = model.device
    kinds = torch.full((len(samples), length), int(Kind.PAD), dtype=torch.long)
    values = torch.zeros((len(samples), length), dtype=torch.long)
    descriptions, faces, visual, targets, positions = [], [], [], [], []
    description_rows = face_rows = visual_rows = 0
    for b, (sample, layout) in enumerate(zip(samples, layouts, strict=True)):
        sample_kinds = torch.tensor(layout.kinds, dtype=torch.long)  # (P_b,)
        sample_values = torch.tensor(layout.values, dtype=torch.long)  # (P_b,)
        # Rows are per sample; shift them to rows of the batch-wide tables.
        offsets = torch.zeros_like(sample_values)
        offsets[sample_kinds == Kind.DESCRIPTION] = description_rows
        offsets[sample_kinds == Kind.FACE] = face_rows
        offsets[sample_kinds == Kind.VISUAL] = visual_rows
        kinds[b, : len(layout)] = sample_kinds
        values[b, : len(layout)] = sample_values + offsets
        sentence = sample.sentence_embeddings.flatten(0, 1)  # (T*S, e)
        face = sample.face_embeddings.flatten(0, 1)  # (T*C, f)
        frame_tokens = sample.visual_tokens.flatten(0, 1)  # (T*L, d)
        tokens = frame_tokens
        if sample.reference_tokens is not None and sample.reference_tokens.shape[0]:
            tokens = torch.cat([sample.reference_tokens.flatten(0, 1), frame_tokens])  # (R*L + T*L, d)
        descriptions.append(sentence)
        faces.append(face)
        visual.append(tokens)
        targets.append(frame_tokens)
        target_positions = torch.tensor(layout.target_positions, dtype=torch.long)  # (T*L,)
        positions.append(torch.stack([torch.full_like(target_positions, b), target_positions - 1], dim=1))
        description_rows += sentence.shape[0]
        face_rows += face.shape[0]
        visual_rows += tokens.shape[0]
    kinds, values = kinds.to(device), values.to(device)
    inputs_embeds = model.embed(
        kinds,
        values,
        torch.cat(descriptions).to(device),
        torch.cat(faces).to(device),
        torch.cat(visual).to(device),
    )
    return ARBatch(
        inputs_embeds=inputs_embeds,
        attention_mask=(kinds != Kind.PAD).long(),
        prediction_positions=torch.cat(positions).to(device),
        targets=torch.cat(targets).to(device=device, dtype=model.dtype),
        kinds=kinds,
    )


def _check_widths(config, sample: FrameSequence) -> None:
    """Refuse tensors made by encoders other than the ones the model was configured for."""
    checks = (
        ("visual tokens", sample.visual_tokens.shape[-1], config.token_dim, "visual tokenizer"),
        (
            "description embeddings",
            sample.sentence_embeddings.shape[-1],
            config.sentence_dim,
            "sentence encoder",
        ),
        ("face embeddings", sample.face_embeddings.shape[-1], config.face_dim, "face encoder"),
    )
    for what, got, expected, encoder in checks:
        if got != expected:
            raise ValueError(
                f"The {what} have width {got} but this AR model reads width {expected}; use the "
                f"{encoder} the model was trained with (or train a model for this one)."
            )
    if sample.reference_tokens is not None and sample.reference_tokens.shape[-1] != config.token_dim:
        raise ValueError(
            f"The reference frames' tokens have width {sample.reference_tokens.shape[-1]} but this AR "
            f"model reads width {config.token_dim}; encode them with the model's visual tokenizer."
        )
