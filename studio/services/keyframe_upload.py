"""The artist's own panel: an uploaded image (a sketch, a photo) as a shot's keyframe.

The upload is validated like every image, tokenized by the project's bundle (its keyframe
tokenizer, the one that made the training keyframes' tokens), stored as a new keyframe
version with those (L, d) tokens and the bundle's id, and the shot is locked: generation
keeps it and the AR model reads its tokens as history for the shots after it, exactly as
it reads a locked generated keyframe.

Loading the bundle may take seconds, so it happens outside any database transaction (a
transaction holds SQLite's write lock); this use case takes a session *factory*.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from studio.db import KeyframeVersionPublic
from studio.errors import StudioError
from studio.media import MediaStore
from studio.media.upload import validate_image_upload
from studio.ownership import require_shot
from studio.services.keyframes import add_keyframe_version, set_shot_locked
from studio.services.model_cache import ModelCache
from studio.services.results import UploadResult

logger = logging.getLogger(__name__)


def _locked_sentence(number_hint: str) -> str:
    return (
        f"{number_hint} is locked, so its keyframe stays as it is; unlock it first if your panel should "
        "replace it."
    )


def upload_keyframe(
    *,
    session_factory: Callable[[], Session],
    media: MediaStore,
    models: ModelCache,
    owner: str,
    shot_id: int,
    upload: bytes | str | Path,
    filename: str | None = None,
) -> UploadResult[KeyframeVersionPublic]:
    """Make an uploaded image the shot's keyframe (see the module docstring)."""
    with session_factory() as session:
        shot, scene, project = require_shot(session, shot_id, owner)
        where = f"Shot {shot.position + 1} of scene {scene.position + 1}"
        if shot.locked:
            raise StudioError(_locked_sentence(where))
        bundle_setting = project.project_settings().bundle_path
    image = validate_image_upload(
        upload, filename, max_bytes=media.limits.max_bytes, max_pixels=media.limits.max_pixels
    )
    try:
        pipeline = models.storyboard(models.bundle_path(bundle_setting))
    except StudioError as error:
        raise StudioError(
            f"The panel was not added because the model bundle that reads it could not be loaded: {error}"
        ) from None
    with image.open() as opened:
        tokens = pipeline.encode_keyframe(opened.convert("RGB"))  # (L, d)
    with session_factory() as session:
        shot, _, _ = require_shot(session, shot_id, owner)
        if shot.locked:  # locked in another tab meanwhile
            raise StudioError(_locked_sentence(where))
        version = add_keyframe_version(
            session=session,
            media=media,
            owner=owner,
            shot_id=shot_id,
            image=image.open(),
            seed=None,
            tokens=tokens,
            bundle_id=getattr(pipeline, "bundle_id", None),
            params={"source": "upload", "original_name": image.original_name},
        )
        set_shot_locked(session=session, owner=owner, shot_id=shot_id, locked=True)
    notes = (
        *image.notes,
        f"{where} now shows your panel and is locked, so generation keeps it and the shots "
        "after it follow it; unlock the shot to generate it again.",
    )
    logger.info("shot %s: uploaded panel stored as keyframe version %s", shot_id, version.id)
    return UploadResult(value=version, notes=notes)
