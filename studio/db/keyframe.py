"""Keyframe versions: every image generated (or imported) for a shot, with how it was made.

`seed` and `params` (steps, guidance, prompt-side switches...) are enough to make the same
image again with the same `bundle_id`; the shot's `current_keyframe_id` picks the version
shown and exported. `tokens_path` names the version's visual tokens (an (L, d) float32 .npy
in the media store) when a model made it: a later run uses them as context without
re-encoding the image. Imported images have none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class KeyframeVersionBase(SQLModel):
    seed: int | None = Field(default=None, sa_type=BigInteger)
    params: dict = Field(default_factory=dict, sa_type=JSON)
    bundle_id: str | None = None


class KeyframeVersion(KeyframeVersionBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    shot_id: int = Field(foreign_key="shot.id", ondelete="CASCADE", index=True)
    media_path: str
    content_hash: str
    tokens_path: str | None = None
    width: int = 0
    height: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class KeyframeVersionPublic(KeyframeVersionBase):
    id: int
    shot_id: int
    media_path: str
    content_hash: str
    tokens_path: str | None = None
    width: int
    height: int
    created_at: datetime


def list_keyframe_versions(*, session: Session, shot_id: int) -> list[KeyframeVersion]:
    """The shot's versions, oldest first (version 1 is the first one made)."""
    statement = (
        select(KeyframeVersion)
        .where(KeyframeVersion.shot_id == shot_id)
        .order_by(col(KeyframeVersion.created_at), col(KeyframeVersion.id))
    )
    return list(session.exec(statement).all())
