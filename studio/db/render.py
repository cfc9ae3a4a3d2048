"""Renders: files the studio produced from a project (clips, animatics, exports)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class RenderKind(StrEnum):
    CLIP = "clip"  # one shot's video (shot_id set)
    ANIMATIC = "animatic"  # the whole storyboard as one video
    PDF = "pdf"  # storyboard sheets
    ZIP = "zip"  # current keyframes + script + cast photos
    JSON = "json"  # the script


class RenderBase(SQLModel):
    kind: str
    params: dict = Field(default_factory=dict, sa_type=JSON)


class Render(RenderBase, table=True):
    __table_args__ = (
        CheckConstraint("kind IN ('clip', 'animatic', 'pdf', 'zip', 'json')", name="render_kind_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    shot_id: int | None = Field(default=None, foreign_key="shot.id", ondelete="CASCADE", index=True)
    media_path: str
    content_hash: str
    size_bytes: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class RenderPublic(RenderBase):
    id: int
    project_id: int
    shot_id: int | None
    media_path: str
    content_hash: str
    size_bytes: int
    created_at: datetime


def list_renders(*, session: Session, project_id: int, kind: str | None = None) -> list[Render]:
    """The project's renders, newest first."""
    statement = select(Render).where(Render.project_id == project_id)
    if kind is not None:
        statement = statement.where(Render.kind == kind)
    statement = statement.order_by(col(Render.created_at).desc(), col(Render.id).desc())
    return list(session.exec(statement).all())
