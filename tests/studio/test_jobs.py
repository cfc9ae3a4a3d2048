"""The job runner: persisted progress, failures and cancellation as rows, one job per model,
a bounded queue, and start-up recovery of orphaned jobs."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pytest

from studio.db import Job, JobStatus, Project, init_db, make_engine, new_session
from studio.db.clock import utcnow
from studio.errors import QueueFullError, StudioError
from studio.jobs import (
    CANCELLED_MESSAGE,
    STALE_QUEUED_MESSAGE,
    STALE_RUNNING_MESSAGE,
    JobRunner,
    JobUpdate,
    list_project_jobs,
    recover_stale_jobs,
)
from tests.studio.factories import OWNER

WAIT = 10.0  # seconds a test waits for another thread before it fails


@pytest.fixture
def file_engine(tmp_path):
    # Jobs run on threads; a file database gives each thread its own connection, as in the studio.
    engine = make_engine(tmp_path / "jobs.sqlite3")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def runner(file_engine):
    runner = JobRunner(file_engine, max_queued=1, heartbeat_seconds=0.05, poll_seconds=0.02)
    yield runner
    runner.close()


@pytest.fixture
def project_id(file_engine):
    with new_session(file_engine) as session:
        project = Project(name="Jobs", owner=OWNER)
        session.add(project)
        session.commit()
        return project.id


def row(engine, job_id) -> Job:
    with new_session(engine) as session:
        return session.get(Job, job_id)


def start(runner, project_id, work, model="default"):
    with new_session(runner.engine) as session:
        return runner.start(
            session=session, owner=OWNER, project_id=project_id, kind="test", work=work, model=model
        )


def background(runner, project_id, work, model="default"):
    with new_session(runner.engine) as session:
        return runner.start_in_background(
            session=session, owner=OWNER, project_id=project_id, kind="test", work=work, model=model
        )


def wait_for(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


def test_a_job_runs_to_done(runner, project_id):
    def work(ctx):
        for i in range(3):
            yield JobUpdate(progress=(i + 1) / 3, message=f"step {i + 1}", preview=f"image-{i}")
        return {"steps": 3, "project": ctx.project_id, "owner": ctx.owner}

    events = list(start(runner, project_id, work))
    assert [e.status for e in events] == ["running"] * 4 + ["done"]
    assert [e.preview for e in events[1:4]] == ["image-0", "image-1", "image-2"]
    assert [round(e.progress, 3) for e in events[1:4]] == [0.333, 0.667, 1.0]
    final = events[-1]
    assert final.finished and final.result == {"steps": 3, "project": project_id, "owner": OWNER}
    job = row(runner.engine, final.job_id)
    assert (job.status, job.progress, job.message, job.pid) == ("done", 1.0, "Done.", os.getpid())
    assert job.started_at <= job.finished_at
    assert runner.latest_preview(final.job_id) == "image-2"


def test_failures_become_failed_rows(runner, project_id):
    def crashing(ctx):
        yield JobUpdate(progress=0.5, message="half way")
        raise ValueError("the decoder exploded")

    final = list(start(runner, project_id, crashing))[-1]
    assert final.status == JobStatus.FAILED
    assert "ValueError: the decoder exploded" in final.message and final.message.endswith("details.")
    assert row(runner.engine, final.job_id).progress == 0.5

    def refusing(ctx):
        raise StudioError("The bundle folder is missing; choose a bundle in the settings.")
        yield

    final = list(start(runner, project_id, refusing))[-1]
    assert final.message == "The bundle folder is missing; choose a bundle in the settings."


def test_cancel_stops_before_the_saving_step(runner, project_id, tmp_path):
    artefact = tmp_path / "artefact.bin"
    closed = threading.Event()

    def work(ctx):
        try:
            for i in range(100):
                yield JobUpdate(progress=i / 100, message=f"step {i}")
            artefact.write_bytes(b"all steps")  # the saving step, only reached at the end
        finally:
            closed.set()

    events = start(runner, project_id, work)
    first = next(events)
    next(events)
    with new_session(runner.engine) as session:
        runner.cancel(session=session, owner=OWNER, job_id=first.job_id)
    rest = list(events)
    assert rest[-1].status == JobStatus.CANCELLED and rest[-1].message == CANCELLED_MESSAGE
    assert closed.is_set() and not artefact.exists()
    job = row(runner.engine, first.job_id)
    assert job.status == "cancelled" and job.cancel_requested and job.finished_at is not None


def test_cancel_flag_from_another_process_is_seen(runner, project_id):
    def work(ctx):
        for _ in range(1000):
            ctx.raise_if_cancelled()
            yield JobUpdate(message="working")

    events = start(runner, project_id, work)
    first = next(events)
    # Another studio process only shares the database: set the flag there.
    with new_session(runner.engine) as session:
        job = session.get(Job, first.job_id)
        job.cancel_requested = True
        session.commit()
    assert list(events)[-1].status == JobStatus.CANCELLED


def test_one_job_per_model_and_a_bounded_queue(runner, project_id):
    release = threading.Event()
    intervals = {}

    def holding(name):
        def work(ctx):
            intervals[name] = [time.monotonic(), None]
            yield JobUpdate(progress=0.1, message="holding")
            release.wait(WAIT)
            intervals[name][1] = time.monotonic()
            yield JobUpdate(progress=1.0)
            return {"name": name}

        return work

    first = background(runner, project_id, holding("first"))
    wait_for(lambda: row(runner.engine, first.id).status == "running", "the first job to start")
    second = background(runner, project_id, holding("second"))
    wait_for(
        lambda: row(runner.engine, second.id).message.startswith("Waiting for 1 job"), "the second to wait"
    )

    with new_session(runner.engine) as session, pytest.raises(QueueFullError) as caught:
        runner.submit(session=session, owner=OWNER, project_id=project_id, kind="test")
    assert "busy" in str(caught.value) and "try again" in str(caught.value)
    with new_session(runner.engine) as session:
        assert (
            len(list_project_jobs(session=session, owner=OWNER, project_id=project_id)) == 2
        )  # no row for it

    # Another model has its own slot.
    other = background(runner, project_id, holding("other"), model="video")
    wait_for(lambda: row(runner.engine, other.id).status == "running", "the other model's job to start")
    assert row(runner.engine, second.id).status == "queued"

    release.set()
    for job in (first, second, other):
        wait_for(lambda job=job: row(runner.engine, job.id).status == "done", f"job {job.id} to finish")
    assert intervals["first"][1] <= intervals["second"][0]  # never two on one model


def test_cancelling_a_queued_job_frees_its_place(runner, project_id):
    with new_session(runner.engine) as session:
        runner.submit(session=session, owner=OWNER, project_id=project_id, kind="test")
        waiting = runner.submit(session=session, owner=OWNER, project_id=project_id, kind="test")
        with pytest.raises(QueueFullError):
            runner.submit(session=session, owner=OWNER, project_id=project_id, kind="test")
        cancelled = runner.cancel(session=session, owner=OWNER, job_id=waiting.id)
        assert cancelled.status == "cancelled"
        runner.submit(session=session, owner=OWNER, project_id=project_id, kind="test")
    # A caller that still runs the cancelled job just learns how it ended.
    [event] = list(runner.run(waiting.id, lambda ctx: iter(())))
    assert event.status == JobStatus.CANCELLED and event.message == "Cancelled before it started."


def test_closing_the_stream_cancels_the_job(runner, project_id):
    closed = threading.Event()

    def work(ctx):
        try:
            while True:
                yield JobUpdate(message="forever")
        finally:
            closed.set()

    events = start(runner, project_id, work)
    first = next(events)
    next(events)
    events.close()  # the browser went away
    assert closed.is_set()
    job = row(runner.engine, first.job_id)
    assert job.status == "cancelled" and job.finished_at is not None
    # The model is free again.
    assert list(start(runner, project_id, lambda ctx: iter(())))[-1].status == "done"


def test_a_closed_stream_says_what_the_job_had_kept(runner, project_id):
    """The browser went away after 4 results were stored: the row says so, not "nothing saved"."""

    def work(ctx):
        for kept in range(1, 100):
            ctx.cancel_message = f"Cancelled; the {kept} keyframes finished before were kept."
            yield JobUpdate(message=f"kept {kept}")

    events = start(runner, project_id, work)
    first = next(events)
    for event in events:
        if event.message == "kept 4":
            break
    events.close()
    job = row(runner.engine, first.job_id)
    assert (job.status, job.message) == ("cancelled", "Cancelled; the 4 keyframes finished before were kept.")


def test_stopping_after_the_final_event_keeps_it_done(runner, project_id):
    def work(ctx):
        yield JobUpdate(progress=1.0)
        return {"ok": True}

    events = start(runner, project_id, work)
    for event in events:
        if event.finished:
            break
    events.close()
    assert row(runner.engine, event.job_id).status == "done"


def test_deleting_the_project_stops_its_job(runner, project_id):
    def work(ctx):
        for _ in range(1000):
            yield JobUpdate(message="working")

    events = start(runner, project_id, work)
    next(events)
    with new_session(runner.engine) as session:
        session.delete(session.get(Project, project_id))
        session.commit()
    final = list(events)[-1]
    assert final.status == JobStatus.CANCELLED and "deleted" in final.message


def test_heartbeat_beats_during_a_long_step(runner, project_id):
    def work(ctx):
        with ctx.session() as session:
            before = session.get(Job, ctx.job_id).heartbeat_at
        time.sleep(0.3)  # a long computation without yields
        with ctx.session() as session:
            after = session.get(Job, ctx.job_id).heartbeat_at
        return {"advanced": after > before}
        yield

    assert list(start(runner, project_id, work))[-1].result == {"advanced": True}


def test_recover_stale_jobs(file_engine, project_id):
    now = utcnow()
    long_ago = now - timedelta(minutes=10)
    rows = {
        "running-no-pid": Job(project_id=project_id, kind="t", status="running", pid=None, heartbeat_at=now),
        "running-dead": Job(project_id=project_id, kind="t", status="running", pid=111, heartbeat_at=now),
        "running-silent": Job(
            project_id=project_id, kind="t", status="running", pid=222, heartbeat_at=long_ago
        ),
        "running-live": Job(project_id=project_id, kind="t", status="running", pid=222, heartbeat_at=now),
        "running-mine": Job(
            project_id=project_id, kind="t", status="running", pid=os.getpid(), heartbeat_at=now
        ),
        "queued-dead": Job(project_id=project_id, kind="t", status="queued", pid=111),
        "queued-live": Job(project_id=project_id, kind="t", status="queued", pid=222),
        "done": Job(project_id=project_id, kind="t", status="done", pid=111, progress=1.0),
    }
    with new_session(file_engine) as session:
        session.add_all(rows.values())
        session.commit()
        ids = {name: job.id for name, job in rows.items()}
        marked = recover_stale_jobs(session, is_alive=lambda pid: pid == 222)

    assert sorted(marked) == sorted(
        ids[n] for n in ("running-no-pid", "running-dead", "running-silent", "running-mine", "queued-dead")
    )
    for name in ("running-no-pid", "running-dead", "running-silent", "running-mine"):
        job = row(file_engine, ids[name])
        assert (job.status, job.message) == ("failed", STALE_RUNNING_MESSAGE) and job.finished_at is not None
    assert (row(file_engine, ids["queued-dead"]).status, row(file_engine, ids["queued-dead"]).message) == (
        "failed",
        STALE_QUEUED_MESSAGE,
    )
    assert row(file_engine, ids["running-live"]).status == "running"
    assert row(file_engine, ids["queued-live"]).status == "queued"
    assert row(file_engine, ids["done"]).status == "done"
