"""Projects: one storyboard each, owned by one user, with its generation settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow

MAX_PROJECT_NAME = 120


class SeedPolicy(StrEnum):
    # Every regeneration of the shot at 0-based index t starts from `seed + t` (as the command
    # line's `--seed`): reproducible, and shots differ from each other.
    PER_SHOT = "per-shot"
    # Every shot starts from the same `seed` (useful to compare prompts).
    FIXED = "fixed"
    # A fresh seed is drawn (and stored on the keyframe version) every time.
    RANDOM = "random"


class ProjectSettings(BaseModel):
    """Generation settings kept with the project (JSON column). None = the bundle's default."""

    model_config = ConfigDict(extra="forbid")

    bundle_path: str | None = None
    num_inference_steps: int | None = PydanticField(default=None, ge=1, le=1000)
    guidance_scale: float | None = PydanticField(default=None, ge=0.0, le=50.0)
    # identity guidance (how strongly the cast's face photos steer each keyframe); projects saved
    # before it existed simply lack the key and use the bundle's default
    face_guidance_scale: float | None = PydanticField(default=None, ge=0.0, le=50.0)
    seed_policy: SeedPolicy = SeedPolicy.PER_SHOT
    seed: int = PydanticField(default=0, ge=0, lt=2**63)
    # scratch voice track (issue 26): each character's eSpeak NG voice by case-folded name
    # ({"voice", "variant", "pitch", "speed"}; a character without one gets a default voice),
    # whether the animatic reads the dialogue aloud, and the media path of a music/ambience bed
    # (studio.services.media_files counts it as referenced, like a row's path)
    voices: dict[str, dict[str, str | int]] = PydanticField(default_factory=dict)
    scratch_voice: bool = False
    music_path: str | None = None


class ProjectBase(SQLModel):
    name: str = Field(min_length=1, max_length=MAX_PROJECT_NAME)
    logline: str = ""
    style: str = ""


class Project(ProjectBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    settings: dict = Field(default_factory=lambda: ProjectSettings().model_dump(mode="json"), sa_type=JSON)

    def project_settings(self) -> ProjectSettings:
        return ProjectSettings.model_validate(self.settings or {})


class ProjectCreate(ProjectBase):
    settings: ProjectSettings = PydanticField(default_factory=ProjectSettings)


class ProjectUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_PROJECT_NAME)
    logline: str | None = None
    style: str | None = None


class ProjectPublic(ProjectBase):
    id: int
    owner: str
    created_at: datetime
    updated_at: datetime
    settings: ProjectSettings

    @classmethod
    def of(cls, project: Project) -> ProjectPublic:
        return cls(
            id=project.id,
            owner=project.owner,
            name=project.name,
            logline=project.logline,
            style=project.style,
            created_at=project.created_at,
            updated_at=project.updated_at,
            settings=project.project_settings(),
        )


# -- CRUD ------------------------------------------------------------------------------


def create_project(*, session: Session, owner: str, project_in: ProjectCreate) -> Project:
    project = Project(
        name=project_in.name,
        logline=project_in.logline,
        style=project_in.style,
        owner=owner,
        settings=project_in.settings.model_dump(mode="json"),
    )
    session.add(project)
    session.flush()
    return project


def get_project(*, session: Session, project_id: int) -> Project | None:
    return session.get(Project, project_id)


def list_projects(*, session: Session, owner: str) -> list[Project]:
    """The owner's projects, most recently changed first."""
    statement = (
        select(Project)
        .where(Project.owner == owner)
        .order_by(col(Project.updated_at).desc(), col(Project.id).desc())
    )
    return list(session.exec(statement).all())


def update_project(*, session: Session, project: Project, project_in: ProjectUpdate) -> Project:
    project.sqlmodel_update(project_in.model_dump(exclude_unset=True, exclude_none=True))
    touch_project(session=session, project=project)
    return project


def set_project_settings(*, session: Session, project: Project, settings: ProjectSettings) -> Project:
    # Assign a new dict: SQLAlchemy does not notice in-place changes of a JSON value.
    project.settings = settings.model_dump(mode="json")
    touch_project(session=session, project=project)
    return project


def touch_project(*, session: Session, project: Project) -> None:
    """Mark the project changed now (the project list sorts by this)."""
    project.updated_at = utcnow()
    session.add(project)


def delete_project(*, session: Session, project: Project) -> None:
    """Delete the row; the database cascades to every row of the project."""
    session.delete(project)
    session.flush()
