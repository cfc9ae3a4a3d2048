"""Long jobs (generation, rendering) as persisted rows run by a generator-driving runner.

A *job function* is a generator function taking a `JobContext`:

    def render_keyframes(ctx: JobContext):
        images = []
        for i, shot in enumerate(shots):
            ctx.raise_if_cancelled()
            images.append(pipeline(shot))
            yield JobUpdate(progress=(i + 1) / len(shots), message=f"shot {i + 1}", preview=images[-1])
        with ctx.session() as session:           # artefacts only now, each write atomic
            ...store images through studio.services...
        return {"keyframes": [...]}             # becomes Job.result

`JobRunner.run(...)` drives it in the calling thread (a Gradio generator callback can
`yield from` the events and show previews), persisting status, progress and message on every
update; `JobRunner.start_in_background(...)` does the same on a thread for callers that poll.

Guarantees:

* one job at a time per `model` key; at most `max_queued` jobs wait behind it, more are
  refused with a `QueueFullError` sentence before any row is written;
* cancellation from any tab or process (`cancel_requested` in the row, plus an in-process
  event) is seen at the next update or `ctx.raise_if_cancelled()`; the job function is then
  closed (its `finally` blocks run) before it reached its saving step;
* a heartbeat thread refreshes `heartbeat_at` of running jobs, so `recover_stale_jobs` at
  start-up can tell jobs orphaned by a crash (dead pid or silent heartbeat) from live ones
  and marks them failed with a sentence saying to start them again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from studio.db import Job, JobPublic, JobStatus, Project
from studio.db.clock import utcnow
from studio.db.engine import new_session
from studio.db.job import ACTIVE_STATUSES, FINISHED_STATUSES, list_jobs, list_jobs_with_status
from studio.errors import JobCancelledError, QueueFullError, StudioError
from studio.ownership import require_job, require_project

logger = logging.getLogger(__name__)

STALE_RUNNING_MESSAGE = "The studio stopped while this job was running; start it again."
STALE_QUEUED_MESSAGE = "The studio stopped before this job started; start it again."
CANCELLED_MESSAGE = "Cancelled; the results of this run were not saved."
DEFAULT_MODEL = "default"


@dataclass(frozen=True)
class JobUpdate:
    """What a job function yields: progress in 0..1 (None keeps the last), a message, a preview."""

    progress: float | None = None
    message: str = ""
    preview: Any = None


@dataclass(frozen=True)
class JobEvent:
    """What the runner reports after each step (and once at the end)."""

    job_id: int
    status: JobStatus
    progress: float
    message: str
    preview: Any = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


JobFunction = Callable[["JobContext"], Generator[JobUpdate, None, dict[str, Any] | None]]


@dataclass(frozen=True)
class JobSpec:
    """What a worker process needs to rebuild a job function (studio.workers): the kind of job
    (a key of `studio.workers.job_kinds()`) and its plan (picklable). Job builders attach it to
    the function they return as `work.spec`."""

    kind: str
    plan: Any


class JobContext:
    """Handed to a job function: its ids, a session factory and the cancellation check."""

    def __init__(self, runner: JobRunner, job_id: int, project_id: int, owner: str):
        self.job_id = job_id
        self.project_id = project_id
        self.owner = owner
        # What the row says if the job is cancelled; a job that keeps each result as soon as
        # it exists (keyframes, clips) updates it to say what was kept.
        self.cancel_message = CANCELLED_MESSAGE
        self._runner = runner

    def session(self) -> Session:
        """A new session on the studio database (use it in a `with` block)."""
        return new_session(self._runner.engine)

    def cancelled(self) -> bool:
        return self._runner.is_cancel_requested(self.job_id)

    def raise_if_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelledError(self.cancel_message)


class _ModelSlot:
    """One running job per model, and a bounded FIFO of waiting ones."""

    def __init__(self, max_queued: int):
        self.max_queued = max_queued
        self.condition = threading.Condition()
        self.holder: object | None = None
        self.waiting: deque[object] = deque()

    def reserve(self, model: str) -> object:
        """A place in the queue, or QueueFullError."""
        with self.condition:
            if len(self.waiting) >= self.max_queued + (0 if self.holder is not None else 1):
                busy = "one job is running and " if self.holder is not None else ""
                raise QueueFullError(
                    f"The {model} model is busy: {busy}{len(self.waiting)} more are waiting, which is the most the "
                    "studio queues. Wait for one to finish (or cancel one) and try again."
                )
            ticket = object()
            self.waiting.append(ticket)
            return ticket

    def position(self, ticket: object) -> int:
        """How many jobs run or wait before `ticket`."""
        with self.condition:
            return self.waiting.index(ticket) + (1 if self.holder is not None else 0)

    def try_acquire(self, ticket: object, timeout: float) -> bool:
        with self.condition:
            if self.holder is None and self.waiting and self.waiting[0] is ticket:
                self.waiting.popleft()
                self.holder = ticket
                return True
            self.condition.wait(timeout)
            if self.holder is None and self.waiting and self.waiting[0] is ticket:
                self.waiting.popleft()
                self.holder = ticket
                return True
            return False

    def leave(self, ticket: object) -> None:
        """Give up a place in the queue or the slot itself."""
        with self.condition:
            if self.holder is ticket:
                self.holder = None
            elif ticket in self.waiting:
                self.waiting.remove(ticket)
            self.condition.notify_all()


class JobRunner:
    """Runs job functions of one studio process; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_queued: int = 4,
        heartbeat_seconds: float = 5.0,
        poll_seconds: float = 0.2,
        keep_previews: int = 16,
    ):
        self.engine = engine
        self.max_queued = max_queued
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self._slots: dict[str, _ModelSlot] = {}
        self._tickets: dict[int, tuple[_ModelSlot, object]] = {}
        self._cancel_events: dict[int, threading.Event] = {}
        self._running: set[int] = set()
        self._previews: OrderedDict[int, Any] = OrderedDict()
        self._keep_previews = keep_previews
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None

    # -- submitting and cancelling ---------------------------------------------------------

    def _slot(self, model: str) -> _ModelSlot:
        with self._lock:
            if model not in self._slots:
                self._slots[model] = _ModelSlot(self.max_queued)
            return self._slots[model]

    def submit(
        self, *, session: Session, owner: str, project_id: int, kind: str, model: str = DEFAULT_MODEL
    ) -> JobPublic:
        """Queue a job row for `run` (refused with QueueFullError when the model's queue is full)."""
        require_project(session, project_id, owner)
        slot = self._slot(model)
        ticket = slot.reserve(model)
        try:
            job = Job(
                project_id=project_id,
                kind=kind,
                model=model,
                status=JobStatus.QUEUED,
                pid=os.getpid(),
                message="Waiting to start.",
            )
            session.add(job)
            session.commit()
        except BaseException:
            slot.leave(ticket)
            raise
        self._track(job.id, slot, ticket)
        return JobPublic.model_validate(job)

    def _track(self, job_id: int, slot: _ModelSlot, ticket: object) -> None:
        """What `run` finds of a job: its place in the model's queue and its cancel event."""
        with self._lock:
            self._tickets[job_id] = (slot, ticket)
            self._cancel_events[job_id] = threading.Event()

    def cancel(self, *, session: Session, owner: str, job_id: int) -> JobPublic:
        """Ask a job to stop. A job queued here is cancelled at once; a running one at its next step."""
        job, _ = require_job(session, job_id, owner)
        if job.status in FINISHED_STATUSES:
            return JobPublic.model_validate(job)
        job.cancel_requested = True
        with self._lock:
            event = self._cancel_events.get(job_id)
            # Submitted but never handed to run(): nobody will notice the flag, so finish it here
            # and free its place in the queue.
            unstarted = self._tickets.pop(job_id, None)
            if unstarted is not None:
                self._cancel_events.pop(job_id, None)
        if unstarted is not None:
            unstarted[0].leave(unstarted[1])
            job.status = JobStatus.CANCELLED
            job.finished_at = utcnow()
            job.message = "Cancelled before it started."
        session.add(job)
        session.commit()
        if event is not None:
            event.set()
        return JobPublic.model_validate(job)

    def is_cancel_requested(self, job_id: int) -> bool:
        with self._lock:
            event = self._cancel_events.get(job_id)
        if event is not None and event.is_set():
            return True
        with new_session(self.engine) as session:
            job = session.get(Job, job_id)
            # A job whose row vanished (its project was deleted) has nobody left to save for.
            requested = job is None or job.cancel_requested
        if requested and event is not None:
            event.set()
        return requested

    def latest_preview(self, job_id: int) -> Any:
        """The last preview a job yielded (kept for the last few jobs), or None."""
        with self._lock:
            return self._previews.get(job_id)

    # -- running ---------------------------------------------------------------------------

    def _update(self, job_id: int, **values: Any) -> Job | None:
        with new_session(self.engine) as session:
            job = session.get(Job, job_id)
            if job is None:
                return None
            for key, value in values.items():
                setattr(job, key, value)
            session.add(job)
            session.commit()
            return job

    def _cancel_if_active(self, job_id: int, message: str = CANCELLED_MESSAGE) -> None:
        with new_session(self.engine) as session:
            job = session.get(Job, job_id)
            if job is not None and job.status in ACTIVE_STATUSES:
                job.status = JobStatus.CANCELLED
                job.finished_at = utcnow()
                job.message = message
                session.add(job)
                session.commit()

    def _event(self, job: Job | None, job_id: int, preview: Any = None) -> JobEvent:
        if job is None:
            return JobEvent(
                job_id=job_id,
                status=JobStatus.CANCELLED,
                progress=0.0,
                message="The project of this job was deleted.",
            )
        return JobEvent(
            job_id=job_id,
            status=JobStatus(job.status),
            progress=job.progress,
            message=job.message,
            preview=preview,
            result=dict(job.result or {}),
        )

    def run(self, job_id: int, work: JobFunction) -> Iterator[JobEvent]:
        """Wait for the model, run `work`, persist every update; yields events, the last one final.

        Errors of the job become a failed event (a StudioError's sentence, or a generic one with
        the details in the log); nothing is raised to the caller. Closing this generator early
        (e.g. the browser went away) cancels the job.
        """
        with self._lock:
            slot, ticket = self._tickets.pop(job_id, (None, None))
        if slot is None:
            with new_session(self.engine) as session:
                job = session.get(Job, job_id)
            if job is not None and job.status in FINISHED_STATUSES:
                # Cancelled between submit and run: report how it ended.
                yield self._event(job, job_id)
                return
            raise StudioError(f"Job {job_id} was not queued by this studio process; start it again.")
        with new_session(self.engine) as session:
            row = session.get(Job, job_id)
            project = session.get(Project, row.project_id) if row else None
            context = JobContext(self, job_id, row.project_id if row else 0, project.owner if project else "")
        acquired = False
        try:
            last_position = -1
            while not (acquired := slot.try_acquire(ticket, self.poll_seconds)):
                if self.is_cancel_requested(job_id):
                    job = self._update(
                        job_id,
                        status=JobStatus.CANCELLED,
                        finished_at=utcnow(),
                        message="Cancelled before it started.",
                    )
                    yield self._event(job, job_id)
                    return
                position = slot.position(ticket)
                if position != last_position:
                    last_position = position
                    message = f"Waiting for {position} job{'s' if position != 1 else ''} to finish."
                    job = self._update(job_id, message=message)
                    if job is None:
                        yield self._event(None, job_id)
                        return
                    yield self._event(job, job_id)
            yield from self._execute(job_id, work, context)
        finally:
            if acquired:
                with self._lock:
                    self._running.discard(job_id)
            slot.leave(ticket)
            # The caller closed us (GeneratorExit) or an error escaped before the job finished:
            # never leave it "running", and say what the job kept until then (its cancel message:
            # a job that stores each result at once counts them there). A caller that stops after
            # the final event changes nothing.
            self._cancel_if_active(job_id, context.cancel_message)
            with self._lock:
                self._cancel_events.pop(job_id, None)

    def _execute(self, job_id: int, work: JobFunction, context: JobContext) -> Iterator[JobEvent]:
        job = self._update(
            job_id,
            status=JobStatus.RUNNING,
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            pid=os.getpid(),
            message="Started.",
        )
        if job is None:
            yield self._event(None, job_id)
            return
        with self._lock:
            self._running.add(job_id)
        self._ensure_heartbeat()
        yield self._event(job, job_id)
        generator = work(context)
        progress = 0.0
        try:
            while True:
                if self.is_cancel_requested(job_id):
                    raise JobCancelledError(context.cancel_message)
                try:
                    update = next(generator)
                except StopIteration as stop:
                    result = stop.value or {}
                    break
                if not isinstance(update, JobUpdate):
                    raise TypeError(f"a job function must yield JobUpdate, got {type(update).__name__}")
                if update.progress is not None:
                    progress = min(1.0, max(0.0, float(update.progress)))
                values: dict[str, Any] = {"progress": progress, "heartbeat_at": utcnow()}
                if update.message:
                    values["message"] = update.message
                job = self._update(job_id, **values)
                if job is None:
                    raise JobCancelledError("The project of this job was deleted.")
                if update.preview is not None:
                    self._keep_preview(job_id, update.preview)
                yield self._event(job, job_id, update.preview)
        except JobCancelledError as cancelled:
            generator.close()
            job = self._update(
                job_id, status=JobStatus.CANCELLED, finished_at=utcnow(), message=str(cancelled)
            )
            yield self._event(job, job_id)
            return
        except Exception as error:  # noqa: BLE001 - every failure must end as a failed row
            generator.close()
            if isinstance(error, StudioError):
                message = str(error)
            else:
                logger.exception("job %s failed", job_id)
                message = f"The job failed ({type(error).__name__}: {error}); the studio log has the details."
            job = self._update(job_id, status=JobStatus.FAILED, finished_at=utcnow(), message=message)
            yield self._event(job, job_id)
            return
        except BaseException:
            # GeneratorExit (our caller went away) or KeyboardInterrupt: let the job function's
            # finally blocks run now, not whenever it is garbage-collected.
            generator.close()
            raise
        job = self._update(
            job_id,
            status=JobStatus.DONE,
            finished_at=utcnow(),
            progress=1.0,
            message="Done.",
            result=dict(result),
        )
        yield self._event(job, job_id, self.latest_preview(job_id))

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
        """Submit and run in the calling thread (what a streaming UI callback uses).

        Iterate the returned events to the end, or close the iterator: the job holds its place
        in the model's queue until then.
        """
        job = self.submit(session=session, owner=owner, project_id=project_id, kind=kind, model=model)
        return self.run(job.id, work)

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
        """Submit and run on a daemon thread; poll the row (and `latest_preview`) for progress."""
        job = self.submit(session=session, owner=owner, project_id=project_id, kind=kind, model=model)

        def drive() -> None:
            try:
                for _ in self.run(job.id, work):
                    pass
            except Exception:  # noqa: BLE001 - a thread has nobody to raise to; run() already saved the status
                logger.exception("background job %s stopped with an error", job.id)

        threading.Thread(target=drive, name=f"studio-job-{job.id}", daemon=True).start()
        return job

    def _keep_preview(self, job_id: int, preview: Any) -> None:
        with self._lock:
            self._previews[job_id] = preview
            self._previews.move_to_end(job_id)
            while len(self._previews) > self._keep_previews:
                self._previews.popitem(last=False)

    # -- heartbeat ---------------------------------------------------------------------------

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat_thread is not None and self._heartbeat_thread.is_alive():
                return
            self._stop.clear()
            self._heartbeat_thread = threading.Thread(
                target=self._beat, name="studio-job-heartbeat", daemon=True
            )
            self._heartbeat_thread.start()

    def _beat(self) -> None:
        # Between two yields a job may compute for minutes (a video render); the heartbeat
        # says "this process is alive" independently of the job's own pace.
        while not self._stop.wait(self.heartbeat_seconds):
            with self._lock:
                running = list(self._running)
            for job_id in running:
                try:
                    self._update(job_id, heartbeat_at=utcnow())
                except Exception:  # noqa: BLE001 - a missed beat must not kill the thread
                    logger.exception("heartbeat of job %s failed", job_id)

    def close(self) -> None:
        """Stop the heartbeat thread (running jobs keep going until they finish)."""
        self._stop.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=self.heartbeat_seconds + 1)


# -- queries and start-up recovery ---------------------------------------------------------------


def get_job(*, session: Session, owner: str, job_id: int) -> JobPublic:
    job, _ = require_job(session, job_id, owner)
    return JobPublic.model_validate(job)


def list_project_jobs(
    *, session: Session, owner: str, project_id: int, active_only: bool = False
) -> list[JobPublic]:
    require_project(session, project_id, owner)
    return [
        JobPublic.model_validate(job)
        for job in list_jobs(session=session, project_id=project_id, active_only=active_only)
    ]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def recover_stale_jobs(
    session: Session,
    *,
    stale_after: timedelta = timedelta(seconds=60),
    is_alive: Callable[[int], bool] = _process_alive,
) -> list[int]:
    """Mark jobs orphaned by a stopped studio as failed; the ids marked.

    Call at start-up, before this process runs any job. A queued or running job counts as
    orphaned when it has no pid, its pid is this process (which has not started any yet), its
    process is gone, or (running) its heartbeat is older than `stale_after`.
    """
    now = utcnow()
    me = os.getpid()
    marked = []
    for job in list_jobs_with_status(session=session, statuses=ACTIVE_STATUSES):
        live = job.pid is not None and job.pid != me and is_alive(job.pid)
        if live and job.status == JobStatus.RUNNING:
            beat = job.heartbeat_at or job.started_at or job.created_at
            live = beat is not None and now - beat <= stale_after
        if live:
            continue
        running = job.status == JobStatus.RUNNING
        job.status = JobStatus.FAILED
        job.message = STALE_RUNNING_MESSAGE if running else STALE_QUEUED_MESSAGE
        job.finished_at = now
        session.add(job)
        marked.append(job.id)
    session.commit()
    if marked:
        logger.warning("marked %d orphaned job(s) as failed: %s", len(marked), marked)
    return marked


__all__ = [
    "CANCELLED_MESSAGE",
    "STALE_QUEUED_MESSAGE",
    "STALE_RUNNING_MESSAGE",
    "JobContext",
    "JobEvent",
    "JobFunction",
    "JobRunner",
    "JobSpec",
    "JobUpdate",
    "get_job",
    "list_project_jobs",
    "recover_stale_jobs",
]
