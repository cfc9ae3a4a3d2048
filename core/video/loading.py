"""Save and load video models: our own folders and Stable Video Diffusion folders, all local.

Layouts understood by `load_video_pipeline(folder)`:

* an SVD / SVD-XT diffusers folder (model_index.json, unet/, vae/, image_encoder/,
  scheduler/, feature_extractor/): loaded as is; its UNet has no last-frame channels;
* a folder written by `save_video_pipeline`: the same layout, plus, when the anchor tower is
  the bundle's open_clip CLIP (which diffusers cannot save), `anchor_encoder.json` and that
  CLIP in `clip/` (open_clip's local-dir layout).

Nothing is ever fetched from a hub: paths must exist, and loading runs with
`local_files_only=True`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from core.video.image_embedder import OpenClipImageEmbedder
from core.video.pipeline import AnchoredVideoPipeline

logger = logging.getLogger(__name__)

ANCHOR_FILE = "anchor_encoder.json"
MODEL_INDEX = "model_index.json"  # diffusers' file naming a pipeline's components
CLIP_FOLDER = "clip"


def save_video_pipeline(pipeline: AnchoredVideoPipeline, folder: str | Path, clip_encoder=None) -> Path:
    """Write `pipeline` to `folder`; `clip_encoder` is the core.encoders OpenClipEncoder behind
    an `OpenClipImageEmbedder`, saved beside the diffusers components."""
    folder = Path(folder)
    encoder = pipeline.image_encoder
    if isinstance(encoder, OpenClipImageEmbedder):
        if clip_encoder is None:
            raise ValueError(
                "The pipeline's anchor tower is an open_clip model; pass its OpenClipEncoder as clip_encoder "
                "so it is saved with the video model."
            )
        savable = AnchoredVideoPipeline(
            vae=pipeline.vae,
            image_encoder=None,
            unet=pipeline.unet,
            scheduler=pipeline.scheduler,
            feature_extractor=pipeline.feature_extractor,
            anchor_tokens=pipeline.config.get("anchor_tokens", False),
        )
        savable.save_pretrained(folder)
        clip_encoder.save_pretrained(folder / CLIP_FOLDER)
        (folder / ANCHOR_FILE).write_text(json.dumps({"kind": "open_clip", "folder": CLIP_FOLDER}, indent=2))
    elif encoder is None or hasattr(encoder, "save_pretrained"):
        pipeline.save_pretrained(folder)
    else:
        raise TypeError(
            f"The anchor tower {type(encoder).__name__} cannot be saved; save the pipeline without it and pass "
            "the tower again when loading (load_video_pipeline(folder, image_encoder=...))."
        )
    return folder


def is_video_model_folder(folder: str | Path) -> bool:
    """Whether `folder` holds a video model `load_video_pipeline` can read (ours or an SVD one)."""
    return (Path(folder) / MODEL_INDEX).is_file()


def load_video_pipeline(
    folder: str | Path,
    *,
    image_encoder=None,
    torch_dtype: torch.dtype | None = None,
    device: str | torch.device = "cpu",
) -> AnchoredVideoPipeline:
    """Load a video model from a local folder (ours or an SVD one); `image_encoder` overrides the tower."""
    folder = Path(folder)
    if not is_video_model_folder(folder):
        raise FileNotFoundError(
            f"{folder} is not a video model folder ({MODEL_INDEX} is missing); point to the folder written by "
            "train.stage4_video or to a local Stable Video Diffusion download."
        )
    kwargs: dict = {"local_files_only": True}
    if torch_dtype is not None:
        kwargs["torch_dtype"] = torch_dtype
    anchor_file = folder / ANCHOR_FILE
    if image_encoder is None and anchor_file.is_file():
        anchor = json.loads(anchor_file.read_text())
        if anchor.get("kind") != "open_clip":
            raise ValueError(f"{anchor_file} names an unknown anchor tower kind {anchor.get('kind')!r}.")
        from core.encoders.open_clip_encoder import OpenClipEncoder

        clip = OpenClipEncoder.from_pretrained(folder / anchor["folder"]).freeze()
        image_encoder = OpenClipImageEmbedder(clip.model, clip.image_size, clip.mean, clip.std)
    if image_encoder is not None:
        kwargs["image_encoder"] = image_encoder
    pipeline = AnchoredVideoPipeline.from_pretrained(str(folder), **kwargs)
    if pipeline.image_encoder is None:
        raise ValueError(
            f"{folder} holds no anchor image tower; pass one with image_encoder=... (the tower the model was trained with)."
        )
    pipeline.image_encoder.requires_grad_(False).eval()
    # Bundles may store weights in float16 to stay small; compute in float32 unless asked.
    return pipeline.to(device=device, dtype=torch_dtype or torch.float32)
