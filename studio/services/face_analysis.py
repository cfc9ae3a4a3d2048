"""The face step of an uploaded cast photo: find the face, keep its crop and its embedding.

The embedding space belongs to the model bundle (the AR model and the decoder were trained on
it), so the face encoder is the bundle's: its pipeline's `face_encoder` (a `core.encoders.FaceEncoder`).
The crop matters most: the pipeline embeds cast photos as face crops, so generation reads the
crop made here. A studio without a loadable bundle keeps the photo as it is (generation then
reads the whole photo).

The model is loaded outside any database transaction (a transaction holds SQLite's write
lock, and loading may take seconds), so this use case takes a session *factory*.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlmodel import Session

from studio.db import FacePhotoPublic
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_face_photo
from studio.services.cast import set_face_analysis
from studio.services.model_cache import ModelCache

logger = logging.getLogger(__name__)

# The detector name stored when no face was found and the whole photo stands for the face.
WHOLE_IMAGE = "whole-image"


@dataclass(frozen=True)
class FaceAnalysis:
    """What the face step did: the updated photo (None if no encoder) and notes for the user."""

    photo: FacePhotoPublic | None
    notes: tuple[str, ...]


def _crop_and_embed(encoder, image: Image.Image) -> tuple[Image.Image, list[float], str, list[str]]:
    from core.encoders.faces import NoFaceFound, square_crop

    notes = []
    margin = getattr(getattr(encoder, "embedder", None), "margin", 0.25)
    try:
        box = encoder.main_face(image)
        crop = square_crop(image, box, margin)
        embedding = encoder.embed(image)
        detector = type(encoder.detector).__name__
    except NoFaceFound:
        # Photos that already are face crops (the toy cast, tight studio portraits) often have
        # no detectable face left; the whole photo is then the face.
        crop = image.convert("RGB")
        embedding = encoder.embed(image, use_whole_image=True)
        detector = WHOLE_IMAGE
        notes.append("No face was found in the photo, so the whole photo is used as the face.")
    vector = embedding.detach().cpu().float().numpy().reshape(-1).tolist()  # (E,)
    return crop, vector, detector, notes


def analyse_face_photo(
    *,
    session_factory: Callable[[], Session],
    media: MediaStore,
    models: ModelCache,
    owner: str,
    photo_id: int,
) -> FaceAnalysis:
    """Detect, crop and embed one face photo with the project's bundle (see the module docstring)."""
    with session_factory() as session:
        photo, _, project = require_face_photo(session, photo_id, owner)
        path: Path = media.resolve(photo.media_path)
        bundle_setting = project.project_settings().bundle_path
    try:
        bundle = models.bundle_path(bundle_setting)
        pipeline = models.storyboard(bundle)
    except StudioError as error:
        logger.info("face photo %s kept without analysis: %s", photo_id, error)
        return FaceAnalysis(
            photo=None,
            notes=(
                "The face was not analysed because no model bundle could be loaded; the photo is kept and used "
                "as it is.",
            ),
        )
    encoder = pipeline.face_encoder
    if encoder is None:
        return FaceAnalysis(photo=None, notes=())
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    crop, embedding, detector, notes = _crop_and_embed(encoder, image)
    with session_factory() as session:
        updated = set_face_analysis(
            session=session,
            media=media,
            owner=owner,
            photo_id=photo_id,
            crop=crop,
            embedding=embedding,
            detector=detector,
            embedding_model=pipeline.bundle_id,
        )
    return FaceAnalysis(photo=updated, notes=tuple(notes))
