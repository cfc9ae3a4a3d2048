"""The cast library: save a character once (name, description, face photos with their crops
and embeddings) and add it to any of your projects.

Saving copies the character's photos into `library/` of the media store; adding copies them
into the project, so deleting a project or a library entry never takes the other's files.
A library entry is found by name (case-insensitive) per owner: saving a character whose name
is already in the library replaces that entry (its description and photos are the newest).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from studio.db import CharacterPublic, FacePhoto
from studio.db import cast as cast_db
from studio.db import library as library_db
from studio.db import project as project_db
from studio.db.clock import utcnow
from studio.db.library import LibraryCharacter, LibraryPhoto
from studio.errors import NotFoundError, OwnershipError, StudioError
from studio.media import MediaStore
from studio.ownership import require_character, require_project
from studio.services.cast import add_character
from studio.services.media_files import media_transaction, release_media

logger = logging.getLogger(__name__)

LIBRARY_DIR = "library"


@dataclass(frozen=True)
class LibraryEntry:
    """A character of the library, with its photos (the face crop where one was made)."""

    id: int
    name: str
    description: tuple[str, ...]
    photos: tuple[Path, ...]


def _require_entry(session: Session, entry_id: int, owner: str) -> LibraryCharacter:
    entry = session.get(LibraryCharacter, entry_id)
    if entry is None:
        raise NotFoundError(
            "That character is no longer in your cast library; it may have been removed in another tab."
        )
    if entry.owner != owner:
        raise OwnershipError("That library character belongs to another user.")
    return entry


def _entry_view(session: Session, media: MediaStore, entry: LibraryCharacter) -> LibraryEntry:
    photos = library_db.list_library_photos(session=session, character_id=entry.id)
    return LibraryEntry(
        id=entry.id,
        name=entry.name,
        description=tuple(entry.description),
        photos=tuple(media.resolve(p.crop_path or p.media_path) for p in photos),
    )


def list_cast_library(*, session: Session, media: MediaStore, owner: str) -> list[LibraryEntry]:
    """The owner's library, by name."""
    return [
        _entry_view(session, media, entry) for entry in library_db.list_library(session=session, owner=owner)
    ]


def save_to_library(*, session: Session, media: MediaStore, owner: str, character_id: int) -> LibraryEntry:
    """Keep a project's character in the owner's library (replacing an entry of the same name)."""
    character, _ = require_character(session, character_id, owner)
    old_paths: list[str] = []
    with media_transaction(session, media) as written:
        entry = next(
            (
                e
                for e in library_db.list_library(session=session, owner=owner)
                if e.name.casefold() == character.name.casefold()
            ),
            None,
        )
        if entry is None:
            entry = LibraryCharacter(
                owner=owner, name=character.name, description=list(character.description)
            )
            session.add(entry)
            session.flush()
        else:
            for photo in library_db.list_library_photos(session=session, character_id=entry.id):
                old_paths += [p for p in (photo.media_path, photo.crop_path) if p]
                session.delete(photo)
            entry.name, entry.description, entry.updated_at = (
                character.name,
                list(character.description),
                utcnow(),
            )
            session.add(entry)
        for position, photo in enumerate(
            cast_db.list_face_photos(session=session, character_id=character.id)
        ):
            stored = media.copy(photo.media_path, f"{LIBRARY_DIR}/faces")
            written.append(stored.path)
            crop = None
            if photo.crop_path:
                crop = media.copy(photo.crop_path, f"{LIBRARY_DIR}/crops").path
                written.append(crop)
            session.add(
                LibraryPhoto(
                    character_id=entry.id,
                    position=position,
                    media_path=stored.path,
                    content_hash=photo.content_hash,
                    crop_path=crop,
                    embedding=photo.embedding,
                    embedding_dim=photo.embedding_dim,
                    embedding_model=photo.embedding_model,
                    detector=photo.detector,
                    original_name=photo.original_name,
                    width=photo.width,
                    height=photo.height,
                )
            )
    release_media(session, media, old_paths)
    logger.info("character %r saved to %s's cast library", character.name, owner)
    return _entry_view(session, media, entry)


def add_from_library(
    *, session: Session, media: MediaStore, owner: str, entry_id: int, project_id: int
) -> CharacterPublic:
    """A new cast member of the project, copied from the library with its photos and face step."""
    entry = _require_entry(session, entry_id, owner)
    project = require_project(session, project_id, owner)
    result = add_character(
        session=session,
        owner=owner,
        project_id=project.id,
        name=entry.name,
        description=list(entry.description),
    )
    if not result.ok:
        problems = "; ".join(result.problems.values())
        raise StudioError(f"{entry.name} could not be added to {project.name}: {problems}")
    character = result.value
    with media_transaction(session, media) as written:
        for photo in library_db.list_library_photos(session=session, character_id=entry.id):
            stored = media.copy(photo.media_path, media.kind_dir(project.id, "faces"))
            written.append(stored.path)
            crop = None
            if photo.crop_path:
                crop = media.copy(photo.crop_path, media.kind_dir(project.id, "crops")).path
                written.append(crop)
            session.add(
                FacePhoto(
                    character_id=character.id,
                    position=photo.position,
                    media_path=stored.path,
                    content_hash=photo.content_hash,
                    crop_path=crop,
                    embedding=photo.embedding,
                    embedding_dim=photo.embedding_dim,
                    embedding_model=photo.embedding_model,
                    detector=photo.detector,
                    original_name=photo.original_name,
                    width=photo.width,
                    height=photo.height,
                )
            )
        project_db.touch_project(session=session, project=project)
    logger.info("library character %r added to project %s", entry.name, project.id)
    return character


def remove_from_library(*, session: Session, media: MediaStore, owner: str, entry_id: int) -> str:
    """Delete a library entry and its files (projects keep their own copies); its name."""
    entry = _require_entry(session, entry_id, owner)
    paths = [
        p
        for photo in library_db.list_library_photos(session=session, character_id=entry.id)
        for p in (photo.media_path, photo.crop_path)
        if p
    ]
    name = entry.name
    session.delete(entry)
    session.commit()
    release_media(session, media, paths)
    return name
