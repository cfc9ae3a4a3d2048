"""The ZIP export: the project's backup, which also opens as a sample project.

Layout (the same as a sample folder and a toy-cinema movie, so the ZIP unpacks into something
`open_sample` and the dataset tools read):

    script.json                     the project's script (canonical JSON)
    cast/<nn>_<name>_<k>.png        face photos, named as in script.json
    frames/<NNNNNN>.png             current keyframe of the shot at that 0-based story position
                                    (shots without a keyframe have no file)

plus backup.json and backup/ (see studio.services.backup): every keyframe version with its
seed and tokens, face crops and embeddings, reference frames and the settings, so
`restore_backup` makes the whole project again.

The archive is built in memory and stored in one atomic write, so no half-written ZIP exists.
"""

from __future__ import annotations

import io
import zipfile

from sqlmodel import Session

from studio.db import KeyframeVersion, RenderKind, RenderPublic
from studio.db import cast as cast_db
from studio.db import storyboard as storyboard_db
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.backup import write_backup
from studio.services.renders import store_render
from studio.services.script_export import photo_export_name, project_to_script, script_json_text


def frame_name(story_index: int) -> str:
    return f"frames/{story_index:06d}.png"


def build_keyframe_zip(
    *, session: Session, media: MediaStore, owner: str, project_id: int
) -> tuple[bytes, int]:
    """The ZIP bytes and how many keyframes they hold."""
    project = require_project(session, project_id, owner)
    script = project_to_script(session=session, owner=owner, project_id=project_id)
    buffer = io.BytesIO()
    frames = 0
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("script.json", script_json_text(script), compress_type=zipfile.ZIP_DEFLATED)
        for character in cast_db.list_characters(session=session, project_id=project.id):
            for photo in cast_db.list_face_photos(session=session, character_id=character.id):
                name = photo_export_name(character.position, character.name, photo.position)
                # PNGs are compressed already; storing them avoids a second, useless pass.
                archive.writestr(name, media.read_bytes(photo.media_path), compress_type=zipfile.ZIP_STORED)
        for index, (_, shot) in enumerate(
            storyboard_db.list_project_shots(session=session, project_id=project.id)
        ):
            if shot.current_keyframe_id is None:
                continue
            version = session.get(KeyframeVersion, shot.current_keyframe_id)
            archive.writestr(
                frame_name(index), media.read_bytes(version.media_path), compress_type=zipfile.ZIP_STORED
            )
            frames += 1
        write_backup(archive, session=session, media=media, project=project)
    return buffer.getvalue(), frames


def export_keyframe_zip(*, session: Session, media: MediaStore, owner: str, project_id: int) -> RenderPublic:
    """Build the ZIP and keep it as a render of the project (a backup: also without keyframes)."""
    data, frames = build_keyframe_zip(session=session, media=media, owner=owner, project_id=project_id)
    return store_render(
        session=session,
        media=media,
        project_id=project_id,
        kind=RenderKind.ZIP,
        data=data,
        suffix=".zip",
        params={"frames": frames},
    )
