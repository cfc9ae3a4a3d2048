"""A studio process killed in the middle of a job leaves a consistent database and, after the
next start-up, a failed job and no orphan files."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import Job, Render
from studio.jobs import STALE_RUNNING_MESSAGE
from studio.media.store import WORK_DIR
from studio.services import create_project, new_project_from_script
from tests.studio.factories import OWNER, media_files

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # the child imports the studio on a busy 2-core machine


def spawn(data_dir: Path, project_id: int, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.studio.crash_job_worker", str(data_dir), str(project_id), mode],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until_running(studio, process, predicate) -> Job:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the job process ended early: {process.stderr.read().decode()[-2000:]}")
        with studio.session() as session:
            job = session.exec(select(Job)).first()
            if job is not None and job.status == "running" and predicate(job):
                return job
        time.sleep(0.05)
    process.kill()
    pytest.fail("the job did not get going in time")


@pytest.mark.parametrize("mode", ["steps", "file-then-row"])
def test_killed_job_leaves_a_consistent_studio(tmp_path, mode):
    settings = StudioSettings(data_dir=tmp_path / "data")
    studio = open_studio(settings)
    project = studio.call(create_project, owner=OWNER, name="Crash test")

    process = spawn(settings.data_dir, project.id, mode)
    try:
        if mode == "steps":
            job = wait_until_running(studio, process, lambda job: job.progress >= 0.05)
        else:
            job = wait_until_running(studio, process, lambda job: job.message == "file written")
    finally:
        process.kill()
        process.wait(timeout=30)

    # Right after the kill: the file is intact, and the job still claims to run.
    with studio.session() as session:
        assert session.exec(text("PRAGMA integrity_check")).scalar() == "ok"
        assert session.exec(text("PRAGMA foreign_key_check")).all() == []
        assert session.get(Job, job.id).status == "running"
        assert session.exec(select(Render)).all() == []
    # Artefacts are written only at the end: a kill mid-way leaves no file at all; a kill
    # between the file and its row leaves one complete, unreferenced file (never a temp file).
    left = media_files(studio.media)
    if mode == "steps":
        assert left == []
    else:
        assert len(left) == 1 and left[0].endswith(".mp4")
    studio.close()

    # The next start-up repairs both.
    restarted = open_studio(settings)
    try:
        with restarted.session() as session:
            recovered = session.get(Job, job.id)
            assert (recovered.status, recovered.message) == ("failed", STALE_RUNNING_MESSAGE)
            assert recovered.finished_at is not None
        assert media_files(restarted.media) == []
    finally:
        restarted.close()


@pytest.mark.slow
def test_killed_animatic_encode_leaves_nothing_after_a_restart(tmp_path, sample_folder, sample_script):
    """kill -9 while the real encoder writes the MP4: the partial file is under the data folder,
    never in the system's temp folder, and the next start-up deletes it."""
    settings = StudioSettings(data_dir=tmp_path / "data")
    studio = open_studio(settings)
    # Long shots, so that the encode is still running when the test kills it.
    long_script = sample_script.model_copy(deep=True)
    for shot in long_script.scenes[0].shots:
        shot.duration = 60.0
    project = studio.call(
        new_project_from_script,
        owner=OWNER,
        script=long_script,
        photo_root=sample_folder,
        frames_dir=sample_folder / "frames",
    ).project
    files_before = media_files(studio.media)
    system_temp = Path(tempfile.gettempdir())
    temp_before = set(system_temp.glob("studio-*"))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.studio.animatic_crash_worker", str(settings.data_dir), str(project.id)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    work = settings.data_dir / WORK_DIR
    try:
        deadline = time.monotonic() + START_TIMEOUT
        partial: list[Path] = []
        while time.monotonic() < deadline and not partial:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"the animatic process ended early: {process.stderr.read()[-2000:]}")
            if line.startswith("Encoding frame"):
                partial = [p for p in work.rglob("*.mp4") if p.stat().st_size > 0]
        assert partial, "the encoder never wrote its MP4 under the data folder's work folder"
    finally:
        process.kill()
        process.wait(timeout=30)
    assert set(system_temp.glob("studio-*")) == temp_before
    assert any(work.iterdir())  # the kill left the partial encode behind
    studio.close()

    restarted = open_studio(settings)
    try:
        assert not work.exists() or not any(work.iterdir())
        assert media_files(restarted.media) == files_before  # the project's photos and keyframes, no more
    finally:
        restarted.close()
