"""End-to-end generation: model bundles and the storyboard pipeline (script -> keyframes)."""

from core.pipeline.bundle import BundleError, BundleManifest, ModelBundle, load_bundle, read_manifest
from core.pipeline.storyboard import StoryboardPipeline, load_pipeline
from core.pipeline.tiny import build_tiny_bundle
from core.pipeline.types import GenerationSettings, KeyframeResult

__all__ = [
    "BundleError",
    "BundleManifest",
    "GenerationSettings",
    "KeyframeResult",
    "ModelBundle",
    "StoryboardPipeline",
    "build_tiny_bundle",
    "load_bundle",
    "load_pipeline",
    "read_manifest",
]
