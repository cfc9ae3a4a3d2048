"""LoRA and gradient checkpointing for the AR backbone (stage 2 at paper scale).

Why: the paper fine-tunes LLaMA-2-7B in full. Its weights, gradients and AdamW moments in fp32
alone are 7e9 x 16 bytes = 112 GB, more than one 80 GB GPU holds before any activation. With
LoRA (peft) on the attention and MLP projections, only the low-rank adapters, the backbone's
token embeddings (the identifier words and frame markers are new rows) and the modality
projectors and GMM head (which are small and new) are trained; gradient checkpointing trades
one extra forward per layer for not keeping every layer's activations of a 128-frame window.

A LoRA run keeps the backbone wrapped by peft while it trains (its checkpoints hold base and
adapter weights, so `--resume` continues it), writes the adapter alone with peft's
`save_pretrained` (adapter_config.json + adapter_model.safetensors), and exports the model
with the adapters merged into the Llama weights: a plain KeyframeAR bundle that the studio and
the sampler load as any other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model

from core.ar import KeyframeAR

logger = logging.getLogger(__name__)

# The Llama projections LoRA adapts: attention and MLP (the LoRA paper adapts attention;
# QLoRA showed adapting every linear layer is needed to match full fine-tuning).
LLAMA_LINEAR_LAYERS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def enable_gradient_checkpointing(model: KeyframeAR) -> None:
    """Recompute each Llama layer's activations in the backward pass instead of keeping them.

    Non-reentrant checkpointing: it needs no input that requires grad (the backbone reads
    `inputs_embeds` made by projectors, and its frozen embeddings under LoRA make none).
    """
    model.backbone.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})


def apply_lora(
    model: KeyframeAR,
    *,
    rank: int,
    alpha: float,
    dropout: float = 0.0,
    targets: Sequence[str] = LLAMA_LINEAR_LAYERS,
    train_embeddings: bool = True,
) -> KeyframeAR:
    """Wrap the backbone of `model` in LoRA adapters of `rank`; the rest of the backbone is frozen.

    `train_embeddings` keeps the token embeddings trainable (a full copy that peft saves with
    the adapter): a pretrained LLaMA gets the identifier words as new, untrained rows.
    The projectors and the GMM head stay fully trainable.
    """
    if rank < 1:
        raise ValueError(f"The LoRA rank is {rank}; use 1 or more (or leave LoRA off with lora_rank=0).")
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(targets),
        modules_to_save=["embed_tokens"] if train_embeddings else None,
        bias="none",
    )
    model.backbone = get_peft_model(model.backbone, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    logger.info(
        "LoRA rank %d on %s: %d of %d parameters trainable (%.2f%%).",
        rank,
        ", ".join(targets),
        trainable,
        total,
        100 * trainable / total,
    )
    return model


def has_lora(model: KeyframeAR) -> bool:
    return isinstance(model.backbone, PeftModel)


def save_adapter(model: KeyframeAR, folder: str | Path) -> None:
    """The adapter alone (peft's layout), e.g. to share a fine-tune of a backbone others have."""
    if not has_lora(model):
        raise ValueError("This model has no LoRA adapter to save; it was trained without lora_rank.")
    model.backbone.save_pretrained(folder)


def merge_lora(model: KeyframeAR) -> KeyframeAR:
    """Fold the adapters into the Llama weights (in place): a plain KeyframeAR again."""
    if has_lora(model):
        model.backbone = model.backbone.merge_and_unload()
    return model
