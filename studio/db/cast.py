"""The cast of a project: characters (name, description sentences) and their face photos.

A face photo row points at the validated upload (`media_path`) and, once the face step ran,
at the face crop (`crop_path`), the face embedding (`embedding`: little-endian float32 bytes,
`embedding_dim` values) and the detector that found the face.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow
from studio.db.positions import renumber


class CharacterBase(SQLModel):
    name: str = Field(min_length=1, max_length=40)
    description: list[str] = Field(default_factory=list, sa_type=JSON)


class Character(CharacterBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    position: int = 0


class CharacterCreate(CharacterBase):
    pass


class FacePhotoBase(SQLModel):
    original_name: str = ""
    width: int = 0
    height: int = 0


class FacePhoto(FacePhotoBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    character_id: int = Field(foreign_key="character.id", ondelete="CASCADE", index=True)
    position: int = 0
    media_path: str
    content_hash: str = Field(index=True)
    crop_path: str | None = None
    embedding: bytes | None = Field(default=None, sa_type=LargeBinary)
    embedding_dim: int | None = None
    # Which bundle's face encoder made `embedding` (its bundle_id): generation reuses the stored
    # embedding only with that bundle and embeds the photo again with any other.
    embedding_model: str | None = None
    detector: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CharacterPublic(CharacterBase):
    id: int
    project_id: int
    position: int


class FacePhotoPublic(FacePhotoBase):
    id: int
    character_id: int
    position: int
    media_path: str
    content_hash: str
    crop_path: str | None
    embedding_dim: int | None
    embedding_model: str | None
    detector: str | None
    created_at: datetime


# -- CRUD ------------------------------------------------------------------------------


def list_characters(*, session: Session, project_id: int) -> list[Character]:
    statement = (
        select(Character)
        .where(Character.project_id == project_id)
        .order_by(col(Character.position), col(Character.id))
    )
    return list(session.exec(statement).all())


def create_character(*, session: Session, project_id: int, character_in: CharacterCreate) -> Character:
    position = len(list_characters(session=session, project_id=project_id))
    character = Character(project_id=project_id, position=position, **character_in.model_dump())
    session.add(character)
    session.flush()
    return character


def delete_character(*, session: Session, character: Character) -> None:
    project_id = character.project_id
    session.delete(character)
    session.flush()
    renumber(session, list_characters(session=session, project_id=project_id))


def list_face_photos(*, session: Session, character_id: int) -> list[FacePhoto]:
    statement = (
        select(FacePhoto)
        .where(FacePhoto.character_id == character_id)
        .order_by(col(FacePhoto.position), col(FacePhoto.id))
    )
    return list(session.exec(statement).all())


def create_face_photo(
    *,
    session: Session,
    character_id: int,
    media_path: str,
    content_hash: str,
    original_name: str = "",
    width: int = 0,
    height: int = 0,
) -> FacePhoto:
    position = len(list_face_photos(session=session, character_id=character_id))
    photo = FacePhoto(
        character_id=character_id,
        position=position,
        media_path=media_path,
        content_hash=content_hash,
        original_name=original_name,
        width=width,
        height=height,
    )
    session.add(photo)
    session.flush()
    return photo


def delete_face_photo(*, session: Session, photo: FacePhoto) -> None:
    character_id = photo.character_id
    session.delete(photo)
    session.flush()
    renumber(session, list_face_photos(session=session, character_id=character_id))
