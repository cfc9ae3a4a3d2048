"""Reference frames: images a user uploads to a project as look or continuity references."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class ReferenceFrameBase(SQLModel):
    caption: str = ""
    original_name: str = ""


class ReferenceFrame(ReferenceFrameBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    media_path: str
    content_hash: str = Field(index=True)
    width: int = 0
    height: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class ReferenceFramePublic(ReferenceFrameBase):
    id: int
    project_id: int
    media_path: str
    content_hash: str
    width: int
    height: int
    created_at: datetime


def list_reference_frames(*, session: Session, project_id: int) -> list[ReferenceFrame]:
    statement = (
        select(ReferenceFrame)
        .where(ReferenceFrame.project_id == project_id)
        .order_by(col(ReferenceFrame.created_at), col(ReferenceFrame.id))
    )
    return list(session.exec(statement).all())
