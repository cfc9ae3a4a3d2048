"""Model bundles: one folder + a manifest naming every component of the method.

    <bundle>/manifest.json
        {"format": "moviedreamer-bundle", "version": 1, "name": ..., "description": ...,
         "components": {
            "tokenizer":    {"path": "tokenizer"},   # core.tokenizer.KeyframeTokenizer (clip/ + compressor/)
            "decoder":      {"path": "decoder"},     # core.decoder.KeyframeDecoderPipeline (diffusers layout)
            "ar":           {"path": "ar"},          # core.ar.KeyframeAR (backbone/, tokenizer/, heads)
            "descriptions": {"kind": "minilm"}       # or {"kind": "minilm", "path": ...}
                          | {"kind": "open_clip_text", "architecture": "ViT-L-14", "checkpoint": "/path/longclip.pt", "context_length": 248},
            "faces":        {"kind": "clip"}         # the tokenizer's CLIP tower on face crops
                          | {"kind": "insightface", "root": "/path/insightface", "name": "buffalo_l"},
            "video":        {"path": "video"}        # optional: core.video image-to-video model
         },
         "sampler": {"context_frames": 128, "keep_frames": 32},
         "defaults": {"num_inference_steps": 20, "guidance_scale": 3.0}}

Relative paths are relative to the bundle folder; a paper-scale manifest points at absolute
local folders instead (see assets/bundles/paper-scale.manifest.json). Nothing is fetched:
every path must exist, and `load_bundle` says which one does not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.ar.sampler import SamplerConfig
from core.pipeline.types import GenerationSettings

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
# Where a bundle keeps its image-to-video model when the manifest names none (the layout
# train.stage4_video exports).
VIDEO_FOLDER = "video"
BUNDLE_FORMAT = "moviedreamer-bundle"
BUNDLE_VERSION = 1


class BundleError(ValueError):
    """A model bundle is missing, incomplete or inconsistent; the message says what to do."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FolderComponent(_Strict):
    path: str


class DescriptionComponent(_Strict):
    kind: Literal["minilm", "open_clip_text"] = "minilm"
    path: str | None = None  # minilm: a sentence-transformers folder (default: the packaged model)
    architecture: str | None = None  # open_clip_text
    checkpoint: str | None = None  # open_clip_text
    context_length: int | None = None  # open_clip_text: LongCLIP reads 248 text tokens, CLIP 77


class FaceComponent(_Strict):
    kind: Literal["clip", "insightface"] = "clip"
    root: str | None = None  # insightface model root (folder holding <name>/*.onnx)
    name: str = "buffalo_l"


class Components(_Strict):
    tokenizer: FolderComponent
    decoder: FolderComponent
    ar: FolderComponent
    descriptions: DescriptionComponent = DescriptionComponent()
    faces: FaceComponent = FaceComponent()
    video: FolderComponent | None = None


class BundleManifest(_Strict):
    format: Literal["moviedreamer-bundle"] = BUNDLE_FORMAT
    version: int = BUNDLE_VERSION
    name: str
    description: str = ""
    components: Components
    sampler: SamplerConfig = SamplerConfig()  # the sampling window
    defaults: GenerationSettings = GenerationSettings()  # what a keyframe is made with unless asked otherwise
    training: dict[str, Any] = Field(default_factory=dict)  # provenance: commands, steps, losses

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / MANIFEST_FILE
        path.write_text(self.model_dump_json(indent=2, exclude_none=True) + "\n")
        return path


def read_manifest(folder: str | Path) -> BundleManifest:
    """The manifest of a bundle folder, with a clear error for every way it can be wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(
            f"The model bundle folder {folder} does not exist. Choose a local bundle folder in the "
            "settings (the default one is assets/bundle)."
        )
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise BundleError(
            f"{folder} is not a model bundle: it has no {MANIFEST_FILE}. A bundle folder holds a "
            "manifest naming its tokenizer, decoder and AR model."
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise BundleError(
            f"The bundle manifest {path} is not valid JSON (line {error.lineno}, column {error.colno}); "
            "fix or replace it."
        ) from None
    if isinstance(data, dict) and data.get("version", BUNDLE_VERSION) > BUNDLE_VERSION:
        raise BundleError(
            f"The bundle {folder} has manifest version {data['version']} but this program reads up to "
            f"version {BUNDLE_VERSION}; update MovieDreamer Studio."
        )
    try:
        return BundleManifest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}" for e in error.errors()
        )
        raise BundleError(f"The bundle manifest {path} is incomplete or wrong: {problems}.") from None


def is_bundle_folder(folder: str | Path) -> bool:
    """Whether `folder` holds a bundle manifest (it may still be wrong; `read_manifest` says how)."""
    return (Path(folder) / MANIFEST_FILE).is_file()


def video_model_folder(folder: str | Path) -> Path:
    """Where the bundle's image-to-video model lives: its manifest's video component, else its
    video/ folder. The folder may not exist; `core.video.loading.is_video_model_folder` says."""
    folder = Path(folder)
    if is_bundle_folder(folder):
        video = read_manifest(folder).components.video
        if video is not None:
            return resolve(folder, video.path)
    return folder / VIDEO_FOLDER


def resolve(folder: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def missing_paths(folder: str | Path, manifest: BundleManifest) -> list[str]:
    """Every component path the manifest names that is not on disk, as sentences."""
    folder = Path(folder)
    components = manifest.components
    missing = []
    for name in ("tokenizer", "decoder", "ar", "video"):
        component = getattr(components, name)
        if component is not None and not resolve(folder, component.path).is_dir():
            missing.append(f"the {name} folder {resolve(folder, component.path)}")
    descriptions = components.descriptions
    if descriptions.path and not resolve(folder, descriptions.path).is_dir():
        missing.append(f"the description encoder folder {resolve(folder, descriptions.path)}")
    if descriptions.kind == "open_clip_text":
        if not descriptions.architecture or not descriptions.checkpoint:
            missing.append("the description encoder's architecture and checkpoint (open_clip_text)")
        elif not resolve(folder, descriptions.checkpoint).is_file():
            missing.append(f"the description encoder checkpoint {resolve(folder, descriptions.checkpoint)}")
    faces = components.faces
    if faces.kind == "insightface" and (not faces.root or not resolve(folder, faces.root).is_dir()):
        missing.append(f"the insightface model root {faces.root}")
    return missing


@dataclass
class ModelBundle:
    """Every loaded component of a bundle, ready for the storyboard pipeline."""

    folder: Path
    manifest: BundleManifest
    tokenizer: Any  # core.tokenizer.KeyframeTokenizer
    decoder: Any  # core.decoder.KeyframeDecoderPipeline
    ar: Any  # core.ar.KeyframeAR
    descriptions: Any  # core.encoders.descriptions.DescriptionEncoder
    faces: Any  # core.encoders.faces.FaceEncoder
    # The decoder's own face embedder when its face slots read something else than `faces`
    # (conditioner face_source "vae": core.encoders.face_latent.VaeFaceEmbedder), else None.
    decoder_faces: Any = None

    @property
    def bundle_id(self) -> str:
        return f"{self.manifest.name}@{self.folder.resolve()}"

    @property
    def decoder_face_embedder(self) -> Any:
        """What embeds cast photos for the decoder's face slots (anything with `embed_crops`)."""
        return self.decoder_faces if self.decoder_faces is not None else self.faces


def load_bundle(
    folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> ModelBundle:
    """Load every component a manifest names; raises BundleError naming what is missing."""
    from core.ar.model import KeyframeAR
    from core.decoder.pipeline import KeyframeDecoderPipeline
    from core.encoders.descriptions import MiniLMDescriptionEncoder, OpenClipTextDescriptionEncoder
    from core.encoders.faces import make_face_encoder
    from core.tokenizer.keyframe_tokenizer import KeyframeTokenizer

    folder = Path(folder)
    manifest = read_manifest(folder)
    missing = missing_paths(folder, manifest)
    if missing:
        raise BundleError(
            f"The model bundle {folder} is incomplete: {'; '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Copy the missing parts there or fix "
            f"the paths in {MANIFEST_FILE}."
        )
    components = manifest.components
    try:
        # Weights may be stored in float16 (train.bundle --dtype float16 keeps the default
        # bundle small); every component computes in `dtype` whatever the stored precision.
        tokenizer = KeyframeTokenizer.from_pretrained(
            resolve(folder, components.tokenizer.path), device=device
        )
        tokenizer.clip.model.to(dtype=torch.float32)
        tokenizer.compressor.to(dtype=torch.float32)
        decoder = KeyframeDecoderPipeline.from_pretrained(resolve(folder, components.decoder.path))
        decoder.to(device=device, dtype=dtype)
        decoder.set_progress_bar_config(disable=True)
        ar = KeyframeAR.from_pretrained(resolve(folder, components.ar.path)).to(device=device, dtype=dtype)
        ar.eval()
    except (FileNotFoundError, OSError, ValueError) as error:
        raise BundleError(f"A component of the model bundle {folder} could not be loaded: {error}") from error

    try:
        if components.descriptions.kind == "minilm":
            path = resolve(folder, components.descriptions.path) if components.descriptions.path else None
            descriptions = MiniLMDescriptionEncoder(path, device=str(device))
        else:
            descriptions = OpenClipTextDescriptionEncoder.from_checkpoint(
                components.descriptions.architecture,
                resolve(folder, components.descriptions.checkpoint),
                device=str(device),
                context_length=components.descriptions.context_length,
            )
    except (FileNotFoundError, OSError, ValueError, RuntimeError) as error:
        raise BundleError(
            f"The description encoder of the model bundle {folder} could not be loaded: {error}"
        ) from error
    face_root = resolve(folder, components.faces.root) if components.faces.root else None
    try:
        faces = make_face_encoder(
            components.faces.kind,
            clip=tokenizer.clip,
            insightface_root=face_root,
            insightface_name=components.faces.name,
        )
    except (FileNotFoundError, OSError, ValueError, RuntimeError) as error:
        raise BundleError(
            f"The face encoder of the model bundle {folder} could not be loaded: {error}"
        ) from error
    decoder_faces = decoder_face_embedder(decoder)
    _check_widths(folder, ar, tokenizer, decoder, descriptions, faces, decoder_faces or faces)
    logger.info("Loaded model bundle %s from %s", manifest.name, folder)
    return ModelBundle(folder, manifest, tokenizer, decoder, ar, descriptions, faces, decoder_faces)


def decoder_face_embedder(decoder) -> Any:
    """The decoder's own face embedder when its conditioner reads VAE latents of the cast photos
    (face_source "vae"); None when it reads the bundle's face encoder."""
    config = decoder.conditioner.config
    if getattr(config, "face_source", "face_encoder") != "vae":
        return None
    from core.encoders.face_latent import VaeFaceEmbedder

    return VaeFaceEmbedder(decoder.vae, size=getattr(config, "face_size", 64))


def _check_widths(folder: Path, ar, tokenizer, decoder, descriptions, faces, decoder_faces) -> None:
    """The components must agree on every width they exchange; say which pair does not."""
    conditioner = decoder.conditioner.config
    checks = [
        (
            "visual tokens per keyframe",
            "AR model",
            ar.config.tokens_per_frame,
            "tokenizer",
            tokenizer.num_tokens,
        ),
        ("visual-token width", "AR model", ar.config.token_dim, "tokenizer", tokenizer.token_dim),
        ("visual tokens per keyframe", "decoder", conditioner.num_tokens, "tokenizer", tokenizer.num_tokens),
        ("visual-token width", "decoder", conditioner.token_dim, "tokenizer", tokenizer.token_dim),
        (
            "description width",
            "AR model",
            ar.config.sentence_dim,
            "description encoder",
            descriptions.embedding_dim,
        ),
        (
            "description width",
            "decoder",
            conditioner.description_dim,
            "description encoder",
            descriptions.embedding_dim,
        ),
        ("face width", "AR model", ar.config.face_dim, "face encoder", faces.embedding_dim),
        (
            "face width",
            "decoder",
            conditioner.face_dim,
            "decoder's face embedder",
            decoder_faces.embedding_dim,
        ),
    ]
    for what, a, a_value, b, b_value in checks:
        if a_value != b_value:
            raise BundleError(
                f"The model bundle {folder} does not fit together: the {a} expects a {what} of "
                f"{a_value} but the {b} gives {b_value}. Use components trained together."
            )
