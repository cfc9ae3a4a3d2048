"""The foreign key from a shot to its current keyframe version, on every database.

0001 declares it `use_alter` (shot and keyframeversion refer to each other). SQLite gets it
inline in CREATE TABLE, but on PostgreSQL `op.create_table` leaves a `use_alter` constraint
out, so a server database built by 0001 lacked it (found by the PostgreSQL tests: deleting a
keyframe version would not have cleared `shot.current_keyframe_id`). This adds it where it is
missing and changes nothing on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "shot_current_keyframe_id_fkey"


def _has_it() -> bool:
    keys = sa.inspect(op.get_bind()).get_foreign_keys("shot")
    return any(key["constrained_columns"] == ["current_keyframe_id"] for key in keys)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite" or _has_it():
        return
    # Versions a deleted shot left behind cannot exist (ON DELETE CASCADE), but a current
    # keyframe id whose version is gone can: clear it, as the key would have.
    op.execute(
        "UPDATE shot SET current_keyframe_id = NULL WHERE current_keyframe_id IS NOT NULL "
        "AND current_keyframe_id NOT IN (SELECT id FROM keyframeversion)"
    )
    op.create_foreign_key(
        NAME, "shot", "keyframeversion", ["current_keyframe_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_constraint(NAME, "shot", type_="foreignkey")
