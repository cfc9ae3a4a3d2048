"""Concurrent writers on one project: every write waits its turn, none fails, none is lost.

8 processes (and, in a second test, 8 threads of one studio) write to the same project through
the services: add a shot, add a character, rename the project, create a project. SQLite's busy
timeout is cut to 200 ms in the writers so that lock waits run out of it on any machine; the
engine must still get every write in (it retries BEGIN IMMEDIATE), and every row a call
acknowledged must be in the database afterwards. The processes test runs again on a real
PostgreSQL server (the studio's advisory lock takes BEGIN IMMEDIATE's place there).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import select

import studio.db.engine as engine_module
from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import Character, Project, Shot
from studio.db.engine import DatabaseBusyError, begin_immediate
from studio.services import add_scene, create_project
from tests.studio.factories import OWNER

REPO = Path(__file__).resolve().parents[2]
WRITERS = 8
BUSY_MS = 200


def _shared_project(data_dir: Path, database_url: str | None = None) -> tuple[int, int]:
    studio = open_studio(StudioSettings(data_dir=data_dir, database_url=database_url))
    try:
        project = studio.call(create_project, owner=OWNER, name="Shared")
        scene = studio.call(add_scene, owner=OWNER, project_id=project.id, heading="INT. HALL - DAY").value
        return project.id, scene.id
    finally:
        studio.close()


def _check_every_acknowledged_write(
    data_dir: Path, project_id: int, reports: list[dict], rounds: int, database_url: str | None = None
) -> None:
    errors = [error for report in reports for error in report["errors"]]
    assert errors == []
    acknowledged = {
        key: [item for report in reports for item in report["acknowledged"][key]]
        for key in ("shots", "characters", "renames", "projects")
    }
    assert {key: len(items) for key, items in acknowledged.items()} == {
        key: WRITERS * rounds for key in acknowledged
    }
    studio = open_studio(StudioSettings(data_dir=data_dir, database_url=database_url))
    try:
        with studio.session() as session:
            shots = {shot.id: shot for shot in session.exec(select(Shot)).all()}
            characters = {
                c.id for c in session.exec(select(Character).where(Character.project_id == project_id))
            }
            projects = {p.id: p for p in session.exec(select(Project)).all()}
    finally:
        studio.close()
    assert set(acknowledged["shots"]) <= set(shots) and len(shots) == WRITERS * rounds
    assert set(acknowledged["characters"]) == characters
    assert set(acknowledged["projects"]) | {project_id} == set(projects)
    # Positions stayed dense: no two writers appended at the same place.
    assert sorted(shot.position for shot in shots.values()) == list(range(WRITERS * rounds))
    assert projects[project_id].name in set(acknowledged["renames"])


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_eight_writer_processes_lose_nothing(tmp_path, database, request):
    rounds = 40
    data_dir = tmp_path / "data"
    url = request.getfixturevalue("postgres").create_database() if database == "postgresql" else None
    project_id, scene_id = _shared_project(data_dir, url)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    # Every process has imported the studio by then, so they start writing together.
    start_at = time.time() + 20
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.studio.concurrent_writer_worker",
                str(data_dir),
                str(project_id),
                str(scene_id),
                str(worker),
                str(rounds),
                str(start_at),
                str(BUSY_MS),
                *([url] if url else []),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WRITERS)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    _check_every_acknowledged_write(data_dir, project_id, reports, rounds, url)


@pytest.mark.slow
def test_eight_writer_threads_lose_nothing(tmp_path, monkeypatch):
    from tests.studio.concurrent_writer_worker import write_rounds

    rounds = 10
    data_dir = tmp_path / "data"
    project_id, scene_id = _shared_project(data_dir)
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_MS", BUSY_MS)
    studio = open_studio(StudioSettings(data_dir=data_dir))
    reports: list[dict] = []
    start_at = time.time() + 1

    def writer(worker: int) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        reports.append(write_rounds(studio, project_id, scene_id, worker, rounds))

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        studio.close()
    assert len(reports) == WRITERS
    _check_every_acknowledged_write(data_dir, project_id, reports, rounds)


def test_a_busy_begin_is_retried_until_the_lock_is_free(tmp_path):
    path = tmp_path / "db.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    threading.Timer(0.5, holder.execute, args=("COMMIT",)).start()
    started = time.monotonic()
    begin_immediate(waiter, wait_seconds=30)
    assert 0.4 < time.monotonic() - started < 10
    waiter.execute("INSERT INTO t VALUES (1)")
    waiter.execute("COMMIT")
    assert holder.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_lock_held_too_long_is_a_sentence_and_nothing_is_written(tmp_path):
    path = tmp_path / "db.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    with pytest.raises(
        DatabaseBusyError,
        match=r"stayed busy with other changes for \d+ seconds, so this change "
        r"was not saved; try it again in a moment",
    ):
        begin_immediate(waiter, wait_seconds=0.3)
    assert not waiter.in_transaction
    holder.execute("ROLLBACK")
