"""Dense ordering: rows of one parent carry positions 0..n-1 with no gaps.

Moving or deleting a row renumbers its siblings, so "shot 3" in the UI is always the third
row and exports read rows in `position` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session


def renumber(session: Session, rows: Sequence[Any]) -> None:
    """Give `rows` (already in the wanted order) positions 0..n-1."""
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            session.add(row)
    session.flush()


def move(session: Session, rows: Sequence[Any], row_id: int, new_index: int) -> list[Any]:
    """Move the row `row_id` among `rows` (in current order) to 0-based `new_index`."""
    ordered = list(rows)
    if not 0 <= new_index < len(ordered):
        raise ValueError(f"position {new_index} is outside 0..{len(ordered) - 1}")
    index = next(i for i, row in enumerate(ordered) if row.id == row_id)
    row = ordered.pop(index)
    ordered.insert(new_index, row)
    renumber(session, ordered)
    return ordered
