"""Renders: storing a finished file (export, clip, animatic) as a media file plus a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from studio.db import Render, RenderKind, RenderPublic
from studio.db import render as render_db
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project, require_render, require_shot
from studio.services.media_files import media_transaction, release_media


def store_render(
    *,
    session: Session,
    media: MediaStore,
    project_id: int,
    kind: RenderKind | str,
    data: bytes | None = None,
    source: str | Path | None = None,
    suffix: str,
    params: dict[str, Any] | None = None,
    shot_id: int | None = None,
) -> RenderPublic:
    """Write the finished bytes (or copy the finished file `source`) atomically, then the row.

    Callers check ownership first; this is the shared last step of every export and render.
    """
    kind = RenderKind(kind)
    if (data is None) == (source is None):
        raise ValueError("give exactly one of data and source")
    with media_transaction(session, media) as written:
        directory = media.kind_dir(project_id, "renders")
        stored = (
            media.write_bytes(directory, data, suffix)
            if data is not None
            else media.write_file(directory, source, suffix)
        )
        written.append(stored.path)
        render = Render(
            project_id=project_id,
            kind=kind,
            shot_id=shot_id,
            media_path=stored.path,
            content_hash=stored.sha256,
            size_bytes=stored.size,
            params=dict(params or {}),
        )
        session.add(render)
        session.flush()
    return RenderPublic.model_validate(render)


def add_render(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    kind: RenderKind | str,
    source: str | Path,
    params: dict[str, Any] | None = None,
    shot_id: int | None = None,
) -> RenderPublic:
    """Keep a finished clip or animatic file (e.g. written by moviepy to a temp folder)."""
    require_project(session, project_id, owner)
    kind = RenderKind(kind)
    if kind is RenderKind.CLIP and shot_id is None:
        raise StudioError("A clip belongs to a shot; choose the shot it was rendered from.")
    if shot_id is not None:
        _, _, shot_project = require_shot(session, shot_id, owner)
        if shot_project.id != project_id:
            raise StudioError("That shot belongs to another project; choose a shot of this project.")
    source = Path(source)
    if not source.is_file():
        raise StudioError(f"The rendered file {source.name!r} was not found; render it again.")
    return store_render(
        session=session,
        media=media,
        project_id=project_id,
        kind=kind,
        source=source,
        suffix=source.suffix.lower() or ".bin",
        params=params,
        shot_id=shot_id,
    )


def list_renders(
    *, session: Session, owner: str, project_id: int, kind: RenderKind | str | None = None
) -> list[RenderPublic]:
    require_project(session, project_id, owner)
    rows = render_db.list_renders(
        session=session, project_id=project_id, kind=RenderKind(kind) if kind else None
    )
    return [RenderPublic.model_validate(row) for row in rows]


def delete_render(*, session: Session, media: MediaStore, owner: str, render_id: int) -> None:
    render, _ = require_render(session, render_id, owner)
    path = render.media_path
    session.delete(render)
    session.commit()
    release_media(session, media, [path])
