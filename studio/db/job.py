"""Jobs: long work (generation, rendering) as rows, so progress survives a page reload and
a crash is visible afterwards.

Status moves queued -> running -> done | failed | cancelled and never back. `model` names the
resource the job needs (one job at a time per model); `cancel_requested` lets any process
ask a running job to stop; `pid` and `heartbeat_at` tell a restarted studio which "running"
rows were orphaned by a crash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from studio.db.clock import utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobBase(SQLModel):
    kind: str
    model: str = "default"


class Job(JobBase, table=True):
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 1", name="job_progress_fraction"),
        CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="job_status_known"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE", index=True)
    status: str = Field(default=JobStatus.QUEUED, index=True)
    progress: float = 0.0
    message: str = ""
    result: dict = Field(default_factory=dict, sa_type=JSON)
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pid: int | None = None
    heartbeat_at: datetime | None = None


class JobPublic(JobBase):
    id: int
    project_id: int
    status: str
    progress: float
    message: str
    result: dict
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def list_jobs(*, session: Session, project_id: int, active_only: bool = False) -> list[Job]:
    """The project's jobs, newest first."""
    statement = select(Job).where(Job.project_id == project_id)
    if active_only:
        statement = statement.where(col(Job.status).in_([s.value for s in ACTIVE_STATUSES]))
    statement = statement.order_by(col(Job.created_at).desc(), col(Job.id).desc())
    return list(session.exec(statement).all())


def list_jobs_with_status(*, session: Session, statuses: tuple[JobStatus, ...]) -> list[Job]:
    statement = select(Job).where(col(Job.status).in_([s.value for s in statuses])).order_by(col(Job.id))
    return list(session.exec(statement).all())
