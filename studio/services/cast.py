"""Cast use cases: add, edit, reorder and remove characters; add and remove face photos.

Edits are validated as part of the whole script (`studio.services.validation`), so a name
used twice or a sentence the encoder cannot read comes back as a problem on that field.
Renaming a character renames it in every shot and dialogue line that names it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from sqlmodel import Session

from studio.db import CharacterPublic, FacePhoto, FacePhotoPublic
from studio.db import cast as cast_db
from studio.db import project as project_db
from studio.db import storyboard as storyboard_db
from studio.db.positions import move
from studio.errors import StudioError
from studio.media import MediaStore, validate_image_upload
from studio.ownership import require_character, require_face_photo, require_project
from studio.services.media_files import media_transaction, release_media
from studio.services.project_view import CharacterView, character_view
from studio.services.results import GENERAL, EditResult, UploadResult
from studio.services.script_export import project_script_data
from studio.services.stale_forms import character_fingerprint, stale_problem
from studio.services.undo import DeletionView, forget_old_deletions, record_character, record_photo
from studio.services.validation import field_problems

logger = logging.getLogger(__name__)


def sentences_from_input(description: str | Sequence[str] | None) -> list[str] | None:
    """A description as a list of sentences: a text gives one sentence per non-empty line."""
    if description is None:
        return None
    lines = description.splitlines() if isinstance(description, str) else list(description)
    return [line.strip() for line in lines if line and line.strip()]


def list_cast(*, session: Session, media: MediaStore, owner: str, project_id: int) -> list[CharacterView]:
    require_project(session, project_id, owner)
    return [
        character_view(session, media, c)
        for c in cast_db.list_characters(session=session, project_id=project_id)
    ]


def add_character(
    *, session: Session, owner: str, project_id: int, name: str, description: str | Sequence[str] = ()
) -> EditResult[CharacterPublic]:
    project = require_project(session, project_id, owner)
    candidate = {"name": name.strip(), "description": sentences_from_input(description) or [], "photos": []}
    data = project_script_data(session=session, project=project)
    data["cast"].append(candidate)
    problems = field_problems(data, ("cast", len(data["cast"]) - 1))
    if problems:
        return EditResult(problems=problems)
    character = cast_db.create_character(
        session=session,
        project_id=project.id,
        character_in=cast_db.CharacterCreate(name=candidate["name"], description=candidate["description"]),
    )
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=CharacterPublic.model_validate(character))


def edit_character(
    *,
    session: Session,
    owner: str,
    character_id: int,
    name: str | None = None,
    description: str | Sequence[str] | None = None,
    expected: str | None = None,
) -> EditResult[CharacterPublic]:
    """Change the name and/or description; a new name is carried into every shot and line.
    `expected`: the character's fingerprint when the form was loaded (stale_forms)."""
    character, project = require_character(session, character_id, owner)
    stale = stale_problem("character", expected, character_fingerprint(character))
    if stale:
        return EditResult(problems={GENERAL: stale})
    new_name = name.strip() if name is not None else character.name
    new_description = sentences_from_input(description)
    data = project_script_data(session=session, project=project)
    entry = data["cast"][character.position]
    old_key = character.name.casefold()
    entry["name"] = new_name
    if new_description is not None:
        entry["description"] = new_description
    renamed = new_name != character.name
    if renamed:
        for scene in data["scenes"]:
            for shot in scene["shots"]:
                shot["characters"] = [new_name if n.casefold() == old_key else n for n in shot["characters"]]
                for line in shot["dialogue"]:
                    if str(line.get("character", "")).casefold() == old_key:
                        line["character"] = new_name
    problems = field_problems(data, ("cast", character.position))
    if problems:
        return EditResult(problems=problems)
    if renamed:
        _rename_in_shots(session, project.id, old_key, new_name)
    character.name = new_name
    if new_description is not None:
        character.description = new_description
    session.add(character)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=CharacterPublic.model_validate(character))


def _rename_in_shots(session: Session, project_id: int, old_key: str, new_name: str) -> None:
    for _, shot in storyboard_db.list_project_shots(session=session, project_id=project_id):
        characters = [new_name if n.casefold() == old_key else n for n in shot.characters]
        dialogue = [
            {**line, "character": new_name} if str(line.get("character", "")).casefold() == old_key else line
            for line in shot.dialogue
        ]
        if characters != shot.characters or dialogue != shot.dialogue:
            # New list objects: SQLAlchemy only notices a JSON column that is reassigned.
            shot.characters, shot.dialogue = characters, dialogue
            session.add(shot)


def move_character(
    *, session: Session, owner: str, character_id: int, new_index: int
) -> list[CharacterPublic]:
    """Put the character at 0-based `new_index` in the cast list."""
    character, project = require_character(session, character_id, owner)
    siblings = cast_db.list_characters(session=session, project_id=project.id)
    if not 0 <= new_index < len(siblings):
        raise StudioError(
            f"The cast has {len(siblings)} members; choose a position from 1 to {len(siblings)}."
        )
    ordered = move(session, siblings, character.id, new_index)
    project_db.touch_project(session=session, project=project)
    session.commit()
    return [CharacterPublic.model_validate(row) for row in ordered]


def remove_character(*, session: Session, media: MediaStore, owner: str, character_id: int) -> DeletionView:
    """Remove a cast member and their photos, undoably (studio.services.undo); refused while a
    shot or line still names them."""
    character, project = require_character(session, character_id, owner)
    key = character.name.casefold()
    uses = []
    shots = storyboard_db.list_project_shots(session=session, project_id=project.id)
    for number, (_, shot) in enumerate(shots, start=1):
        in_dialogue = any(str(line.get("character", "")).casefold() == key for line in shot.dialogue)
        if any(n.casefold() == key for n in shot.characters) or in_dialogue:
            uses.append(number)
    if uses:
        shown = ", ".join(str(n) for n in uses[:8]) + (", ..." if len(uses) > 8 else "")
        raise StudioError(
            f"{character.name} appears in {len(uses)} shot(s) ({shown}); remove them from those shots "
            "(and their dialogue) first, then remove the cast member."
        )
    deletion = record_character(session, character)
    cast_db.delete_character(session=session, character=character)
    project_db.touch_project(session=session, project=project)
    session.commit()
    session.expire_all()
    forget_old_deletions(session, media, project.id)
    return DeletionView(id=deletion.id, kind=deletion.kind, label=deletion.label)


def add_face_photo(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    character_id: int,
    upload: bytes | str | Path,
    filename: str | None = None,
) -> UploadResult[FacePhotoPublic]:
    """Validate an uploaded photo (see studio.media.upload), store it, attach it to the character."""
    character, project = require_character(session, character_id, owner)
    image = validate_image_upload(
        upload, filename, max_bytes=media.limits.max_bytes, max_pixels=media.limits.max_pixels
    )
    for existing in cast_db.list_face_photos(session=session, character_id=character.id):
        if existing.content_hash == image.sha256:
            raise StudioError(f"This photo is already one of {character.name}'s photos.")
    with media_transaction(session, media) as written:
        stored = media.write_bytes(media.kind_dir(project.id, "faces"), image.png, ".png")
        written.append(stored.path)
        photo = cast_db.create_face_photo(
            session=session,
            character_id=character.id,
            media_path=stored.path,
            content_hash=image.sha256,
            original_name=image.original_name,
            width=image.width,
            height=image.height,
        )
        project_db.touch_project(session=session, project=project)
    return UploadResult(value=FacePhotoPublic.model_validate(photo), notes=image.notes)


def set_face_analysis(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    photo_id: int,
    crop: Image.Image,
    embedding: Sequence[float] | np.ndarray,
    detector: str,
    embedding_model: str | None = None,
) -> FacePhotoPublic:
    """Keep what the face step found in a photo: the face crop, its embedding, the detector and
    the bundle whose face encoder made the embedding (`embedding_model`, its bundle_id)."""
    photo, _, project = require_face_photo(session, photo_id, owner)
    vector = np.asarray(embedding, dtype="<f4").reshape(-1)  # (D,)
    if vector.size == 0 or not np.all(np.isfinite(vector)):
        raise ValueError("a face embedding must be a non-empty vector of finite numbers")
    buffer = io.BytesIO()
    crop.convert("RGB").save(buffer, format="PNG")
    old_crop = photo.crop_path
    with media_transaction(session, media) as written:
        stored = media.write_bytes(media.kind_dir(project.id, "crops"), buffer.getvalue(), ".png")
        written.append(stored.path)
        photo.crop_path = stored.path
        photo.embedding = vector.tobytes()
        photo.embedding_dim = int(vector.size)
        photo.embedding_model = embedding_model
        photo.detector = detector
        session.add(photo)
    if old_crop and old_crop != photo.crop_path:
        release_media(session, media, [old_crop])
    return FacePhotoPublic.model_validate(photo)


def face_embedding(photo: FacePhoto) -> np.ndarray | None:
    """The stored embedding of a face photo as a float32 vector (D,), or None."""
    if photo.embedding is None:
        return None
    return np.frombuffer(photo.embedding, dtype="<f4").copy()


def remove_face_photo(*, session: Session, media: MediaStore, owner: str, photo_id: int) -> DeletionView:
    """Remove a face photo, undoably (studio.services.undo)."""
    photo, character, project = require_face_photo(session, photo_id, owner)
    deletion = record_photo(session, photo, character)
    cast_db.delete_face_photo(session=session, photo=photo)
    project_db.touch_project(session=session, project=project)
    session.commit()
    forget_old_deletions(session, media, project.id)
    return DeletionView(id=deletion.id, kind=deletion.kind, label=deletion.label)
