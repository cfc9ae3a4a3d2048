"""The frozen image tower that gives a keyframe its anchor embedding, whatever tower it is.

`embed_images(encoder, pixels, feature_extractor)` maps (B, 3, H, W) pixels in [0, 1] to a
(B, D) embedding; with `tokens=True` to (B, 1 + P, D) image tokens instead: the pooled
embedding followed by the last block's P patch tokens put through the same final norm and
projection (the keyframe's layout and details, not only its gist; what an anchor built on a
single SVD-style embedding cannot carry):

* a transformers `CLIPVisionModelWithProjection` (SVD's tower, or a tiny one built from a
  config): resized with antialiasing to the tower's input size, normalised with the
  feature extractor's (or CLIP's) mean and std, `image_embeds` returned (tokens: the
  projected, post-layernormed `last_hidden_state`, whose first row is `image_embeds`);
* `OpenClipImageEmbedder`: wraps any open_clip model (its `encode_image`) the same way;
* any other callable/module: called with the [0, 1] pixels, must return (B, D) or an object
  with `image_embeds` ((B, N, D) when tokens are asked for); it does its own resizing and
  normalisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.encoders.open_clip_encoder import open_clip_image_tokens

# OpenAI CLIP's pixel statistics, used when no feature extractor says otherwise
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_antialiased(pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize (B, 3, H, W) with antialiasing (CLIP towers alias badly on plain bilinear)."""
    if tuple(pixels.shape[-2:]) == tuple(size):
        return pixels
    return F.interpolate(pixels, size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)


def _normalise(pixels: torch.Tensor, mean, std) -> torch.Tensor:
    mean_t = torch.tensor(mean, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=pixels.dtype, device=pixels.device).view(1, -1, 1, 1)
    return (pixels - mean_t) / std_t


class OpenClipImageEmbedder(torch.nn.Module):
    """An open_clip model's image tower as a (B, 3, H, W) [0, 1] -> (B, D) embedder."""

    def __init__(
        self, model: torch.nn.Module, image_size: int | tuple[int, int], mean=CLIP_MEAN, std=CLIP_STD
    ):
        super().__init__()
        if not hasattr(model, "encode_image"):
            raise TypeError("OpenClipImageEmbedder needs an open_clip model with an encode_image method.")
        self.model = model
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        self.mean, self.std = tuple(mean), tuple(std)

    # diffusers' pipelines ask every component for these
    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def forward(self, pixels: torch.Tensor, tokens: bool = False) -> torch.Tensor:
        """(B, D) pooled embeddings, or (B, 1 + P, D) image tokens with `tokens=True`."""
        pixels = pixels.to(self.device, self.dtype)
        pixels = _normalise(resize_antialiased(pixels, self.image_size), self.mean, self.std)
        if not tokens:
            return self.model.encode_image(pixels)
        pooled, patches = open_clip_image_tokens(self.model, pixels)  # (B, D), (B, P, width)
        proj = self.model.visual.proj
        if proj is not None:
            patches = patches @ proj
        return torch.cat([pooled.unsqueeze(1), patches], dim=1)


def anchor_context(
    encoder, pixels: torch.Tensor, feature_extractor=None, tokens: bool = False
) -> torch.Tensor:
    """The UNet's cross-attention context of (B, 3, H, W) [0, 1] pixels: (B, N, D) float, N = 1
    (the pooled embedding) or 1 + P image tokens with `tokens`."""
    context = embed_images(encoder, pixels, feature_extractor, tokens=tokens)
    return context if tokens else context.unsqueeze(1)


def _is_transformers_clip(encoder) -> bool:
    return type(encoder).__name__ == "CLIPVisionModelWithProjection"


def embed_images(encoder, pixels: torch.Tensor, feature_extractor=None, tokens: bool = False) -> torch.Tensor:
    """(B, 3, H, W) pixels in [0, 1] -> (B, D) float embedding, or (B, 1 + P, D) with `tokens`."""
    if encoder is None:
        raise ValueError(
            "The video pipeline has no image encoder; pass one (a CLIP vision tower or any image embedder) "
            "so keyframes get their anchor embedding."
        )
    if _is_transformers_clip(encoder):
        size = encoder.config.image_size
        if feature_extractor is not None:
            crop = getattr(feature_extractor, "crop_size", None) or {}
            size = crop.get("height", size) if isinstance(crop, dict) else size
            mean = getattr(feature_extractor, "image_mean", None) or CLIP_MEAN
            std = getattr(feature_extractor, "image_std", None) or CLIP_STD
        else:
            mean, std = CLIP_MEAN, CLIP_STD
        dtype = next(encoder.parameters()).dtype
        inputs = _normalise(resize_antialiased(pixels.float(), (size, size)), mean, std).to(dtype)
        if tokens:
            hidden = encoder.vision_model(pixel_values=inputs).last_hidden_state  # (B, 1 + P, width)
            output = encoder.visual_projection(encoder.vision_model.post_layernorm(hidden))
        else:
            output = encoder(pixel_values=inputs).image_embeds
    elif isinstance(encoder, OpenClipImageEmbedder):
        output = encoder(pixels, tokens=tokens)
    else:
        output = encoder(pixels)
        output = getattr(output, "image_embeds", output)
    ndim = 3 if tokens else 2
    if not isinstance(output, torch.Tensor) or output.ndim != ndim or output.shape[0] != pixels.shape[0]:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        wanted = (
            "image tokens per image, shape (B, N, D)" if tokens else "one embedding per image, shape (B, D)"
        )
        raise ValueError(f"The image encoder returned {shape}; it must return {wanted}.")
    return output.float()
