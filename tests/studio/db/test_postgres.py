"""The studio on a PostgreSQL server: schema from the migrations, its lock, backups, and the
move of a SQLite studio to a server (studio.db.transfer). The server is a real one that the
test run starts (tests/postgres_server.py, fixture `postgres`)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import Job, KeyframeVersion, Project, Shot, new_session
from studio.db.engine import DatabaseBusyError, make_engine, postgres_lock
from studio.db.migrate import current_revision, head_revision, upgrade_database
from studio.db.transfer import TransferError, main, transfer
from studio.services import create_project
from tests.studio.db.test_migrations import MODELS, _old_database, schema_differences
from tests.studio.factories import OWNER

pytestmark = pytest.mark.postgres


def test_a_new_server_database_gets_the_schema_of_the_table_models(postgres, tmp_path):
    engine = make_engine(postgres.create_database())
    assert upgrade_database(engine, backup_dir=tmp_path / "backups") is None  # nothing to back up
    assert schema_differences(engine) == []
    engine.dispose()


def test_a_server_database_from_before_migrations_is_dumped_then_upgraded(postgres, tmp_path):
    from alembic import command

    from studio.db.migrate import BASELINE, alembic_config

    engine = make_engine(postgres.create_database())
    # the baseline's tables but no alembic_version: a database from before migrations
    with engine.connect() as connection, connection.begin():
        command.upgrade(alembic_config(connection), BASELINE)
        connection.exec_driver_sql("DROP TABLE alembic_version")
    with new_session(engine) as session:
        session.add(Project(name="Kept", owner=OWNER))
        session.commit()
    backup = upgrade_database(engine, backup_dir=tmp_path / "backups")
    assert backup is not None and backup.parent == tmp_path / "backups" and backup.suffix == ".pgdump"
    assert backup.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format, for pg_restore
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        keys = inspect(connection).get_foreign_keys("shot")  # 0002 added what 0001 left out here
        assert any(k["constrained_columns"] == ["current_keyframe_id"] for k in keys)
    with new_session(engine) as session:
        assert [p.name for p in session.exec(select(Project)).all()] == ["Kept"]
    engine.dispose()


def test_a_transaction_waits_for_the_lock_and_a_lock_held_too_long_is_a_sentence(postgres_database):
    holder_engine, waiter_engine = make_engine(postgres_database), make_engine(postgres_database)
    holder = holder_engine.connect()
    holder.begin()  # takes the studio's lock
    holder.exec_driver_sql(
        "INSERT INTO project (name, logline, style, owner, created_at, updated_at, settings) "
        "VALUES ('First', '', '', 'a', now(), now(), '{}')"
    )
    raw = waiter_engine.raw_connection()
    try:
        with pytest.raises(DatabaseBusyError, match=r"stayed busy with other changes for \d+ seconds"):
            postgres_lock(raw.driver_connection, wait_seconds=0.3)
        assert raw.driver_connection.info.transaction_status == 0  # idle: nothing half-done

        threading.Timer(0.5, holder.commit).start()
        started = time.monotonic()
        with new_session(waiter_engine) as session:  # waits for the holder's commit, then reads it
            names = [p.name for p in session.exec(select(Project)).all()]
        assert 0.4 < time.monotonic() - started < 30 and names == ["First"]
    finally:
        raw.close()
        holder.close()
        holder_engine.dispose()
        waiter_engine.dispose()


def _rows(engine) -> dict[str, list[dict]]:
    with Session(engine) as session:
        return {
            model.__tablename__: [
                item.model_dump() for item in session.exec(select(model).order_by(model.id))
            ]
            for model in MODELS
        }


def test_a_sqlite_studio_moves_to_the_server_with_every_row(postgres, tmp_path):
    path = _old_database(tmp_path / "studio.sqlite3")
    source = make_engine(path)
    target = make_engine(postgres.create_database())
    counts = transfer(source, target, backup_dir=tmp_path / "backups")
    before, after = _rows(source), _rows(target)
    assert after == before and all(after.values())
    assert counts == {name: len(rows) for name, rows in before.items()} | {
        name: counts[name] for name in counts if name not in before
    }
    # the cycle closed after the copy: locked shots still show their keyframe
    with Session(target) as session:
        shot = session.exec(select(Shot).where(Shot.locked)).first()
        assert session.get(KeyframeVersion, shot.current_keyframe_id).seed == 2**62 + 5
        # new rows get ids after the copied ones
        added = create_project(session=session, owner=OWNER, name="After the move")
        assert added.id > max(row["id"] for row in before["project"])

    # a second copy into the same database is refused and changes nothing
    with pytest.raises(TransferError, match="already holds studio data"):
        transfer(source, target)
    assert len(_rows(target)["project"]) == len(before["project"]) + 1
    source.dispose()
    target.dispose()


def test_the_transfer_command_says_what_it_did_and_what_was_wrong(postgres, tmp_path, capsys):
    path = _old_database(tmp_path / "studio.sqlite3")
    url = postgres.create_database()
    assert main(["--from", str(path), "--to", url]) == 0
    assert "Copied" in capsys.readouterr().out
    assert main(["--from", str(path), "--to", url]) == 1
    assert "already holds studio data" in capsys.readouterr().err
    assert main(["--from", str(tmp_path / "missing.sqlite3"), "--to", url]) == 2
    assert main(["--from", str(path), "--to", "mysql://u@h/db"]) == 2
    assert "runs on SQLite" in capsys.readouterr().err


def test_the_studio_starts_on_the_server_and_recovers_its_jobs(postgres, tmp_path):
    settings = StudioSettings(data_dir=tmp_path / "data", database_url=postgres.create_database())
    studio = open_studio(settings)
    try:
        project = studio.call(create_project, owner=OWNER, name="On the server")
        with studio.session() as session:
            session.add(Job(project_id=project.id, kind="storyboard", status="running", pid=999_999_999))
            session.commit()
    finally:
        studio.close()
    assert not settings.database_path.exists()  # no SQLite file beside the media
    studio = open_studio(settings)  # a restart: the job of a process that is gone is failed
    try:
        with studio.session() as session:
            assert [p.name for p in session.exec(select(Project)).all()] == ["On the server"]
            (job,) = session.exec(select(Job)).all()
            assert job.status == "failed"
    finally:
        studio.close()
