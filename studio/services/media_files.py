"""Keeping media files and rows in step: which files rows reference, a transaction that
cleans up after itself, and the start-up sweep of unreferenced files.

Order of operations (see studio.media.store): write file -> insert row -> commit; delete
row -> commit -> delete file if nothing references it any more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import String, cast
from sqlmodel import Session, col, select

from studio.db import FacePhoto, KeyframeVersion, Project, ReferenceFrame, Render
from studio.db.library import LibraryPhoto
from studio.db.trash import Deletion
from studio.media import MediaStore

logger = logging.getLogger(__name__)

# Every column that holds a media path.
_MEDIA_COLUMNS = (
    FacePhoto.media_path,
    FacePhoto.crop_path,
    KeyframeVersion.media_path,
    KeyframeVersion.tokens_path,
    ReferenceFrame.media_path,
    Render.media_path,
    LibraryPhoto.media_path,
    LibraryPhoto.crop_path,
)


def referenced_media(session: Session) -> set[str]:
    """Every media path some row points at (deletions that can be undone included)."""
    paths: set[str] = set()
    for column in _MEDIA_COLUMNS:
        paths.update(
            value for value in session.exec(select(column).where(col(column).is_not(None))).all() if value
        )
    for kept in session.exec(select(Deletion.media_paths)).all():
        paths.update(kept or ())
    paths.update(_project_settings_paths(session))
    return paths


def music_path_is_own(path: str, project_id: int) -> bool:
    """Whether a media path names a file in the project's own renders folder."""
    folder = f"{MediaStore.kind_dir(project_id, 'renders')}/"
    return path.startswith(folder) and "/" not in path[len(folder) :] and ".." not in path


def _project_settings_paths(session: Session) -> set[str]:
    """Media paths kept in projects' settings (the animatic's music bed)."""
    found = set()
    for project_id, settings in session.exec(select(Project.id, Project.settings)).all():
        path = (settings or {}).get("music_path")
        if path and music_path_is_own(path, project_id):
            found.add(path)
    return found


def is_referenced(session: Session, path: str) -> bool:
    if any(session.exec(select(column).where(column == path).limit(1)).first() for column in _MEDIA_COLUMNS):
        return True
    # Paths are content hashes, so a substring match on the JSON list's text is exact enough
    # to narrow down; the list itself decides. (The cast: PostgreSQL has no LIKE on json.)
    candidates = session.exec(
        select(Deletion.media_paths).where(cast(Deletion.media_paths, String).contains(path))
    ).all()
    return any(path in (kept or ()) for kept in candidates) or path in _project_settings_paths(session)


def release_media(session: Session, media: MediaStore, paths: Iterable[str | None]) -> list[str]:
    """Delete the files among `paths` that no (committed) row references any more."""
    removed = []
    for path in dict.fromkeys(p for p in paths if p):
        if not is_referenced(session, path) and media.remove(path):
            removed.append(path)
    return removed


@contextmanager
def media_transaction(session: Session, media: MediaStore) -> Iterator[list[str]]:
    """Commit the session at the end; on any error roll back and delete the files written.

    Append every path written inside the block to the yielded list. A file that was already
    referenced before (same content) is kept.
    """
    written: list[str] = []
    try:
        yield written
        session.commit()
    except BaseException:
        session.rollback()
        release_media(session, media, written)
        raise


def sweep_orphan_media(session: Session, media: MediaStore, *, min_age_seconds: float = 0.0) -> list[str]:
    """Delete temp files and files no row references (start-up clean-up after a crash)."""
    return media.sweep(referenced_media(session), min_age_seconds=min_age_seconds)
