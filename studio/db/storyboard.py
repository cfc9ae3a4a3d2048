"""Scenes and shots of a project, in story order (`position`, dense from 0).

Shot fields mirror `core.script.Shot` (enums stored as their string values, dialogue as a
JSON list of {"character", "text", "parenthetical"}); `locked` keeps the current keyframe
from being regenerated and `current_keyframe_id` names the version shown and exported.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.positions import renumber


class SceneBase(SQLModel):
    heading: str = Field(min_length=1)
    time_of_day: str = "day"
    elements: list[str] = Field(default_factory=list, sa_type=JSON)
    style: str | None = None


class Scene(SceneBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    position: int = 0


class SceneCreate(SceneBase):
    pass


class ScenePublic(SceneBase):
    id: int
    project_id: int
    position: int


class ShotBase(SQLModel):
    plot: str
    characters: list[str] = Field(default_factory=list, sa_type=JSON)
    size: str = "medium"
    angle: str = "eye-level"
    motion: str = "static"
    duration: float = 3.0
    dialogue: list[dict] = Field(default_factory=list, sa_type=JSON)
    notes: str = ""


class Shot(ShotBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    scene_id: int = Field(foreign_key="scene.id", ondelete="CASCADE", index=True)
    position: int = 0
    locked: bool = False
    # Shot <-> KeyframeVersion is a cycle (a version belongs to a shot, a shot points at its
    # current version); use_alter marks the cycle as intended so table sorting does not warn.
    current_keyframe_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("keyframeversion.id", ondelete="SET NULL", use_alter=True), nullable=True
        ),
    )


class ShotCreate(ShotBase):
    pass


class ShotPublic(ShotBase):
    id: int
    scene_id: int
    position: int
    locked: bool
    current_keyframe_id: int | None


# -- CRUD ------------------------------------------------------------------------------


def list_scenes(*, session: Session, project_id: int) -> list[Scene]:
    statement = (
        select(Scene).where(Scene.project_id == project_id).order_by(col(Scene.position), col(Scene.id))
    )
    return list(session.exec(statement).all())


def list_shots(*, session: Session, scene_id: int) -> list[Shot]:
    statement = select(Shot).where(Shot.scene_id == scene_id).order_by(col(Shot.position), col(Shot.id))
    return list(session.exec(statement).all())


def list_project_shots(*, session: Session, project_id: int) -> list[tuple[Scene, Shot]]:
    """Every shot of the project in story order, with its scene."""
    statement = (
        select(Scene, Shot)
        .join(Shot, col(Shot.scene_id) == col(Scene.id))
        .where(Scene.project_id == project_id)
        .order_by(col(Scene.position), col(Scene.id), col(Shot.position), col(Shot.id))
    )
    return [(scene, shot) for scene, shot in session.exec(statement).all()]


def create_scene(
    *, session: Session, project_id: int, scene_in: SceneCreate, index: int | None = None
) -> Scene:
    """Append the scene, or insert it at 0-based `index`."""
    siblings = list_scenes(session=session, project_id=project_id)
    scene = Scene(project_id=project_id, position=len(siblings), **scene_in.model_dump())
    session.add(scene)
    session.flush()
    if index is not None and index < len(siblings):
        siblings.insert(index, scene)
        renumber(session, siblings)
    return scene


def create_shot(*, session: Session, scene_id: int, shot_in: ShotCreate, index: int | None = None) -> Shot:
    """Append the shot to its scene, or insert it at 0-based `index`."""
    siblings = list_shots(session=session, scene_id=scene_id)
    shot = Shot(scene_id=scene_id, position=len(siblings), **shot_in.model_dump())
    session.add(shot)
    session.flush()
    if index is not None and index < len(siblings):
        siblings.insert(index, shot)
        renumber(session, siblings)
    return shot


def delete_scene(*, session: Session, scene: Scene) -> None:
    project_id = scene.project_id
    session.delete(scene)
    session.flush()
    renumber(session, list_scenes(session=session, project_id=project_id))


def delete_shot(*, session: Session, shot: Shot) -> None:
    scene_id = shot.scene_id
    session.delete(shot)
    session.flush()
    renumber(session, list_shots(session=session, scene_id=scene_id))
