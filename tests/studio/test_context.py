"""Start-up wiring: the data folder, the one-line service call, start-up repairs."""

from __future__ import annotations

from sqlalchemy import text

from studio.config import LOCAL_OWNER, StudioSettings
from studio.context import open_studio
from studio.db import Job
from studio.jobs import STALE_QUEUED_MESSAGE
from studio.services import (
    create_project,
    export_script_json,
    list_projects,
    list_samples,
    new_project_from_script,
)
from tests.studio.factories import OWNER, media_files


def test_open_studio_creates_the_data_folder(tmp_path):
    settings = StudioSettings(data_dir=tmp_path / "fresh", samples_dir=tmp_path / "samples")
    studio = open_studio(settings)
    try:
        assert settings.database_path.is_file() and settings.media_root.is_dir()
        with studio.session() as session:
            assert session.exec(text("PRAGMA journal_mode")).scalar() == "wal"
        project = studio.call(create_project, owner=OWNER, name="One line")
        [summary] = studio.call(list_projects, owner=OWNER)  # media filled in
        assert summary.id == project.id
        assert studio.call(list_samples) == []  # samples_dir filled in, no session needed
        assert studio.owner_of(None) == LOCAL_OWNER and studio.owner_of("ann") == "ann"
    finally:
        studio.close()


def test_start_up_repairs_jobs_and_files(tmp_path, sample_script):
    settings = StudioSettings(data_dir=tmp_path / "data")
    studio = open_studio(settings)
    report = studio.call(new_project_from_script, owner=OWNER, script=sample_script)
    kept = studio.call(export_script_json, owner=OWNER, project_id=report.project.id)
    orphan = studio.media.write_bytes(studio.media.kind_dir(report.project.id, "renders"), b"orphan", ".mp4")
    with studio.session() as session:
        session.add(Job(project_id=report.project.id, kind="render", status="queued", pid=None))
        session.commit()
    studio.close()

    restarted = open_studio(settings)
    try:
        assert media_files(restarted.media) == [kept.media_path]
        assert not restarted.media.exists(orphan.path)
        with restarted.session() as session:
            [job] = session.exec(text("SELECT status, message FROM job")).all()
            assert tuple(job) == ("failed", STALE_QUEUED_MESSAGE)
    finally:
        restarted.close()
