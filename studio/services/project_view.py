"""Read models for the UI: a whole project in one call, with absolute media paths.

`open_project` returns plain frozen dataclasses holding Public rows, so a Gradio callback can
lay out the cast, the storyboard and the references without touching a session again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from studio.db import (
    CharacterPublic,
    FacePhotoPublic,
    KeyframeVersion,
    KeyframeVersionPublic,
    ProjectPublic,
    ReferenceFramePublic,
    ScenePublic,
    ShotPublic,
)
from studio.db import cast as cast_db
from studio.db import reference as reference_db
from studio.db import storyboard as storyboard_db
from studio.media import MediaStore
from studio.ownership import require_project


@dataclass(frozen=True)
class PhotoView:
    photo: FacePhotoPublic
    path: Path
    crop: Path | None


@dataclass(frozen=True)
class CharacterView:
    character: CharacterPublic
    photos: tuple[PhotoView, ...]


@dataclass(frozen=True)
class ShotView:
    shot: ShotPublic
    number: int  # 1-based position in the whole storyboard (story order)
    keyframe: KeyframeVersionPublic | None
    keyframe_path: Path | None


@dataclass(frozen=True)
class SceneView:
    scene: ScenePublic
    shots: tuple[ShotView, ...]


@dataclass(frozen=True)
class ReferenceView:
    reference: ReferenceFramePublic
    path: Path


@dataclass(frozen=True)
class ProjectView:
    project: ProjectPublic
    cast: tuple[CharacterView, ...]
    scenes: tuple[SceneView, ...]
    references: tuple[ReferenceView, ...]

    @property
    def shots(self) -> list[ShotView]:
        """Every shot in story order."""
        return [shot for scene in self.scenes for shot in scene.shots]


def character_view(session: Session, media: MediaStore, character) -> CharacterView:
    photos = tuple(
        PhotoView(
            photo=FacePhotoPublic.model_validate(photo),
            path=media.resolve(photo.media_path),
            crop=media.resolve(photo.crop_path) if photo.crop_path else None,
        )
        for photo in cast_db.list_face_photos(session=session, character_id=character.id)
    )
    return CharacterView(character=CharacterPublic.model_validate(character), photos=photos)


def open_project(*, session: Session, media: MediaStore, owner: str, project_id: int) -> ProjectView:
    """Everything the studio shows of one project."""
    project = require_project(session, project_id, owner)
    cast = tuple(
        character_view(session, media, character)
        for character in cast_db.list_characters(session=session, project_id=project.id)
    )
    scenes = []
    number = 0
    for scene in storyboard_db.list_scenes(session=session, project_id=project.id):
        shots = []
        for shot in storyboard_db.list_shots(session=session, scene_id=scene.id):
            number += 1
            version = (
                session.get(KeyframeVersion, shot.current_keyframe_id) if shot.current_keyframe_id else None
            )
            shots.append(
                ShotView(
                    shot=ShotPublic.model_validate(shot),
                    number=number,
                    keyframe=KeyframeVersionPublic.model_validate(version) if version else None,
                    keyframe_path=media.resolve(version.media_path) if version else None,
                )
            )
        scenes.append(SceneView(scene=ScenePublic.model_validate(scene), shots=tuple(shots)))
    references = tuple(
        ReferenceView(reference=ReferenceFramePublic.model_validate(row), path=media.resolve(row.media_path))
        for row in reference_db.list_reference_frames(session=session, project_id=project.id)
    )
    return ProjectView(
        project=ProjectPublic.of(project), cast=cast, scenes=tuple(scenes), references=references
    )
