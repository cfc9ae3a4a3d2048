"""Deletions that can be undone: what a delete removed, kept as a snapshot for a while.

A `Deletion` row holds the deleted rows as JSON (`snapshot`, written and read by
studio.services.undo) and the media paths they used (`media_paths`). While the row exists
those files count as referenced (studio.services.media_files), so undo brings back the
very same files; when the row is forgotten the files go the usual way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class Deletion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    kind: str  # scene | shot | character | photo
    label: str  # what was deleted, for the Undo button: "scene 2 (EXT. HARBOUR) and its 3 shots"
    snapshot: dict = Field(default_factory=dict, sa_type=JSON)
    media_paths: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


def list_deletions(
    *, session: Session, project_id: int, kinds: tuple[str, ...] | None = None
) -> list[Deletion]:
    """The project's deletions that can still be undone, newest first."""
    statement = select(Deletion).where(Deletion.project_id == project_id)
    if kinds is not None:
        statement = statement.where(col(Deletion.kind).in_(kinds))
    return list(
        session.exec(statement.order_by(col(Deletion.created_at).desc(), col(Deletion.id).desc())).all()
    )
