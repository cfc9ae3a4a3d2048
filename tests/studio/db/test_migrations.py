"""Schema migrations: a database from before migrations, filled, upgraded to head and read back.

tests/data/studio_db/before_migrations.sql is the studio's database as the studio made it
before migrations existed (the tables of `create_all` on that day, with rows in every table),
frozen as SQL so that it stays the old schema whatever the table models become.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import Character, FacePhoto, Job, KeyframeVersion, Project, ReferenceFrame, Render, Scene, Shot
from studio.db.engine import import_tables, make_engine
from studio.db.library import LibraryCharacter, LibraryPhoto
from studio.db.migrate import (
    BASELINE,
    DatabaseVersionError,
    current_revision,
    head_revision,
    upgrade_database,
)
from studio.db.trash import Deletion

BEFORE_MIGRATIONS = Path(__file__).resolve().parents[2] / "data" / "studio_db" / "before_migrations.sql"
MODELS = [
    Project,
    Character,
    FacePhoto,
    Scene,
    Shot,
    KeyframeVersion,
    ReferenceFrame,
    Render,
    Job,
    LibraryCharacter,
    LibraryPhoto,
    Deletion,
]


def schema_differences(engine) -> list:
    """What the database of `engine` (at head) lacks or has beyond the table models."""
    import_tables()
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        return compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata
        )


def _old_database(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(BEFORE_MIGRATIONS.read_text())
    connection.close()
    return path


def _raw_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, as SQLite stores it, in primary-key order."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN ('alembic_version', 'sqlite_sequence')"
            )
        ]
        return {
            table: connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
            for table in tables
        }
    finally:
        connection.close()


def _columns(path: Path, table: str) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
    finally:
        connection.close()


def test_the_frozen_old_database_has_rows_in_every_table(tmp_path):
    rows = _raw_rows(_old_database(tmp_path / "old.sqlite3"))
    assert set(rows) == {model.__tablename__ for model in MODELS}
    assert all(rows[table] for table in rows)


def test_an_old_database_is_backed_up_upgraded_and_every_row_reads_back(tmp_path):
    path = _old_database(tmp_path / "studio.sqlite3")
    before = _raw_rows(path)
    engine = make_engine(path)

    backup = upgrade_database(engine)

    # The backup is the database as it was, beside it under backups/.
    assert backup is not None and backup.parent == tmp_path / "backups"
    assert "unversioned" in backup.name
    assert _raw_rows(backup) == before
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()
    # Every old row is still there with its old values (columns a migration added come after).
    after = _raw_rows(path)
    for table, rows in before.items():
        width = len(_columns(backup, table))
        assert [row[:width] for row in after[table]] == rows, table
    # ...and reads back through today's table models, every row of every table.
    with Session(engine) as session:
        for model in MODELS:
            loaded = session.exec(select(model).order_by(model.id)).all()
            assert [item.id for item in loaded] == [
                row[_columns(path, model.__tablename__).index("id")] for row in after[model.__tablename__]
            ]
        project = session.exec(select(Project).where(Project.owner == "director")).one()
        assert project.project_settings().voices["mara"]["pitch"] == 50
        shot = session.exec(select(Shot).where(Shot.locked)).first()
        assert session.get(KeyframeVersion, shot.current_keyframe_id).seed == 2**62 + 5
        assert session.exec(select(FacePhoto).where(FacePhoto.embedding_dim == 4)).first().embedding == bytes(
            range(16)
        )
    engine.dispose()


def test_an_upgraded_database_keeps_its_cascades(tmp_path):
    path = _old_database(tmp_path / "studio.sqlite3")
    engine = make_engine(path)
    upgrade_database(engine)
    with Session(engine) as session:
        project = session.exec(select(Project).where(Project.owner == "local")).one()
        session.delete(project)
        session.commit()
        assert session.exec(select(Project)).all() != []
        for model in (Character, Scene, Job, Render, ReferenceFrame, Deletion):
            assert all(item.project_id != project.id for item in session.exec(select(model)).all())
    engine.dispose()


def test_a_database_at_head_is_left_alone(tmp_path):
    path = _old_database(tmp_path / "studio.sqlite3")
    engine = make_engine(path)
    upgrade_database(engine)
    assert upgrade_database(engine) is None
    assert len(list((tmp_path / "backups").iterdir())) == 1  # only the first upgrade's copy
    engine.dispose()


def test_a_new_database_gets_the_schema_of_the_table_models(tmp_path):
    engine = make_engine(tmp_path / "new.sqlite3")
    assert upgrade_database(engine) is None  # nothing to back up
    assert not (tmp_path / "backups").exists()
    # The migrations build exactly what the models declare: a model change without a
    # migration fails here.
    assert schema_differences(engine) == []
    engine.dispose()


def test_a_database_from_a_newer_studio_is_refused_untouched(tmp_path):
    path = _old_database(tmp_path / "studio.sqlite3")
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    connection.commit()
    connection.close()
    before = _raw_rows(path)
    engine = make_engine(path)
    with pytest.raises(DatabaseVersionError, match="newer version of MovieDreamer Studio"):
        upgrade_database(engine)
    engine.dispose()
    assert _raw_rows(path) == before
    assert not (tmp_path / "backups").exists()


def test_start_up_upgrades_an_old_data_folder_instead_of_failing(tmp_path):
    settings = StudioSettings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    _old_database(settings.database_path)
    studio = open_studio(settings)
    try:
        with studio.session() as session:
            assert len(session.exec(select(Project)).all()) == 2
            # recover_stale_jobs ran on the upgraded tables: the finished jobs are untouched.
            assert {job.status for job in session.exec(select(Job)).all()} == {"done", "cancelled"}
        with studio.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        studio.close()
    (backup,) = (settings.data_dir / "backups").iterdir()
    assert _raw_rows(backup)["project"]


def test_the_baseline_is_the_first_revision():
    from alembic.script import ScriptDirectory

    from studio.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_base() == BASELINE
