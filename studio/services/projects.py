"""Project use cases: create, open, list (with thumbnails), rename, settings, duplicate, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from studio.db import (
    Character,
    FacePhoto,
    KeyframeVersion,
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectSettings,
    ProjectUpdate,
    ReferenceFrame,
    Scene,
    Shot,
)
from studio.db import cast as cast_db
from studio.db import keyframe as keyframe_db
from studio.db import project as project_db
from studio.db import reference as reference_db
from studio.db import storyboard as storyboard_db
from studio.db.project import MAX_PROJECT_NAME
from studio.errors import StudioError
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.media_files import media_transaction
from studio.services.results import GENERAL, EditResult
from studio.services.script_export import project_script_data
from studio.services.stale_forms import details_fingerprint, stale_problem
from studio.services.validation import field_problems

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectSummary:
    """One line of the project list."""

    id: int
    name: str
    logline: str
    updated_at: datetime
    num_scenes: int
    num_shots: int
    num_characters: int
    # The current keyframe of the first shot that has one, as an absolute file path.
    thumbnail: Path | None


def clean_project_name(name: str) -> str:
    """The name stripped of outer spaces, or a StudioError saying what is wrong with it."""
    name = (name or "").strip()
    if not name:
        raise StudioError("A project needs a name; type one and try again.")
    if len(name) > MAX_PROJECT_NAME:
        raise StudioError(f"The project name has {len(name)} characters; use at most {MAX_PROJECT_NAME}.")
    return name


def create_project(
    *,
    session: Session,
    owner: str,
    name: str,
    logline: str = "",
    style: str = "",
    settings: ProjectSettings | None = None,
) -> ProjectPublic:
    """A new, empty project of `owner`."""
    project = project_db.create_project(
        session=session,
        owner=owner,
        project_in=ProjectCreate(
            name=clean_project_name(name),
            logline=logline.strip(),
            style=style.strip(),
            settings=settings or ProjectSettings(),
        ),
    )
    session.commit()
    logger.info("project %s created by %s", project.id, owner)
    return ProjectPublic.of(project)


def get_project(*, session: Session, owner: str, project_id: int) -> ProjectPublic:
    return ProjectPublic.of(require_project(session, project_id, owner))


PROJECTS_PER_PAGE = 24


@dataclass(frozen=True)
class ProjectPage:
    """One page of the project list: its summaries and where it sits in the whole list."""

    summaries: list[ProjectSummary]
    total: int
    page: int  # 0-based
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _summaries(session: Session, media: MediaStore, projects: list[Project]) -> list[ProjectSummary]:
    """Summaries of `projects` with a fixed number of queries (not a few per project)."""
    ids = [project.id for project in projects]
    if not ids:
        return []

    def counts(statement) -> dict[int, int]:
        return dict(session.exec(statement).all())

    scenes = counts(
        select(Scene.project_id, func.count())
        .where(col(Scene.project_id).in_(ids))
        .group_by(Scene.project_id)
    )
    shots = counts(
        select(Scene.project_id, func.count())
        .select_from(Shot)
        .join(Scene, col(Shot.scene_id) == col(Scene.id))
        .where(col(Scene.project_id).in_(ids))
        .group_by(Scene.project_id)
    )
    characters = counts(
        select(Character.project_id, func.count())
        .where(col(Character.project_id).in_(ids))
        .group_by(Character.project_id)
    )
    # The first shot (story order) with a current keyframe, per project: a window function.
    ranked = (
        select(
            Scene.project_id.label("project_id"),
            KeyframeVersion.media_path.label("media_path"),
            func.row_number()
            .over(
                partition_by=Scene.project_id,
                order_by=(col(Scene.position), col(Scene.id), col(Shot.position), col(Shot.id)),
            )
            .label("rank"),
        )
        .select_from(Shot)
        .join(Scene, col(Shot.scene_id) == col(Scene.id))
        .join(KeyframeVersion, col(Shot.current_keyframe_id) == col(KeyframeVersion.id))
        .where(col(Scene.project_id).in_(ids))
        .subquery()
    )
    thumbnails = dict(
        session.exec(select(ranked.c.project_id, ranked.c.media_path).where(ranked.c.rank == 1)).all()
    )
    return [
        ProjectSummary(
            id=project.id,
            name=project.name,
            logline=project.logline,
            updated_at=project.updated_at,
            num_scenes=scenes.get(project.id, 0),
            num_shots=shots.get(project.id, 0),
            num_characters=characters.get(project.id, 0),
            thumbnail=media.resolve(thumbnails[project.id]) if project.id in thumbnails else None,
        )
        for project in projects
    ]


def list_projects(*, session: Session, media: MediaStore, owner: str) -> list[ProjectSummary]:
    """The owner's projects, most recently changed first, each with a thumbnail if any."""
    return _summaries(session, media, project_db.list_projects(session=session, owner=owner))


def list_project_page(
    *, session: Session, media: MediaStore, owner: str, page: int = 0, per_page: int = PROJECTS_PER_PAGE
) -> ProjectPage:
    """One page of the owner's projects (most recently changed first); a page past the end
    gives the last page. The list stays as fast with a thousand projects as with ten."""
    total = session.exec(select(func.count()).select_from(Project).where(Project.owner == owner)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(0, int(page)), pages - 1)
    statement = (
        select(Project)
        .where(Project.owner == owner)
        .order_by(col(Project.updated_at).desc(), col(Project.id).desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    projects = list(session.exec(statement).all())
    return ProjectPage(
        summaries=_summaries(session, media, projects), total=total, page=page, per_page=per_page
    )


def rename_project(*, session: Session, owner: str, project_id: int, name: str) -> ProjectPublic:
    project = require_project(session, project_id, owner)
    project_db.update_project(
        session=session, project=project, project_in=ProjectUpdate(name=clean_project_name(name))
    )
    session.commit()
    return ProjectPublic.of(project)


def update_project_details(
    *,
    session: Session,
    owner: str,
    project_id: int,
    logline: str | None = None,
    style: str | None = None,
    expected: str | None = None,
) -> EditResult[ProjectPublic]:
    """Change the logline and/or the script-wide style (checked like a script's style).
    `expected`: their fingerprint when the form was loaded (stale_forms)."""
    project = require_project(session, project_id, owner)
    stale = stale_problem("details", expected, details_fingerprint(project))
    if stale:
        return EditResult(problems={GENERAL: stale})
    data = project_script_data(session=session, project=project)
    if logline is not None:
        data["logline"] = logline.strip()
    if style is not None:
        data["style"] = style.strip()
    problems = {key: text for key, text in field_problems(data, ()).items() if key in ("logline", "style")}
    if problems:
        return EditResult(problems=problems)
    project.logline, project.style = data["logline"], data["style"]
    project_db.touch_project(session=session, project=project)
    session.commit()
    return EditResult(value=ProjectPublic.of(project))


_SETTING_PROBLEMS = {
    "bundle_path": "the model bundle must be a folder path, or empty for the default bundle",
    "num_inference_steps": "the number of steps must be a whole number from 1 to 1000, or empty for the bundle's default",
    "guidance_scale": "the guidance scale must be a number from 0 to 50, or empty for the bundle's default",
    "face_guidance_scale": "the face guidance must be a number from 0 to 50 (1 = off), or empty for the bundle's default",
    "seed_policy": "the seed policy must be one of: per-shot, fixed, random",
    "seed": "the seed must be a whole number of 0 or more (below 2^63)",
}


def update_project_settings(
    *, session: Session, owner: str, project_id: int, models: Any = None, **changes: Any
) -> EditResult[ProjectPublic]:
    """Change generation settings (fields of ProjectSettings); problems per field.

    With the studio's `models` (a ModelCache), a `bundle_path` must be one of the bundles it
    offers (ModelCache.offered_bundles): never a free server folder.
    """
    project = require_project(session, project_id, owner)
    unknown = sorted(set(changes) - set(ProjectSettings.model_fields))
    if unknown:
        raise ValueError(f"unknown project settings {unknown}")
    if models is not None and changes.get("bundle_path"):
        try:
            models.bundle_path(changes["bundle_path"])
        except StudioError as error:
            return EditResult(problems={"bundle_path": str(error)})
    merged = {**project.project_settings().model_dump(mode="json"), **changes}
    try:
        settings = ProjectSettings.model_validate(merged)
    except ValidationError as error:
        problems: dict[str, str] = {}
        for line in error.errors(include_url=False):
            key = str(line["loc"][0]) if line["loc"] else ""
            problems[key] = _SETTING_PROBLEMS.get(key, line["msg"])
        return EditResult(problems=problems)
    project_db.set_project_settings(session=session, project=project, settings=settings)
    session.commit()
    return EditResult(value=ProjectPublic.of(project))


def duplicate_project(
    *, session: Session, media: MediaStore, owner: str, project_id: int, name: str | None = None
) -> ProjectPublic:
    """A full copy (cast, photos, scenes, shots, keyframe versions, references) with its own files.

    Renders and jobs are not copied: they describe work done on the original.
    """
    source = require_project(session, project_id, owner)
    copy_name = clean_project_name(name if name is not None else f"Copy of {source.name}"[:MAX_PROJECT_NAME])
    with media_transaction(session, media) as written:
        target = project_db.create_project(
            session=session,
            owner=owner,
            project_in=ProjectCreate(
                name=copy_name, logline=source.logline, style=source.style, settings=source.project_settings()
            ),
        )

        def copy_file(path: str | None, kind: str) -> str | None:
            if path is None:
                return None
            stored = media.copy(path, media.kind_dir(target.id, kind))
            written.append(stored.path)
            return stored.path

        for character in cast_db.list_characters(session=session, project_id=source.id):
            new_character = Character(
                project_id=target.id,
                position=character.position,
                name=character.name,
                description=list(character.description),
            )
            session.add(new_character)
            session.flush()
            for photo in cast_db.list_face_photos(session=session, character_id=character.id):
                session.add(
                    FacePhoto(
                        character_id=new_character.id,
                        position=photo.position,
                        media_path=copy_file(photo.media_path, "faces"),
                        crop_path=copy_file(photo.crop_path, "crops"),
                        content_hash=photo.content_hash,
                        embedding=photo.embedding,
                        embedding_dim=photo.embedding_dim,
                        embedding_model=photo.embedding_model,
                        detector=photo.detector,
                        original_name=photo.original_name,
                        width=photo.width,
                        height=photo.height,
                        created_at=photo.created_at,
                    )
                )
        for scene in storyboard_db.list_scenes(session=session, project_id=source.id):
            new_scene = Scene(
                project_id=target.id,
                position=scene.position,
                heading=scene.heading,
                time_of_day=scene.time_of_day,
                elements=list(scene.elements),
                style=scene.style,
            )
            session.add(new_scene)
            session.flush()
            for shot in storyboard_db.list_shots(session=session, scene_id=scene.id):
                new_shot = Shot(
                    scene_id=new_scene.id,
                    position=shot.position,
                    plot=shot.plot,
                    characters=list(shot.characters),
                    size=shot.size,
                    angle=shot.angle,
                    motion=shot.motion,
                    duration=shot.duration,
                    dialogue=[dict(line) for line in shot.dialogue],
                    notes=shot.notes,
                    locked=shot.locked,
                )
                session.add(new_shot)
                session.flush()
                for version in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.id):
                    new_version = KeyframeVersion(
                        shot_id=new_shot.id,
                        media_path=copy_file(version.media_path, "keyframes"),
                        tokens_path=copy_file(version.tokens_path, "keyframes"),
                        content_hash=version.content_hash,
                        width=version.width,
                        height=version.height,
                        seed=version.seed,
                        params=dict(version.params),
                        bundle_id=version.bundle_id,
                        created_at=version.created_at,
                    )
                    session.add(new_version)
                    session.flush()
                    if version.id == shot.current_keyframe_id:
                        new_shot.current_keyframe_id = new_version.id
                        session.add(new_shot)
        for reference in reference_db.list_reference_frames(session=session, project_id=source.id):
            session.add(
                ReferenceFrame(
                    project_id=target.id,
                    media_path=copy_file(reference.media_path, "references"),
                    content_hash=reference.content_hash,
                    caption=reference.caption,
                    original_name=reference.original_name,
                    width=reference.width,
                    height=reference.height,
                    created_at=reference.created_at,
                )
            )
        session.flush()
    logger.info("project %s duplicated as %s (%d files)", source.id, target.id, len(written))
    return ProjectPublic.of(target)


def delete_project(*, session: Session, media: MediaStore, owner: str, project_id: int) -> None:
    """Delete the project, every row made in it (cascade) and then its media folder."""
    project = require_project(session, project_id, owner)
    project_db.delete_project(session=session, project=project)
    session.commit()
    # Objects of the deleted children may still sit in this session; forget them.
    session.expire_all()
    media.remove_tree(media.project_dir(project_id))
    logger.info("project %s deleted by %s", project_id, owner)
