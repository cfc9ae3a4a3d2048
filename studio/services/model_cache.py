"""The models a running studio has loaded: storyboard pipelines by bundle folder, video models
by video folder, each loaded on first use and then reused by every job and every user.

A `ModelCache` is owned by the `StudioContext` (never a module global), so tests and several
studios in one process never share models by accident. Loading is serialised by one lock:
two users asking for the same bundle at once load it once. Only the most recently used few
models stay in memory, so trying another bundle in Settings does not pile models up.

Bundle folders are resolved here too: a project's own `bundle_path` setting, else the
studio's `--bundle`, else the embedded default `assets/bundle`. A project may only use the
bundles the operator offers (`offered_bundles`): the default one and every bundle folder
directly inside a `--bundles DIR` root; any other server folder is refused with a sentence,
so a project setting cannot point the studio at /etc. Where a bundle keeps its video model is
the bundle's business (`core.pipeline.bundle.video_model_folder`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import StudioError

if TYPE_CHECKING:
    from core.pipeline.types import StoryboardGenerator

logger = logging.getLogger(__name__)

DEFAULT_BUNDLE_DIR = Path(__file__).resolve().parents[2] / "assets" / "bundle"

StoryboardLoader = Callable[[Path, str], "StoryboardGenerator"]
VideoLoader = Callable[[Path, str], Any]


@dataclass(frozen=True)
class OfferedBundle:
    """A bundle a project may choose: its folder name, resolved path, and whether it is the default."""

    name: str
    path: Path
    default: bool


# core.pipeline and core.video import torch, transformers and diffusers, which the studio's pages
# do not need: they are imported where a model or a bundle folder is first looked at.


def _load_storyboard_pipeline(path: Path, device: str) -> StoryboardGenerator:
    from core.pipeline import BundleError, load_pipeline

    try:
        return load_pipeline(path, device=device)
    except BundleError as error:
        raise StudioError(str(error)) from error


def _load_video_pipeline(path: Path, device: str) -> Any:
    from core.video.loading import load_video_pipeline

    try:
        return load_video_pipeline(path, device=device)
    except (FileNotFoundError, ValueError) as error:
        raise StudioError(f"The video model in {path} could not be loaded: {error}") from error


class ModelCache:
    """Loaded pipelines of one studio process, keyed by their resolved folder."""

    def __init__(
        self,
        *,
        default_bundle: Path | None = None,
        bundle_roots: tuple[Path, ...] | list[Path] = (),
        device: str = "cpu",
        keep: int = 2,
        storyboard_loader: StoryboardLoader = _load_storyboard_pipeline,
        video_loader: VideoLoader = _load_video_pipeline,
    ):
        self.default_bundle = Path(default_bundle) if default_bundle is not None else DEFAULT_BUNDLE_DIR
        self.bundle_roots = tuple(Path(root) for root in bundle_roots)
        self.device = device
        self.keep = keep
        self._loaders = {"storyboard": storyboard_loader, "video": video_loader}
        self._models: OrderedDict[tuple[str, Path], Any] = OrderedDict()
        self._lock = threading.Lock()

    # -- folders -----------------------------------------------------------------------------

    def offered_bundles(self) -> list[OfferedBundle]:
        """The bundles projects may choose: the default first, then each root's bundle folders."""
        offered = [
            OfferedBundle(name="default", path=self.default_bundle.expanduser().resolve(), default=True)
        ]
        for root in self.bundle_roots:
            # Only a studio with --bundles roots pays for core.pipeline's imports here.
            from core.pipeline.bundle import is_bundle_folder

            root = root.expanduser().resolve()
            candidates = (
                [root]
                if is_bundle_folder(root)
                else sorted(
                    child for child in (root.iterdir() if root.is_dir() else ()) if is_bundle_folder(child)
                )
            )
            for folder in candidates:
                if all(folder != bundle.path for bundle in offered):
                    offered.append(OfferedBundle(name=folder.name, path=folder, default=False))
        return offered

    def bundle_path(self, project_bundle: str | Path | None = None) -> Path:
        """The bundle folder a project uses; a StudioError sentence when it is missing or not
        one of the offered bundles."""
        if project_bundle is not None and str(project_bundle).strip():
            path = Path(str(project_bundle).strip()).expanduser().resolve()
            if all(path != bundle.path for bundle in self.offered_bundles()):
                raise StudioError(
                    f"The model bundle folder {path} is not one of the bundles this studio offers; choose a bundle "
                    "in Settings (the studio's operator adds bundles with --bundles DIR)."
                )
            if not path.is_dir():
                raise StudioError(
                    f"The model bundle folder {path} does not exist any more; choose another bundle in Settings."
                )
            return path
        path = self.default_bundle.expanduser().resolve()
        if not path.is_dir():
            raise StudioError(
                f"The default model bundle is not installed (no folder {path}); train it with the scripts in "
                "train/ (see README), or choose a bundle folder in Settings."
            )
        return path

    @staticmethod
    def video_folder(bundle_path: Path) -> Path:
        """The bundle's image-to-video model (its manifest's video component, else its video/
        folder); a StudioError sentence when the bundle has none."""
        from core.pipeline.bundle import BundleError, video_model_folder
        from core.video.loading import is_video_model_folder

        try:
            folder = video_model_folder(bundle_path)
        except BundleError as error:
            raise StudioError(str(error)) from error
        if not is_video_model_folder(folder):
            raise StudioError(
                f"The model bundle {bundle_path} has no video model, so clips cannot be rendered with it; the "
                "animatic still works from the keyframes. Choose a bundle with a video model in Settings to "
                "render clips."
            )
        return folder

    # -- models ------------------------------------------------------------------------------

    def storyboard(self, bundle_path: Path) -> StoryboardGenerator:
        """The storyboard pipeline of a bundle folder (loaded once)."""
        return self._get("storyboard", Path(bundle_path))

    def video(self, folder: Path) -> Any:
        """The image-to-video pipeline of a video model folder (loaded once)."""
        return self._get("video", Path(folder))

    def loaded(self, kind: str, path: Path) -> Any | None:
        """The model if it is already in memory (never loads)."""
        with self._lock:
            return self._models.get((kind, Path(path).resolve()))

    def _get(self, kind: str, path: Path) -> Any:
        key = (kind, path.resolve())
        with self._lock:
            model = self._models.get(key)
            if model is None:
                logger.info("loading the %s model from %s on %s", kind, key[1], self.device)
                model = self._loaders[kind](key[1], self.device)
                self._models[key] = model
            self._models.move_to_end(key)
            while len(self._models) > self.keep:
                (old_kind, old_path), _ = self._models.popitem(last=False)
                logger.info("unloaded the %s model of %s", old_kind, old_path)
            return model

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
