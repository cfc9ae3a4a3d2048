"""Keyframe tokenizer (paper 3.2): frozen CLIP vision tower + compressor -> L visual tokens."""

from core.tokenizer.compressor import COMPRESSOR_PRESETS, TokenCompressor
from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

__all__ = ["COMPRESSOR_PRESETS", "KeyframeTokenizer", "TokenCompressor"]
