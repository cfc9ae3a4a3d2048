"""Where every input of the AR model sits in its sequence (paper 3.3, eq. 4).

Dimensions: T frames in a sample, S description slots per frame (<= 15), C face slots per frame
(<= 5), L visual tokens per frame, R reference frames, e / f / d the widths of description,
face and visual-token embeddings, P positions of the flattened sequence.

`core.script.inputs.keyframe_inputs` flattens each keyframe of a script into ordered segments,

    Identifier("<START_OF_FRAME>") ... Identifier / Description(i) / FaceSlot(s) ... VisualTokens()
    Identifier("<END_OF_FRAME>")

and this module turns those segments into positions. Each position has a *kind* and a *value*:
an identifier word is one TOKEN position (value = token id), a Description is one position
(value = its sentence slot), a FaceSlot is one position (value = its face slot), VisualTokens
expands to L VISUAL positions (value = token index). That gives M_t = [d_t, i_t, c_t] followed
by e_t, and the history H_<t = [d, i, c, e]_<t is simply every earlier frame (eq. 4).

Few-shot reference frames (R x L tokens of the same episode) form one block before the first
frame: <START_OF_REFERENCES> e_ref ... <END_OF_REFERENCES>. Training prepends it stochastically
and the sampler prepends the user's reference frames, so both see the same layout.

The layout is pure bookkeeping (integers); `KeyframeAR.embed` turns it into inputs_embeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import torch
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from core.ar.identifier_tokenizer import END_OF_REFERENCES, START_OF_REFERENCES
from core.script.inputs import Description, FaceSlot, Identifier, KeyframeInputs, VisualTokens


class Kind(IntEnum):
    """What a position holds; PAD positions get a zero embedding and are masked out."""

    PAD = 0
    TOKEN = 1
    DESCRIPTION = 2
    FACE = 3
    VISUAL = 4


@dataclass(frozen=True)
class FramePlan:
    """One keyframe's positions, split around its L visual tokens.

    Values of DESCRIPTION and FACE positions are the frame's own slots; VISUAL positions are not
    stored (they are always tokens 0..L-1 between prefix and suffix).
    """

    prefix_kinds: tuple[int, ...]
    prefix_values: tuple[int, ...]
    suffix_kinds: tuple[int, ...]
    suffix_values: tuple[int, ...]


@dataclass
class FrameSequence:
    """One sample: consecutive keyframes of a movie with the tensors their segments point to.

    frames: T KeyframeInputs (core.script.inputs), in the order the model reads them.
    sentence_embeddings: (T, S, e); row [t, i] is the embedding of frames[t].sentences[i]
        (zero rows where a frame has fewer sentences).
    face_embeddings: (T, C, f); row [t, s] is the face of the character in slot s of frames[t].
    visual_tokens: (T, L, d) targets / teacher-forced inputs.
    reference_tokens: (R, L, d) tokens of few-shot reference frames, or None.
    """

    frames: Sequence[KeyframeInputs]
    sentence_embeddings: Tensor
    face_embeddings: Tensor
    visual_tokens: Tensor
    reference_tokens: Tensor | None = None


class SequencePlanner:
    """Turns KeyframeInputs into FramePlans and whole samples into position layouts.

    Identifier texts repeat on every frame, so their token ids are memoised per planner.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, tokens_per_frame: int):
        self.tokenizer = tokenizer
        self.tokens_per_frame = tokens_per_frame
        self._identifier_ids: dict[str, tuple[int, ...]] = {}
        self.start_of_references = self._single_id(START_OF_REFERENCES)
        self.end_of_references = self._single_id(END_OF_REFERENCES)
        # LLaMA checkpoints expect <s> first; the word-level identifier tokenizer has none.
        self.bos_id = tokenizer.bos_token_id

    def _single_id(self, marker: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(marker)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise ValueError(
                f"The AR tokenizer has no {marker} token; build it with build_identifier_tokenizer "
                "or extend_pretrained_tokenizer."
            )
        return int(token_id)

    def identifier_ids(self, text: str) -> tuple[int, ...]:
        ids = self._identifier_ids.get(text)
        if ids is None:
            ids = tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            unk = self.tokenizer.unk_token_id
            if unk is not None and unk in ids:
                raise ValueError(
                    f"The identifier text {text!r} contains words the AR tokenizer does not know; the "
                    "model was built for another identifier vocabulary. Rebuild the tokenizer from "
                    "core.script.inputs.IDENTIFIER_VOCABULARY and retrain, or use a matching model bundle."
                )
            if not ids:
                raise ValueError(
                    f"The identifier text {text!r} produced no tokens; identifiers must not be empty."
                )
            self._identifier_ids[text] = ids
        return ids

    def frame_plan(self, frame: KeyframeInputs, num_sentence_slots: int, num_face_slots: int) -> FramePlan:
        """Positions of one KeyframeInputs, checked against the slots its tensors provide."""
        kinds: list[list[int]] = [[], []]
        values: list[list[int]] = [[], []]
        part = 0  # 0 = before the visual tokens, 1 = after them
        for segment in frame.items:
            if isinstance(segment, Identifier):
                ids = self.identifier_ids(segment.text)
                kinds[part].extend([Kind.TOKEN] * len(ids))
                values[part].extend(ids)
            elif isinstance(segment, Description):
                if not 0 <= segment.index < min(num_sentence_slots, len(frame.sentences)):
                    raise ValueError(
                        f"A frame refers to description {segment.index} but only "
                        f"{min(num_sentence_slots, len(frame.sentences))} sentence embeddings are given for it."
                    )
                kinds[part].append(Kind.DESCRIPTION)
                values[part].append(segment.index)
            elif isinstance(segment, FaceSlot):
                if not 0 <= segment.slot < num_face_slots:
                    raise ValueError(
                        f"A frame refers to face slot {segment.slot} but only {num_face_slots} face "
                        "embeddings per frame are given."
                    )
                kinds[part].append(Kind.FACE)
                values[part].append(segment.slot)
            elif isinstance(segment, VisualTokens):
                if part == 1:
                    raise ValueError("A frame has two VisualTokens segments; each keyframe has exactly one.")
                part = 1
            else:
                raise TypeError(f"Unknown script segment {segment!r}; expected a core.script.inputs segment.")
        if part == 0:
            raise ValueError("A frame has no VisualTokens segment, so there is nothing to predict for it.")
        if not kinds[0]:
            raise ValueError("A frame starts with its visual tokens; the script part before them is empty.")
        return FramePlan(tuple(kinds[0]), tuple(values[0]), tuple(kinds[1]), tuple(values[1]))

    def reference_block(self, num_references: int) -> tuple[list[int], list[int]]:
        """Kinds and values of the reference block; VISUAL values index the R*L reference tokens."""
        count = num_references * self.tokens_per_frame
        kinds = [Kind.TOKEN, *([Kind.VISUAL] * count), Kind.TOKEN]
        values = [self.start_of_references, *range(count), self.end_of_references]
        return kinds, values

    def preamble(self, num_references: int) -> tuple[list[int], list[int]]:
        """Kinds and values of what precedes the first frame: BOS (if the tokenizer has one) and
        the reference block (if there are reference frames)."""
        kinds: list[int] = []
        values: list[int] = []
        if self.bos_id is not None:
            kinds.append(Kind.TOKEN)
            values.append(self.bos_id)
        if num_references:
            ref_kinds, ref_values = self.reference_block(num_references)
            kinds.extend(ref_kinds)
            values.extend(ref_values)
        return kinds, values

    def layout(self, sample: FrameSequence) -> SampleLayout:
        """All positions of one sample, with rows into the sample's flattened tensors."""
        num_frames = len(sample.frames)
        L = self.tokens_per_frame
        if sample.visual_tokens.shape[:2] != (num_frames, L):
            raise ValueError(
                f"The sample has {num_frames} frames but visual tokens of shape {tuple(sample.visual_tokens.shape)}; "
                f"expected ({num_frames}, {L}, d)."
            )
        for name, tensor in (("sentence", sample.sentence_embeddings), ("face", sample.face_embeddings)):
            if tensor.ndim != 3 or tensor.shape[0] != num_frames:
                raise ValueError(
                    f"The {name} embeddings have shape {tuple(tensor.shape)}; expected ({num_frames}, slots, width)."
                )
        S, C = sample.sentence_embeddings.shape[1], sample.face_embeddings.shape[1]
        num_refs = 0 if sample.reference_tokens is None else sample.reference_tokens.shape[0]
        if num_refs and sample.reference_tokens.shape[1] != L:
            raise ValueError(
                f"Reference frames must have {L} visual tokens each, got shape {tuple(sample.reference_tokens.shape)}."
            )
        kinds, values = self.preamble(num_refs)
        visual_offset = num_refs * L  # frame tokens follow the reference tokens in the visual table
        target_positions: list[int] = []
        for t, frame in enumerate(sample.frames):
            plan = self.frame_plan(frame, S, C)
            kinds.extend(plan.prefix_kinds)
            values.extend(offset_slots(plan.prefix_kinds, plan.prefix_values, t * S, t * C))
            for i in range(L):
                target_positions.append(len(kinds))
                kinds.append(Kind.VISUAL)
                values.append(visual_offset + t * L + i)
            kinds.extend(plan.suffix_kinds)
            values.extend(offset_slots(plan.suffix_kinds, plan.suffix_values, t * S, t * C))
        return SampleLayout(kinds, values, target_positions, visual_offset)


def offset_slots(
    kinds: Sequence[int], values: Sequence[int], sentence_offset: int, face_offset: int
) -> list[int]:
    """Frame-relative slots -> rows of flattened (T*S, e) / (T*C, f) tables (frame t: offsets t*S, t*C)."""
    out = []
    for kind, value in zip(kinds, values, strict=True):
        if kind == Kind.DESCRIPTION:
            value += sentence_offset
        elif kind == Kind.FACE:
            value += face_offset
        out.append(value)
    return out


@dataclass
class SampleLayout:
    """Positions of one sample. target_positions[j] holds visual token j of the frames (T*L of them)."""

    kinds: list[int]
    values: list[int]
    target_positions: list[int]
    num_reference_tokens: int

    def __len__(self) -> int:
        return len(self.kinds)


def as_tensors(
    kinds: Sequence[int], values: Sequence[int], device: torch.device | None = None
) -> tuple[Tensor, Tensor]:
    """(P,) kinds and values as long tensors with a leading batch dimension: (1, P) each."""
    return (
        torch.tensor([list(kinds)], dtype=torch.long, device=device),
        torch.tensor([list(values)], dtype=torch.long, device=device),
    )
