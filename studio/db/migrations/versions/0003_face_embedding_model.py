"""Which bundle made a stored face embedding (issue 25: generation reuses it with that bundle).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Embeddings stored before this revision name no bundle (NULL): generation embeds those
    # photos again, as it did for every photo before.
    for table in ("facephoto", "libraryphoto"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("embedding_model", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
            )


def downgrade() -> None:
    for table in ("facephoto", "libraryphoto"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("embedding_model")
