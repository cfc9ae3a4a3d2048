"""Find a row by id and check that its project belongs to the caller.

Every service that touches a project goes through one of these, so a user can never read or
change another user's project by guessing ids (the UI only ever shows one's own ids, but
Gradio events can be replayed by hand).
"""

from __future__ import annotations

from sqlmodel import Session

from studio.db import Character, FacePhoto, Job, KeyframeVersion, Project, ReferenceFrame, Render, Scene, Shot
from studio.errors import NotFoundError, OwnershipError


def _missing(what: str, row_id: int) -> NotFoundError:
    return NotFoundError(
        f"{what} {row_id} does not exist (any more); it may have been deleted in another tab. "
        "Reload the project and try again."
    )


def require_project(session: Session, project_id: int, owner: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise _missing("Project", project_id)
    if project.owner != owner:
        raise OwnershipError()
    return project


def require_character(session: Session, character_id: int, owner: str) -> tuple[Character, Project]:
    character = session.get(Character, character_id)
    if character is None:
        raise _missing("Cast member", character_id)
    return character, require_project(session, character.project_id, owner)


def require_face_photo(session: Session, photo_id: int, owner: str) -> tuple[FacePhoto, Character, Project]:
    photo = session.get(FacePhoto, photo_id)
    if photo is None:
        raise _missing("Face photo", photo_id)
    character, project = require_character(session, photo.character_id, owner)
    return photo, character, project


def require_scene(session: Session, scene_id: int, owner: str) -> tuple[Scene, Project]:
    scene = session.get(Scene, scene_id)
    if scene is None:
        raise _missing("Scene", scene_id)
    return scene, require_project(session, scene.project_id, owner)


def require_shot(session: Session, shot_id: int, owner: str) -> tuple[Shot, Scene, Project]:
    shot = session.get(Shot, shot_id)
    if shot is None:
        raise _missing("Shot", shot_id)
    scene, project = require_scene(session, shot.scene_id, owner)
    return shot, scene, project


def require_keyframe(session: Session, keyframe_id: int, owner: str) -> tuple[KeyframeVersion, Shot, Project]:
    version = session.get(KeyframeVersion, keyframe_id)
    if version is None:
        raise _missing("Keyframe version", keyframe_id)
    shot, _, project = require_shot(session, version.shot_id, owner)
    return version, shot, project


def require_reference(session: Session, reference_id: int, owner: str) -> tuple[ReferenceFrame, Project]:
    reference = session.get(ReferenceFrame, reference_id)
    if reference is None:
        raise _missing("Reference frame", reference_id)
    return reference, require_project(session, reference.project_id, owner)


def require_render(session: Session, render_id: int, owner: str) -> tuple[Render, Project]:
    render = session.get(Render, render_id)
    if render is None:
        raise _missing("Render", render_id)
    return render, require_project(session, render.project_id, owner)


def require_job(session: Session, job_id: int, owner: str) -> tuple[Job, Project]:
    job = session.get(Job, job_id)
    if job is None:
        raise _missing("Job", job_id)
    return job, require_project(session, job.project_id, owner)
