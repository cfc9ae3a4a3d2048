"""Persistence of the studio: SQLite through sqlmodel.

Each module holds the table models of one concept (with Base/Create/Update/Public variants
where the services need them) and plain CRUD functions taking a keyword-only `session`:

    project     Project, ProjectSettings, SeedPolicy
    cast        Character, FacePhoto
    storyboard  Scene, Shot
    keyframe    KeyframeVersion
    reference   ReferenceFrame
    render      Render, RenderKind
    job         Job, JobStatus
    engine      make_engine(db_path), init_db(engine), new_session(engine)

Every child row references its parent with ON DELETE CASCADE, so deleting a project deletes
everything made in it (the engine turns SQLite's foreign keys on for each connection).
Media files are not rows: the services delete them after the rows (see studio.media).
"""

from studio.db.cast import (
    Character,
    CharacterCreate,
    CharacterPublic,
    FacePhoto,
    FacePhotoPublic,
)
from studio.db.engine import init_db, make_engine, new_session
from studio.db.job import Job, JobPublic, JobStatus
from studio.db.keyframe import KeyframeVersion, KeyframeVersionPublic
from studio.db.project import (
    Project,
    ProjectCreate,
    ProjectPublic,
    ProjectSettings,
    ProjectUpdate,
    SeedPolicy,
)
from studio.db.reference import ReferenceFrame, ReferenceFramePublic
from studio.db.render import Render, RenderKind, RenderPublic
from studio.db.storyboard import (
    Scene,
    SceneCreate,
    ScenePublic,
    Shot,
    ShotCreate,
    ShotPublic,
)

__all__ = [
    "Character",
    "CharacterCreate",
    "CharacterPublic",
    "FacePhoto",
    "FacePhotoPublic",
    "Job",
    "JobPublic",
    "JobStatus",
    "KeyframeVersion",
    "KeyframeVersionPublic",
    "Project",
    "ProjectCreate",
    "ProjectPublic",
    "ProjectSettings",
    "ProjectUpdate",
    "ReferenceFrame",
    "ReferenceFramePublic",
    "Render",
    "RenderKind",
    "RenderPublic",
    "Scene",
    "SceneCreate",
    "ScenePublic",
    "SeedPolicy",
    "Shot",
    "ShotCreate",
    "ShotPublic",
    "init_db",
    "make_engine",
    "new_session",
]
