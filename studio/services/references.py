"""Reference frames: images uploaded to a project (look, place or continuity references)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from core.script import MAX_SENTENCE_LENGTH
from studio.db import ReferenceFrame, ReferenceFramePublic
from studio.db import project as project_db
from studio.db import reference as reference_db
from studio.errors import StudioError
from studio.media import MediaStore, validate_image_upload
from studio.ownership import require_project, require_reference
from studio.services.media_files import media_transaction, release_media
from studio.services.project_view import ReferenceView
from studio.services.results import UploadResult


def add_reference_frame(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    upload: bytes | str | Path,
    filename: str | None = None,
    caption: str = "",
) -> UploadResult[ReferenceFramePublic]:
    """Validate an uploaded image (see studio.media.upload) and keep it as a reference frame."""
    project = require_project(session, project_id, owner)
    caption = caption.strip()
    if len(caption) > MAX_SENTENCE_LENGTH:
        raise StudioError(
            f"The caption has {len(caption):,} characters but may have at most {MAX_SENTENCE_LENGTH:,}; "
            "shorten it and upload the frame again."
        )
    image = validate_image_upload(
        upload, filename, max_bytes=media.limits.max_bytes, max_pixels=media.limits.max_pixels
    )
    for existing in reference_db.list_reference_frames(session=session, project_id=project.id):
        if existing.content_hash == image.sha256:
            raise StudioError("This image is already one of the project's reference frames.")
    with media_transaction(session, media) as written:
        stored = media.write_bytes(media.kind_dir(project.id, "references"), image.png, ".png")
        written.append(stored.path)
        reference = ReferenceFrame(
            project_id=project.id,
            media_path=stored.path,
            content_hash=image.sha256,
            caption=caption,
            original_name=image.original_name,
            width=image.width,
            height=image.height,
        )
        session.add(reference)
        session.flush()
        project_db.touch_project(session=session, project=project)
    return UploadResult(value=ReferenceFramePublic.model_validate(reference), notes=image.notes)


def list_reference_frames(
    *, session: Session, media: MediaStore, owner: str, project_id: int
) -> list[ReferenceView]:
    require_project(session, project_id, owner)
    return [
        ReferenceView(reference=ReferenceFramePublic.model_validate(row), path=media.resolve(row.media_path))
        for row in reference_db.list_reference_frames(session=session, project_id=project_id)
    ]


def remove_reference_frame(*, session: Session, media: MediaStore, owner: str, reference_id: int) -> None:
    reference, project = require_reference(session, reference_id, owner)
    path = reference.media_path
    session.delete(reference)
    project_db.touch_project(session=session, project=project)
    session.commit()
    release_media(session, media, [path])
