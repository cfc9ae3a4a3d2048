"""The engine: PRAGMAs on every connection, cascades and constraints enforced by SQLite."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

import studio.db.engine as engine_module
from studio.db import (
    Character,
    FacePhoto,
    Job,
    KeyframeVersion,
    Project,
    Scene,
    Shot,
    init_db,
    make_engine,
    new_session,
)
from studio.db.cast import list_characters


def test_no_engine_is_made_at_import():
    assert not any(isinstance(value, Engine) for value in vars(engine_module).values())


def test_file_engine_pragmas(tmp_path):
    engine = make_engine(tmp_path / "data" / "studio.sqlite3")
    init_db(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == engine_module.BUSY_TIMEOUT_MS
    engine.dispose()
    assert (tmp_path / "data" / "studio.sqlite3").is_file()


def test_memory_engine_has_foreign_keys():
    engine = make_engine(":memory:")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_deleting_a_project_cascades_in_the_database(engine):
    with new_session(engine) as session:
        project = Project(name="p", owner="a")
        session.add(project)
        session.flush()
        character = Character(project_id=project.id, name="Mara")
        scene = Scene(project_id=project.id, heading="INT. ROOM")
        session.add_all([character, scene])
        session.flush()
        session.add(
            FacePhoto(character_id=character.id, media_path="projects/1/faces/a.png", content_hash="a")
        )
        shot = Shot(scene_id=scene.id, plot="Mara waits.")
        session.add(shot)
        session.flush()
        version = KeyframeVersion(shot_id=shot.id, media_path="projects/1/keyframes/b.png", content_hash="b")
        session.add(version)
        session.flush()
        shot.current_keyframe_id = version.id
        session.add(Job(project_id=project.id, kind="generate"))
        session.commit()
        project_id = project.id

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM project WHERE id = :id"), {"id": project_id})

    with new_session(engine) as session:
        for table in (Character, FacePhoto, Scene, Shot, KeyframeVersion, Job):
            assert session.exec(select(table)).all() == [], table.__name__


def test_deleting_the_current_keyframe_clears_the_shot_pointer(engine):
    with new_session(engine) as session:
        project = Project(name="p", owner="a")
        session.add(project)
        session.flush()
        scene = Scene(project_id=project.id, heading="INT. ROOM")
        session.add(scene)
        session.flush()
        shot = Shot(scene_id=scene.id, plot="Mara waits.")
        session.add(shot)
        session.flush()
        version = KeyframeVersion(shot_id=shot.id, media_path="x.png", content_hash="x")
        session.add(version)
        session.flush()
        shot.current_keyframe_id = version.id
        session.commit()
        session.delete(version)
        session.commit()
        session.refresh(shot)
        assert shot.current_keyframe_id is None


def test_rows_need_existing_parents(engine):
    with new_session(engine) as session:
        session.add(Scene(project_id=12345, heading="INT. NOWHERE"))
        with pytest.raises(IntegrityError):
            session.commit()


@pytest.mark.parametrize(("field", "value"), [("progress", 1.5), ("progress", -0.1), ("status", "exploded")])
def test_job_constraints(engine, field, value):
    with new_session(engine) as session:
        project = Project(name="p", owner="a")
        session.add(project)
        session.commit()
        job = Job(project_id=project.id, kind="generate")
        setattr(job, field, value)
        session.add(job)
        with pytest.raises(IntegrityError):
            session.commit()


def test_read_modify_write_is_serialised(tmp_path):
    """Two "append a cast member" use cases racing must not both take position 0.

    The first reads the cast, a second one runs meanwhile, then the first inserts at the
    position it read. Transactions that begin IMMEDIATE make the second wait for the first.
    """
    engine = make_engine(tmp_path / "studio.sqlite3")
    init_db(engine)
    with new_session(engine) as session:
        session.add(Project(name="p", owner="a"))
        session.commit()

    def append(session, name):
        position = len(list_characters(session=session, project_id=1))
        session.add(Character(project_id=1, name=name, position=position))
        session.commit()

    def other_tab():
        with new_session(engine) as other:
            append(other, "Tom")

    with new_session(engine) as session:
        position = len(list_characters(session=session, project_id=1))  # reads: 0 members
        racer = threading.Thread(target=other_tab)
        racer.start()
        racer.join(timeout=0.3)  # the other tab tries to append meanwhile
        session.add(Character(project_id=1, name="Mara", position=position))
        session.commit()
    racer.join(timeout=10)
    assert not racer.is_alive()
    with new_session(engine) as session:
        members = list_characters(session=session, project_id=1)
        assert [(c.name, c.position) for c in members] == [("Mara", 0), ("Tom", 1)]
    engine.dispose()
