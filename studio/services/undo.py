"""Undo for the destructive actions: deleting a scene, a shot, a character or a face photo.

A delete keeps a snapshot of what it removed (a `studio.db.trash.Deletion` row: the rows as
JSON and the media paths they used) instead of deleting the files; "Undo" puts the rows
back at their old positions with the very same files, keyframe versions (seeds, tokens,
which one is current), locks and clips. The newest `KEEP_PER_PROJECT` deletions of a
project can be undone; older ones are forgotten, and only then are their files released.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, select

from studio.db import Character, FacePhoto, KeyframeVersion, Project, Render, Scene, Shot
from studio.db import cast as cast_db
from studio.db import keyframe as keyframe_db
from studio.db import project as project_db
from studio.db import storyboard as storyboard_db
from studio.db.positions import renumber
from studio.db.trash import Deletion, list_deletions
from studio.errors import NotFoundError, StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.media_files import release_media

logger = logging.getLogger(__name__)

KEEP_PER_PROJECT = 20
SCRIPT_KINDS = ("scene", "shot")
CAST_KINDS = ("character", "photo")


@dataclass(frozen=True)
class DeletionView:
    """A deletion that can be undone: its id and what it removed, in words."""

    id: int
    kind: str
    label: str


# -- rows as JSON ------------------------------------------------------------------------------

_KEYS = ("id", "created_at")


def _dump(row: SQLModel, *drop: str) -> dict[str, Any]:
    data = {}
    for key, value in row.model_dump().items():
        if key in _KEYS or key in drop or isinstance(value, datetime):
            continue
        data[key] = {"base64": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value
    return data


def _load(model: type[SQLModel], data: dict[str, Any], **fixed: Any) -> Any:
    values = {
        key: base64.b64decode(value["base64"]) if isinstance(value, dict) and "base64" in value else value
        for key, value in data.items()
    }
    return model(**values, **fixed)


def _shot_snapshot(session: Session, shot: Shot) -> tuple[dict[str, Any], list[str]]:
    versions = keyframe_db.list_keyframe_versions(session=session, shot_id=shot.id)
    clips = list(session.exec(select(Render).where(Render.shot_id == shot.id)).all())
    paths = [p for v in versions for p in (v.media_path, v.tokens_path) if p] + [c.media_path for c in clips]
    snapshot = {
        "shot": _dump(shot, "scene_id", "current_keyframe_id"),
        "versions": [{**_dump(v, "shot_id"), "current": v.id == shot.current_keyframe_id} for v in versions],
        "clips": [_dump(c, "shot_id", "project_id") for c in clips],
    }
    return snapshot, paths


def _restore_shot(
    session: Session, project: Project, scene: Scene, data: dict[str, Any], position: int
) -> Shot:
    siblings = storyboard_db.list_shots(session=session, scene_id=scene.id)
    shot = _load(Shot, data["shot"], scene_id=scene.id)
    session.add(shot)
    session.flush()
    siblings.insert(min(position, len(siblings)), shot)
    renumber(session, siblings)
    for saved in data["versions"]:
        saved = dict(saved)
        current = saved.pop("current", False)
        version = _load(KeyframeVersion, saved, shot_id=shot.id)
        session.add(version)
        session.flush()
        if current:
            shot.current_keyframe_id = version.id
    for saved in data["clips"]:
        session.add(_load(Render, saved, shot_id=shot.id, project_id=project.id))
    session.add(shot)
    session.flush()
    return shot


# -- recording a deletion -----------------------------------------------------------------


def record_scene(session: Session, scene: Scene) -> Deletion:
    shots = storyboard_db.list_shots(session=session, scene_id=scene.id)
    snapshots, paths = [], []
    for shot in shots:
        snapshot, shot_paths = _shot_snapshot(session, shot)
        snapshots.append(snapshot)
        paths += shot_paths
    count = len(shots)
    label = f"scene {scene.position + 1} ({scene.heading})" + (
        f" and its {count} shot{'s' if count != 1 else ''}" if count else ""
    )
    return _record(
        session,
        scene.project_id,
        "scene",
        label,
        {"scene": _dump(scene, "project_id"), "shots": snapshots},
        paths,
    )


def record_shot(session: Session, shot: Shot, scene: Scene) -> Deletion:
    snapshot, paths = _shot_snapshot(session, shot)
    label = f"shot {shot.position + 1} of scene {scene.position + 1} ({shot.plot})"
    return _record(session, scene.project_id, "shot", label, {"scene_id": scene.id, **snapshot}, paths)


def record_character(session: Session, character: Character) -> Deletion:
    photos = cast_db.list_face_photos(session=session, character_id=character.id)
    paths = [p for photo in photos for p in (photo.media_path, photo.crop_path) if p]
    count = len(photos)
    label = f"{character.name}" + (f" and {count} photo{'s' if count != 1 else ''}" if count else "")
    return _record(
        session,
        character.project_id,
        "character",
        label,
        {"character": _dump(character, "project_id"), "photos": [_dump(p, "character_id") for p in photos]},
        paths,
    )


def record_photo(session: Session, photo: FacePhoto, character: Character) -> Deletion:
    paths = [p for p in (photo.media_path, photo.crop_path) if p]
    label = f"{character.name}'s photo {photo.position + 1}"
    return _record(
        session,
        character.project_id,
        "photo",
        label,
        {"character_id": character.id, "photo": _dump(photo, "character_id")},
        paths,
    )


def _record(
    session: Session, project_id: int, kind: str, label: str, snapshot: dict[str, Any], paths: list[str]
) -> Deletion:
    deletion = Deletion(
        project_id=project_id,
        kind=kind,
        label=label[:200],
        snapshot=snapshot,
        media_paths=list(dict.fromkeys(paths)),
    )
    session.add(deletion)
    session.flush()
    return deletion


def forget_old_deletions(
    session: Session, media: MediaStore, project_id: int, keep: int = KEEP_PER_PROJECT
) -> None:
    """Forget all but the newest `keep` deletions of the project; release their files (after commit)."""
    old = list_deletions(session=session, project_id=project_id)[keep:]
    if not old:
        return
    paths = [p for deletion in old for p in deletion.media_paths]
    for deletion in old:
        session.delete(deletion)
    session.commit()
    release_media(session, media, paths)


# -- undo -------------------------------------------------------------------------------------


def last_deletion(
    *, session: Session, owner: str, project_id: int, kinds: Iterable[str] = SCRIPT_KINDS + CAST_KINDS
) -> DeletionView | None:
    """The newest deletion of these kinds that can be undone, or None."""
    require_project(session, project_id, owner)
    found = list_deletions(session=session, project_id=project_id, kinds=tuple(kinds))
    return DeletionView(id=found[0].id, kind=found[0].kind, label=found[0].label) if found else None


def undo_deletion(*, session: Session, owner: str, deletion_id: int) -> DeletionView:
    """Put back what the deletion removed (see the module docstring); the deletion is used up."""
    deletion = session.get(Deletion, deletion_id)
    if deletion is None:
        raise NotFoundError("That delete was undone already or is too old to undo; nothing was changed.")
    project = require_project(session, deletion.project_id, owner)
    data = deletion.snapshot
    if deletion.kind == "scene":
        scenes = storyboard_db.list_scenes(session=session, project_id=project.id)
        scene = _load(Scene, data["scene"], project_id=project.id)
        session.add(scene)
        session.flush()
        scenes.insert(min(data["scene"]["position"], len(scenes)), scene)
        renumber(session, scenes)
        for position, shot in enumerate(data["shots"]):
            _restore_shot(session, project, scene, shot, position)
    elif deletion.kind == "shot":
        scene = session.get(Scene, data["scene_id"])
        if scene is None:
            raise StudioError("The scene this shot belonged to was deleted too; undo that delete first.")
        _restore_shot(session, project, scene, data, data["shot"]["position"])
    elif deletion.kind == "character":
        name = data["character"]["name"]
        if any(
            c.name.casefold() == name.casefold()
            for c in cast_db.list_characters(session=session, project_id=project.id)
        ):
            raise StudioError(
                f"The cast has a character called {name} again; rename that one first, then undo."
            )
        cast = cast_db.list_characters(session=session, project_id=project.id)
        character = _load(Character, data["character"], project_id=project.id)
        session.add(character)
        session.flush()
        cast.insert(min(data["character"]["position"], len(cast)), character)
        renumber(session, cast)
        for saved in data["photos"]:
            session.add(_load(FacePhoto, saved, character_id=character.id))
    elif deletion.kind == "photo":
        character = session.get(Character, data["character_id"])
        if character is None:
            raise StudioError("The character this photo belonged to was removed too; undo that first.")
        photos = cast_db.list_face_photos(session=session, character_id=character.id)
        photo = _load(FacePhoto, data["photo"], character_id=character.id)
        session.add(photo)
        session.flush()
        photos.insert(min(data["photo"]["position"], len(photos)), photo)
        renumber(session, photos)
    else:
        raise ValueError(f"unknown deletion kind {deletion.kind!r}")
    view = DeletionView(id=deletion.id, kind=deletion.kind, label=deletion.label)
    session.delete(deletion)  # its files are referenced by the restored rows now
    project_db.touch_project(session=session, project=project)
    session.commit()
    logger.info("undid the deletion of %s in project %s", view.label, project.id)
    return view
