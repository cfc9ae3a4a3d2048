"""Jobs in worker processes (studio.workers): a real broker (Huey on a SQLite file), two worker
processes running a tiny real bundle, the studio in this process following the job rows.

Two projects generate at once on the two workers, one is cancelled half-way; then a worker is
killed in the middle of a third project's job: the studio marks that job failed once the
heartbeat stops, and every keyframe the job stored before is a complete file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from core.pipeline import build_tiny_bundle
from core.script import Script
from studio.config import StudioSettings, load_settings
from studio.context import open_studio
from studio.db import Job, KeyframeVersion, Scene, Shot
from studio.errors import StudioError
from studio.services import generation_job, new_project_from_script, plan_generation
from studio.workers import STALE_WORKER_MESSAGE, QueueJobRunner, QueueUrlError, make_queue
from tests.studio.factories import OWNER

REPO = Path(__file__).resolve().parents[2]
LONG = REPO / "assets" / "samples" / "long"


def _worker(data: Path, bundle: Path, queue: str, database_url: str | None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "studio.worker", "--data-dir", str(data), "--bundle", str(bundle)]
    command += ["--queue-url", queue, "--heartbeat", "0.3"]
    command += ["--database-url", database_url] if database_url else []
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _project(studio, name: str) -> int:
    script = Script.model_validate_json((LONG / "script.json").read_text()).model_copy(update={"title": name})
    report = studio.call(new_project_from_script, owner=OWNER, script=script, photo_root=LONG)
    return report.project.id


def _start(studio, project_id: int):
    plan = studio.call(plan_generation, owner=OWNER, project_id=project_id)
    work = generation_job(plan, media=studio.media, models=studio.models)
    with studio.session() as session:
        return studio.runner.start(
            session=session,
            owner=OWNER,
            project_id=project_id,
            kind=plan.kind,
            model=plan.model_key,
            work=work,
        )


def _versions(studio, project_id: int) -> list[KeyframeVersion]:
    with studio.session() as session:
        return list(
            session.exec(
                select(KeyframeVersion)
                .join(Shot, KeyframeVersion.shot_id == Shot.id)
                .join(Scene, Shot.scene_id == Scene.id)
                .where(Scene.project_id == project_id)
            ).all()
        )


def _row(studio, project_id: int) -> Job:
    with studio.session() as session:
        return session.exec(select(Job).where(Job.project_id == project_id).order_by(Job.id.desc())).first()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_workers_run_two_projects_cancel_one_and_a_killed_worker_fails_its_job(
    tmp_path, bundle, database, request
):
    data = tmp_path / "data"
    queue = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    url = request.getfixturevalue("postgres").create_database() if database == "postgresql" else None
    studio = open_studio(StudioSettings(data_dir=data, bundle_path=bundle, queue_url=queue, database_url=url))
    assert isinstance(studio.runner, QueueJobRunner)
    studio.runner.stale_after = 3.0
    studio.runner.poll_seconds = 0.1
    workers = [_worker(data, bundle, queue, url) for _ in range(2)]
    try:
        first, second, third = (_project(studio, name) for name in ("First", "Second", "Third"))
        finals: dict[int, object] = {}

        def follow(project_id: int, cancel_at: float | None) -> None:
            events = _start(studio, project_id)
            for event in events:
                finals[project_id] = event
                if cancel_at is not None and event.status == "running" and event.progress >= cancel_at:
                    with studio.session() as session:
                        studio.runner.cancel(session=session, owner=OWNER, job_id=event.job_id)
                    cancel_at = None

        threads = [
            threading.Thread(target=follow, args=(first, 0.2)),
            threading.Thread(target=follow, args=(second, None)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert finals[first].status == "cancelled" and finals[second].status == "done", (
            finals,
            [w.stderr.read() if w.poll() is not None else "" for w in workers],
        )
        a, b = _row(studio, first), _row(studio, second)
        assert a.pid != b.pid and {a.pid, b.pid} <= {w.pid for w in workers}  # one job per worker
        assert a.started_at < b.finished_at and b.started_at < a.finished_at  # at the same time
        assert len(finals[second].result["keyframes"]) == 120 == len(_versions(studio, second))
        assert 0 < len(_versions(studio, first)) < 120  # cancelled part-way: what was made is kept

        # A worker killed mid-job: the studio fails the job once its heartbeat stops.
        events = _start(studio, third)
        killed = None
        for event in events:
            if killed is None and event.status == "running" and event.progress >= 0.1:
                killed = _row(studio, third).pid
                os.kill(killed, signal.SIGKILL)
            final = event
        assert killed is not None and final.status == "failed" and final.message == STALE_WORKER_MESSAGE
        stored = _versions(studio, third)
        assert 0 < len(stored) < 120  # what it finished is kept...
        for version in stored:  # ...and complete
            with Image.open(studio.media.resolve(version.media_path)) as image:
                image.load()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        studio.close()


def test_a_queue_url_the_studio_cannot_use_is_a_sentence(tmp_path):
    with pytest.raises(QueueUrlError, match="sqlite:///file"):
        make_queue("amqp://broker/")
    with pytest.raises(StudioError, match="not a URL"):
        load_settings(["--queue-url", "redis://host:notaport/0"], environ={})
    settings = load_settings([], environ={"STUDIO_QUEUE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}"})
    assert settings.queue_url.endswith("q.sqlite3")


def test_a_job_cancelled_before_a_worker_takes_it_ends_at_once(tmp_path, bundle):
    queue = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=bundle, queue_url=queue))
    try:
        project_id = _project(studio, "Waiting")
        events = _start(studio, project_id)  # no worker runs: it waits in the queue
        first = next(events)
        assert first.status == "queued"
        with studio.session() as session:
            job = studio.runner.cancel(session=session, owner=OWNER, job_id=first.job_id)
        assert job.status == "cancelled" and job.message == "Cancelled before it started."
        assert [e.status for e in events][-1] == "cancelled"
        # a worker that later finds it in the queue skips it
        from studio.workers import WorkerRunner

        assert not WorkerRunner(studio.engine).take(first.job_id)
    finally:
        studio.close()


def test_a_worker_without_a_queue_says_so(tmp_path, capsys):
    from studio.worker import main

    assert main(["--data-dir", str(tmp_path / "data")]) == 2
    assert "needs the studio's queue" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "data"), "--queue-url", "amqp://broker/"]) == 2
    assert "sqlite:///file" in capsys.readouterr().err
