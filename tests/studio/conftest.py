"""Fixtures of the studio tests: a database through the same `make_engine` the studio uses,
once in memory (sqlite:// + StaticPool) and once on a real PostgreSQL server the test run
starts (tests/postgres_server.py), a media store in a temp folder, image files made on the
fly, and a small script with photos on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from core.script import Script
from studio.db import init_db, make_engine, new_session
from studio.media import MediaStore, UploadLimits
from studio.services import new_project_from_script
from tests.studio.factories import OWNER, image_bytes, sample_script_data


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request):
    """Every test that uses the database runs on SQLite and on PostgreSQL."""
    if request.param == "postgresql":
        engine = make_engine(request.getfixturevalue("postgres_database"))
    else:
        engine = make_engine(":memory:")
        init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with new_session(engine) as session:
        yield session


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media", UploadLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000))


@pytest.fixture
def sample_script() -> Script:
    return Script.model_validate(sample_script_data())


@pytest.fixture
def sample_folder(tmp_path: Path) -> Path:
    """A sample-project folder: script.json, cast photos and keyframes of two of its shots."""
    folder = tmp_path / "samples" / "lighthouse"
    (folder / "cast").mkdir(parents=True)
    (folder / "frames").mkdir()
    (folder / "script.json").write_text(json.dumps(sample_script_data()), encoding="utf-8")
    for i, name in enumerate(["mara_0", "mara_1", "tom_0"]):
        (folder / "cast" / f"{name}.png").write_bytes(image_bytes(32, 32, (30 * i, 100, 150)))
    (folder / "frames" / "000000.png").write_bytes(image_bytes(56, 32, (10, 10, 90)))
    (folder / "frames" / "000002.png").write_bytes(image_bytes(56, 32, (90, 10, 10)))
    return folder


@pytest.fixture
def lighthouse(session, media, sample_folder, sample_script):
    """A project made from the sample script with its cast photos (no keyframes)."""
    return new_project_from_script(
        session=session, media=media, owner=OWNER, script=sample_script, photo_root=sample_folder
    )
