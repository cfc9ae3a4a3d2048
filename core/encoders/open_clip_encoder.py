"""The bundle's CLIP: one open_clip model that sees keyframes, faces and sentences.

Paper 3.2 encodes every keyframe with a frozen CLIP vision tower; the compressor reads its
spatial tokens. The same model also gives a face embedding from a face crop (the FaRL idea:
a CLIP image tower applied to faces) and the CLIP score of bench/.

Dimensions:
    B  images or sentences in a batch
    H, W  the tower's input size (default 128 x 224, the keyframe's 7:4; ViT-L/14: 224 x 224)
    N  spatial tokens = (H / patch) * (W / patch)  (default 8 * 14 = 112)
    C  the vision tower's width (default 256; ViT-L/14: 1024)
    E  the joint embedding width (default 256; ViT-L/14: 768)
    T  text context length

Architectures are open_clip JSON configs. Ours live in `clip_configs/` and are registered
with `open_clip.add_model_config` on first use (never at import). A trained model is saved in
open_clip's own `local-dir:` layout (open_clip_config.json + open_clip_model.safetensors), so
`open_clip.create_model_and_transforms("local-dir:<folder>")` opens it too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent / "clip_configs"
CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
# OpenAI's CLIP statistics; open_clip's default preprocess uses them, and so do ours so a
# paper-scale ViT-L/14 checkpoint sees the inputs it was trained on.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
# The text tower's parts in open_clip's CLIP: a saved model may leave them out (`text_tower`
# in its config is false) when only the image tower is used, as in the CPU bundle, where the
# 49,408-row token table alone was more than half of the tokenizer's size.
TEXT_PARTS = (
    "token_embedding",
    "transformer",
    "positional_embedding",
    "ln_final",
    "text_projection",
    "attn_mask",
)


def is_text_key(key: str) -> bool:
    return key.split(".", 1)[0] in TEXT_PARTS


_registered = False


def register_configs() -> None:
    """Make our architectures (`moviedreamer-clip-*`) known to open_clip, once per process."""
    global _registered
    if _registered:
        return
    import open_clip

    open_clip.add_model_config(CONFIG_DIR)
    _registered = True


def available_architectures() -> list[str]:
    """Names of the architectures shipped in clip_configs/ (without the .json suffix)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def letterbox(image: Image.Image, size: tuple[int, int], fill: tuple[int, int, int]) -> Image.Image:
    """Fit `image` into `size` = (H, W) keeping its aspect ratio, padding with `fill`.

    Why letterbox: one tower must read 224x128 keyframes and square face crops; squashing
    would change face shapes (the very thing the face embedding must keep) and cropping
    would cut characters at the frame edge.
    """
    height, width = size
    image = image.convert("RGB")
    scale = min(width / image.width, height / image.height)
    new_w = max(1, round(image.width * scale))
    new_h = max(1, round(image.height * scale))
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), Image.BICUBIC)
    if (new_w, new_h) == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), fill)
    canvas.paste(image, ((width - new_w) // 2, (height - new_h) // 2))
    return canvas


@dataclass(frozen=True)
class ClipImageTransform:
    """PIL image -> CLIP-normalised (3, H, W): letterbox to the tower's size, scale, normalise."""

    size: tuple[int, int]
    mean: tuple[float, ...] = OPENAI_MEAN
    std: tuple[float, ...] = OPENAI_STD

    def __call__(self, image: Image.Image) -> torch.Tensor:
        fill = tuple(round(255 * m) for m in self.mean)
        array = np.asarray(letterbox(image, self.size, fill), dtype=np.float32) / 255.0  # (H, W, 3)
        pixels = torch.from_numpy(array).permute(2, 0, 1)  # (3, H, W)
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (pixels - mean) / std


def open_clip_image_tokens(model, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """An open_clip model's pooled image embedding (B, E) and last-block patch tokens (B, N, C).

    The tokens are taken after the final LayerNorm (what open_clip's own `output_tokens`
    returns); the class token is dropped. `pixels` are normalised model inputs.
    """
    out = model.visual.forward_intermediates(
        pixels, indices=1, normalize_intermediates=True, output_fmt="NLC"
    )
    return out["image_features"], out["image_intermediates"][-1]


class OpenClipEncoder:
    """An open_clip model plus its tokenizer and preprocessing.

    `model` is the open_clip `CLIP` module; stage 0 trains it, everyone else calls `freeze()`.
    """

    def __init__(self, model: torch.nn.Module, model_cfg: dict, tokenizer, mean=OPENAI_MEAN, std=OPENAI_STD):
        visual = getattr(model, "visual", None)
        if visual is None or not hasattr(visual, "forward_intermediates") or not hasattr(visual, "grid_size"):
            raise TypeError(
                "The CLIP model has no open_clip VisionTransformer image tower; the keyframe "
                "tokenizer needs its spatial tokens. Use a ViT architecture (not a ResNet or timm tower)."
            )
        self.model = model
        self.model_cfg = model_cfg
        self.tokenizer = tokenizer
        self.mean = tuple(mean)
        self.std = tuple(std)

    @property
    def has_text_tower(self) -> bool:
        """False for a model saved without its text tower (`save_pretrained(text_tower=False)`)."""
        return hasattr(self.model, "token_embedding")

    # -- construction ----------------------------------------------------------------

    @classmethod
    def build(
        cls, architecture: str, *, device: str | torch.device = "cpu", seed: int | None = None
    ) -> OpenClipEncoder:
        """A randomly initialised model of a registered architecture (ours or open_clip's)."""
        import open_clip

        register_configs()
        model_cfg = open_clip.get_model_config(architecture)
        if model_cfg is None:
            raise ValueError(
                f"The CLIP architecture {architecture!r} is unknown. Use one of ours "
                f"({', '.join(available_architectures())}) or an open_clip name such as ViT-L-14."
            )
        # open_clip initialises from the global RNG; fork it so callers' streams are untouched.
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            model = open_clip.create_model(architecture, pretrained=None, device=device)
        return cls(model, model_cfg, open_clip.get_tokenizer(architecture))

    @classmethod
    def from_checkpoint(
        cls,
        architecture: str,
        checkpoint: str | Path,
        *,
        device: str | torch.device = "cpu",
        context_length: int | None = None,
    ) -> OpenClipEncoder:
        """A registered architecture with weights from a local checkpoint file (e.g. ViT-L/14).

        context_length: the text tower's length when the checkpoint differs from the
        architecture's (LongCLIP-L: 248 instead of ViT-L-14's 77).
        """
        import open_clip

        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            # open_clip would treat a missing path as a hub tag and try to download it.
            raise FileNotFoundError(
                f"The CLIP checkpoint {checkpoint} does not exist. Give the path of a local "
                "open_clip checkpoint file (.bin, .pt or .safetensors); nothing is downloaded."
            )
        register_configs()
        model_cfg = open_clip.get_model_config(architecture)
        if model_cfg is None:
            raise ValueError(f"The CLIP architecture {architecture!r} is unknown to open_clip.")
        model = open_clip.create_model(
            architecture, pretrained=str(checkpoint), device=device, force_context_length=context_length
        )
        if context_length is not None:
            model_cfg = {**model_cfg, "text_cfg": {**model_cfg["text_cfg"], "context_length": context_length}}
        return cls(model, model_cfg, open_clip.get_tokenizer(architecture, context_length=context_length))

    @classmethod
    def from_pretrained(cls, folder: str | Path, *, device: str | torch.device = "cpu") -> OpenClipEncoder:
        """A model saved by `save_pretrained` (open_clip's local-dir layout)."""
        import open_clip

        folder = Path(folder)
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"{folder} is not a saved CLIP model: {CONFIG_FILE} is missing. Point to the "
                "'clip' folder written by train.stage0_representation (or a model bundle)."
            )
        config = json.loads((folder / CONFIG_FILE).read_text())
        preprocess = config.get("preprocess_cfg", {})
        if config.get("text_tower", True):
            model = open_clip.create_model(f"local-dir:{folder}", device=device)
        else:
            model = _load_image_tower(folder, device)
        tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
        return cls(
            model,
            config["model_cfg"],
            tokenizer,
            mean=preprocess.get("mean", OPENAI_MEAN),
            std=preprocess.get("std", OPENAI_STD),
        )

    def save_pretrained(self, folder: str | Path, *, text_tower: bool | None = None) -> None:
        """open_clip's local-dir layout; text_tower=False leaves the text tower out.

        Without the text tower the saved model still gives the same image tokens, pooled
        image and face embeddings; `embed_texts` then says that the tower is absent.
        """
        from safetensors.torch import save_file

        keep_text = self.has_text_tower if text_tower is None else text_tower
        if keep_text and not self.has_text_tower:
            raise ValueError("This CLIP model has no text tower to save; use text_tower=False.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "model_cfg": self.model_cfg,
            "preprocess_cfg": {"mean": list(self.mean), "std": list(self.std), "size": list(self.image_size)},
        }
        if not keep_text:
            config["text_tower"] = False
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        state = {
            k: v.detach().contiguous().cpu()
            for k, v in self.model.state_dict().items()
            if keep_text or not is_text_key(k)
        }
        save_file(state, str(folder / WEIGHTS_FILE))

    # -- facts -----------------------------------------------------------------------

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of the vision tower's input."""
        return tuple(self.model.visual.image_size)

    @property
    def num_patches(self) -> int:
        """N, the number of spatial tokens."""
        grid_h, grid_w = self.model.visual.grid_size
        return grid_h * grid_w

    @property
    def token_width(self) -> int:
        """C, the width of the spatial tokens."""
        return self.model.visual.positional_embedding.shape[-1]

    @property
    def embed_dim(self) -> int:
        """E, the width of image/text/face embeddings."""
        return self.model.visual.output_dim

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def freeze(self) -> OpenClipEncoder:
        """Eval mode and no gradients: the tower is frozen outside stage 0 (paper 3.2)."""
        self.model.eval()
        self.model.requires_grad_(False)
        return self

    def to(self, device: str | torch.device) -> OpenClipEncoder:
        self.model.to(device)
        return self

    # -- inputs ----------------------------------------------------------------------

    @property
    def transform(self) -> ClipImageTransform:
        """The image preprocessing of this tower, as a small picklable object for data loaders."""
        return ClipImageTransform(self.image_size, self.mean, self.std)

    def to_pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images -> normalised (B, 3, H, W) float tensor on the model's device."""
        if len(images) == 0:
            raise ValueError("No images were given to the CLIP encoder; pass at least one image.")
        transform = self.transform
        return torch.stack([transform(im) for im in images]).to(self.device)

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Sentences -> (B, T) token ids on the model's device."""
        if not self.has_text_tower:
            raise NotImplementedError(
                "This CLIP model was saved without its text tower, so it cannot embed sentences. "
                "Embed descriptions with the bundle's description encoder (e.g. MiniLM), or use a "
                "CLIP saved with its text tower."
            )
        if len(texts) == 0:
            raise ValueError("No sentences were given to the CLIP text tower; pass at least one.")
        return self.tokenizer(list(texts)).to(self.device)

    # -- outputs ---------------------------------------------------------------------

    def encode_image_tokens(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) -> pooled embedding (B, E) and spatial tokens (B, N, C).

        The spatial tokens are the last block's patch tokens after the final LayerNorm (what
        open_clip's own `output_tokens` returns); the class token is dropped.
        """
        self._check_pixels(pixels)
        return open_clip_image_tokens(self.model, pixels)

    def embed_images(self, pixels: torch.Tensor, *, normalize: bool = True) -> torch.Tensor:
        """(B, 3, H, W) -> (B, E), unit length by default."""
        self._check_pixels(pixels)
        return self.model.encode_image(pixels, normalize=normalize)

    def embed_texts(self, texts: Sequence[str], *, normalize: bool = True) -> torch.Tensor:
        """Sentences -> (B, E), unit length by default."""
        return self.model.encode_text(self.tokenize(texts), normalize=normalize)

    @torch.no_grad()
    def clip_score(self, images: Sequence[Image.Image], texts: Sequence[str]) -> torch.Tensor:
        """100 x cosine(image, text) per pair (bench/ metric, paper 4.2): (B,)."""
        if len(images) != len(texts):
            raise ValueError(
                f"clip_score pairs images with texts but got {len(images)} images and {len(texts)} texts."
            )
        image = self.embed_images(self.to_pixels(images))
        text = self.embed_texts(texts)
        return 100.0 * (image * text).sum(dim=-1)

    def _check_pixels(self, pixels: torch.Tensor) -> None:
        if pixels.ndim != 4 or tuple(pixels.shape[1:]) != (3, *self.image_size):
            raise ValueError(
                f"The CLIP tower expects pixels of shape (B, 3, {self.image_size[0]}, {self.image_size[1]}) "
                f"but got {tuple(pixels.shape)}; prepare images with OpenClipEncoder.to_pixels."
            )


def _load_image_tower(folder: Path, device) -> torch.nn.Module:
    """A model saved with text_tower=False: its image tower's weights, no text tower at all."""
    import open_clip
    from safetensors.torch import load_file

    # open_clip warns that "no pretrained weights" were loaded: true of its call, not of ours
    quiet = _DropMessage("No pretrained weights loaded")
    logging.getLogger().addFilter(quiet)
    try:
        with torch.random.fork_rng(devices=[]):  # the skipped random init must not move callers' RNG
            model = open_clip.create_model(f"local-dir:{folder}", load_weights=False, device=device)
    finally:
        logging.getLogger().removeFilter(quiet)
    for name in TEXT_PARTS:
        if hasattr(model, name):
            delattr(model, name)
    state = load_file(str(folder / WEIGHTS_FILE), device=str(device))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"The CLIP weights in {folder} do not fit its image tower (missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}); the folder is damaged or from another architecture."
        )
    return model


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()
