"""The cast library: characters a user saved once (name, description, face photos with their
face step) to add to any of their projects.

Library rows belong to an owner, not to a project; their media live under `library/` in the
media store and are copied into a project when a character is added to it, so a project
never depends on the library afterwards (and the other way round).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class LibraryCharacter(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True)
    name: str = Field(min_length=1, max_length=40)
    description: list[str] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow)


class LibraryPhoto(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    character_id: int = Field(foreign_key="librarycharacter.id", ondelete="CASCADE", index=True)
    position: int = 0
    media_path: str
    content_hash: str
    crop_path: str | None = None
    embedding: bytes | None = Field(default=None, sa_type=LargeBinary)
    embedding_dim: int | None = None
    embedding_model: str | None = None  # the bundle whose face encoder made `embedding`
    detector: str | None = None
    original_name: str = ""
    width: int = 0
    height: int = 0


def list_library(*, session: Session, owner: str) -> list[LibraryCharacter]:
    statement = (
        select(LibraryCharacter)
        .where(LibraryCharacter.owner == owner)
        .order_by(col(LibraryCharacter.name), col(LibraryCharacter.id))
    )
    return list(session.exec(statement).all())


def list_library_photos(*, session: Session, character_id: int) -> list[LibraryPhoto]:
    statement = (
        select(LibraryPhoto)
        .where(LibraryPhoto.character_id == character_id)
        .order_by(col(LibraryPhoto.position), col(LibraryPhoto.id))
    )
    return list(session.exec(statement).all())
