"""Running studio jobs from callbacks: start one and stream its events, cancel a project's jobs.

A streaming callback iterates `start_job(...)` and yields widget updates per event; the job
row keeps status and progress, so a Cancel button in any tab (or another browser) can stop
it through `cancel_jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from studio.context import StudioContext
from studio.jobs import JobEvent, JobFunction, list_project_jobs
from studio.ui.feedback import markdown_text


def start_job(
    studio: StudioContext, *, owner: str, project_id: int, kind: str, model: str, work: JobFunction
) -> Iterator[JobEvent]:
    """Queue the job (QueueFullError when its model's queue is full) and return its event stream."""
    with studio.session() as session:
        return studio.runner.start(
            session=session, owner=owner, project_id=project_id, kind=kind, model=model, work=work
        )


def cancel_jobs(studio: StudioContext, *, owner: str, project_id: int, kinds: Iterable[str]) -> int:
    """Ask every active job of these kinds in the project to stop; how many were asked."""
    wanted = set(kinds)
    jobs = studio.call(list_project_jobs, owner=owner, project_id=project_id, active_only=True)
    count = 0
    for job in jobs:
        if job.kind in wanted:
            studio.call(studio.runner.cancel, owner=owner, job_id=job.id)
            count += 1
    return count


def job_status(event: JobEvent, title: str) -> str:
    """One Markdown line for the status area (the message is escaped)."""
    status = str(event.status)
    if status == "done":
        return f"**{title}: done.**"
    if status == "running":
        return f"**{title}: {round(100 * event.progress)}%** — {markdown_text(event.message)}"
    return f"**{title}: {status}** — {markdown_text(event.message)}"
