"""Generation and rendering jobs in worker processes (one per GPU), through a Huey task queue.

One machine runs the studio in-process by default (`studio.jobs.JobRunner`: jobs on threads
of the web process). With a queue (`--queue-url` / `STUDIO_QUEUE_URL`) the studio hands each
job to whichever worker process is free:

    sqlite:///srv/studio/queue.sqlite3   one machine, several workers (the broker is a SQLite file)
    redis://dbhost:6379/0                several machines (a Redis server is the broker)

    python -m studio.worker --queue-url sqlite:///srv/studio/queue.sqlite3 --data-dir /srv/studio --device cuda:0

What stays the same for the user:

* the job row: the studio writes it (queued) and enqueues (job id, the job's kind, its plan);
  the worker runs the very job function the studio would have run (`JOB_KINDS`), through its
  own `JobRunner`, so status, progress, messages, heartbeats and the result land in the same
  row, and each keyframe or clip is stored atomically as it is made;
* progress: the studio's callback follows the row (`QueueJobRunner.start` streams events
  read from it every `poll_seconds`); previews are not sent across processes, each finished
  keyframe is in the project as soon as it is stored;
* cancel: the row's `cancel_requested`, which the worker's job sees at its next step; a job
  cancelled before a worker took it is finished at once and skipped by the worker;
* a worker that dies mid-job stops beating: the studio marks the job failed after
  `stale_after` seconds without a heartbeat, with a sentence saying to start it again; what the
  job stored before stays, complete (every store is atomic), nothing else does;
* ownership: rows belong to projects, and every service checks the owner as before.

Huey delivers each task to one consumer and never retries (retries=0): a job that failed
is started again by the user, as in-process.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, func, select

from studio.db import Job, JobPublic, JobStatus
from studio.db.clock import utcnow
from studio.db.engine import new_session
from studio.db.job import FINISHED_STATUSES
from studio.errors import QueueFullError, StudioError
from studio.jobs import DEFAULT_MODEL, JobEvent, JobFunction, JobRunner, JobSpec
from studio.ownership import require_project

logger = logging.getLogger(__name__)

QUEUE_NAME = "moviedreamer-studio"
TASK_NAME = "studio.run_job"
STALE_WORKER_MESSAGE = (
    "The worker running this job stopped (its process ended or lost the database); the keyframes and "
    "clips it finished are kept. Start the job again."
)
WAITING_MESSAGE = "Waiting for a worker."


class QueueUrlError(StudioError):
    """The queue URL names no broker the studio can use."""


def job_kinds() -> dict[str, Callable[..., JobFunction]]:
    """kind -> builder(plan, media=..., models=...) of the job function (imported when used)."""
    from studio.services.animatic import animatic_job
    from studio.services.clips import clip_job
    from studio.services.generation import generation_job

    return {
        "generation": generation_job,
        "clips": clip_job,
        "animatic": lambda plan, *, media, models: animatic_job(plan, media=media),
    }


def queue_backend(url: str) -> tuple[str, Any]:
    """("sqlite" | "redis", the parsed URL) of a queue URL, or a sentence; creates nothing."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise QueueUrlError(
            f"The queue URL {url!r} is not a URL; write sqlite:///path/queue.sqlite3 or redis://host:6379/0."
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite" and not parsed.database:
        raise QueueUrlError("The SQLite queue URL names no file; write sqlite:///path/queue.sqlite3.")
    if backend not in ("sqlite", "redis"):
        raise QueueUrlError(
            f"The queue URL names a {backend} broker; the studio's workers take sqlite:///file (one machine) "
            "or redis://host:6379/0 (several machines)."
        )
    return backend, parsed


def make_queue(url: str):
    """The Huey instance of a queue URL (sqlite:///file, created if missing, or redis://host:port/db)."""
    from huey import RedisHuey, SqliteHuey

    backend, parsed = queue_backend(url)
    if backend == "redis":
        return RedisHuey(QUEUE_NAME, url=url, results=False)
    path = Path(parsed.database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path), results=False)


def register_task(huey, handler: Callable[[int, str, Any], None]):
    """The one task of the queue, under a fixed name so that the studio and workers agree."""
    return huey.task(name=TASK_NAME, retries=0)(handler)


def _not_run_here(job_id: int, kind: str, plan: Any) -> None:
    raise StudioError("Studio jobs run in worker processes: start one with python -m studio.worker.")


class QueueJobRunner(JobRunner):
    """A JobRunner whose jobs run in worker processes (module docstring)."""

    def __init__(
        self,
        engine: Engine,
        queue_url: str,
        *,
        max_queued: int = 4,
        stale_after: float = 60.0,
        poll_seconds: float = 0.5,
        **kwargs: Any,
    ):
        super().__init__(engine, max_queued=max_queued, poll_seconds=poll_seconds, **kwargs)
        self.queue_url = queue_url
        self.huey = make_queue(queue_url)
        self._task = register_task(self.huey, _not_run_here)
        self.stale_after = stale_after

    def submit(
        self, *, session: Session, owner: str, project_id: int, kind: str, model: str = DEFAULT_MODEL
    ) -> JobPublic:
        """Write the queued row (QueueFullError when `max_queued` jobs of the model wait already)."""
        require_project(session, project_id, owner)
        waiting = session.exec(
            select(func.count()).select_from(Job).where(Job.model == model, Job.status == JobStatus.QUEUED)
        ).one()
        if waiting >= self.max_queued:
            raise QueueFullError(
                f"The {model} model is busy: {waiting} jobs are waiting for a worker, which is the most the "
                "studio queues. Wait for one to finish (or cancel one) and try again."
            )
        job = Job(
            project_id=project_id, kind=kind, model=model, status=JobStatus.QUEUED, message=WAITING_MESSAGE
        )
        session.add(job)
        session.commit()
        return JobPublic.model_validate(job)

    def start(
        self,
        *,
        session: Session,
        owner: str,
        project_id: int,
        kind: str,
        work: JobFunction,
        model: str = DEFAULT_MODEL,
    ) -> Iterator[JobEvent]:
        """Queue the job for a worker and follow its row (what a streaming UI callback uses)."""
        job = self.start_in_background(
            session=session, owner=owner, project_id=project_id, kind=kind, work=work, model=model
        )
        return self.follow(job.id)

    def start_in_background(
        self,
        *,
        session: Session,
        owner: str,
        project_id: int,
        kind: str,
        work: JobFunction,
        model: str = DEFAULT_MODEL,
    ) -> JobPublic:
        """Queue the job for a worker; poll the row for progress."""
        spec: JobSpec | None = getattr(work, "spec", None)
        if spec is None or spec.kind not in job_kinds():
            raise StudioError(
                "This job cannot run in a worker process (it has no job spec); run the studio without a queue."
            )
        job = self.submit(session=session, owner=owner, project_id=project_id, kind=kind, model=model)
        try:
            self._task(job.id, spec.kind, spec.plan)
        except Exception as error:
            message = (
                f"The job could not be handed to the workers' queue ({type(error).__name__}: {error}); check "
                "that the queue's broker is running and try again."
            )
            self._update(job.id, status=JobStatus.FAILED, finished_at=utcnow(), message=message)
            raise StudioError(message) from error
        return job

    def cancel(self, *, session: Session, owner: str, job_id: int) -> JobPublic:
        """Ask the job to stop; one no worker has taken yet is cancelled at once."""
        super().cancel(session=session, owner=owner, job_id=job_id)
        self._finish_if_untaken(job_id)
        with new_session(self.engine) as fresh:
            return JobPublic.model_validate(fresh.get(Job, job_id))

    def _finish_if_untaken(self, job_id: int) -> None:
        with new_session(self.engine) as session:
            _cancel_if_untaken(session, session.get(Job, job_id))

    def _stale(self, job: Job) -> bool:
        beat = job.heartbeat_at or job.started_at
        return beat is not None and utcnow() - beat > timedelta(seconds=self.stale_after)

    def follow(self, job_id: int) -> Iterator[JobEvent]:
        """Events read from the job's row until it finishes; closing early cancels the job."""
        last: tuple | None = None
        finished = False
        try:
            while True:
                with new_session(self.engine) as session:
                    job = session.get(Job, job_id)
                    if job is not None and job.status == JobStatus.RUNNING and self._stale(job):
                        job.status = JobStatus.FAILED
                        job.finished_at = utcnow()
                        job.message = STALE_WORKER_MESSAGE
                        session.add(job)
                        session.commit()
                        logger.warning("job %s: its worker stopped beating; marked failed", job_id)
                event = self._event(job, job_id)
                state = (event.status, round(event.progress, 4), event.message)
                if state != last:
                    last = state
                    yield event
                if event.finished:
                    finished = True
                    return
                time.sleep(self.poll_seconds)
        finally:
            if not finished:
                with new_session(self.engine) as session:
                    job = session.get(Job, job_id)
                    if job is not None and job.status not in FINISHED_STATUSES:
                        job.cancel_requested = True
                        session.add(job)
                        session.commit()
                self._finish_if_untaken(job_id)


class WorkerRunner(JobRunner):
    """The JobRunner of a worker process: takes a queued row the studio wrote and runs it."""

    def take(self, job_id: int) -> bool:
        """Claim a queued job for this process; False when it is no longer queued (cancelled, failed
        by the studio, or taken)."""
        with new_session(self.engine) as session:
            job = session.get(Job, job_id)
            if job is None or job.status != JobStatus.QUEUED or _cancel_if_untaken(session, job):
                return False
            job.pid = os.getpid()
            job.message = "Starting on a worker."
            session.add(job)
            session.commit()
            model = job.model
        # The in-process bookkeeping `run` expects, for a row this process did not submit.
        slot = self._slot(model)
        self._track(job_id, slot, slot.reserve(model))
        return True


def _cancel_if_untaken(session: Session, job: Job | None) -> bool:
    """Finish a queued job whose cancel was asked before any worker took it; whether it was."""
    if job is None or job.status != JobStatus.QUEUED or not job.cancel_requested:
        return False
    job.status, job.finished_at, job.message = JobStatus.CANCELLED, utcnow(), "Cancelled before it started."
    session.add(job)
    session.commit()
    return True


def worker_handler(runner: WorkerRunner, media, models) -> Callable[[int, str, Any], None]:
    """The task body in a worker: rebuild the job function and run it to its end."""
    builders = job_kinds()

    def handle(job_id: int, kind: str, plan: Any) -> None:
        if kind not in builders:
            logger.error("job %s: unknown kind %r (a newer studio?); skipped", job_id, kind)
            return
        if not runner.take(job_id):
            logger.info("job %s is no longer queued; skipped", job_id)
            return
        work = builders[kind](plan, media=media, models=models)
        final = None
        for event in runner.run(job_id, work):
            final = event
        logger.info("job %s (%s): %s", job_id, kind, final.status if final else "no event")

    return handle


def recover_stale_worker_jobs(
    session: Session, *, stale_after: timedelta = timedelta(seconds=60)
) -> list[int]:
    """Start-up recovery with workers: queued rows wait in the broker (kept); running ones whose
    worker stopped beating are marked failed."""
    from studio.jobs import STALE_RUNNING_MESSAGE

    now = utcnow()
    marked = []
    for job in session.exec(select(Job).where(Job.status == JobStatus.RUNNING)).all():
        beat = job.heartbeat_at or job.started_at or job.created_at
        if beat is None or now - beat > stale_after:
            job.status = JobStatus.FAILED
            job.message = STALE_RUNNING_MESSAGE
            job.finished_at = now
            session.add(job)
            marked.append(job.id)
    session.commit()
    return marked
