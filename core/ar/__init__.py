"""The autoregressive keyframe-token model (paper 3.3): Llama backbone, projectors, GMM head, sampler."""

from core.ar.batch import ARBatch, build_batch
from core.ar.gmm import GaussianMixture, GMMHead, GMMLoss, gmm_loss
from core.ar.identifier_tokenizer import (
    END_OF_FRAME,
    END_OF_REFERENCES,
    START_OF_FRAME,
    START_OF_REFERENCES,
    build_identifier_tokenizer,
    extend_pretrained_tokenizer,
)
from core.ar.model import ARConfig, KeyframeAR
from core.ar.sampler import KeyframeSampler, SamplerConfig, SamplerProgress
from core.ar.sequence import FrameSequence, Kind

__all__ = [
    "END_OF_FRAME",
    "END_OF_REFERENCES",
    "START_OF_FRAME",
    "START_OF_REFERENCES",
    "ARBatch",
    "ARConfig",
    "FrameSequence",
    "GaussianMixture",
    "GMMHead",
    "GMMLoss",
    "KeyframeAR",
    "KeyframeSampler",
    "Kind",
    "SamplerConfig",
    "SamplerProgress",
    "build_batch",
    "build_identifier_tokenizer",
    "extend_pretrained_tokenizer",
    "gmm_loss",
]
