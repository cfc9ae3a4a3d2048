"""Test-wide settings: never touch a network hub, keep torch to the 2 cores we have."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for this test run (tests/postgres_server.py), with a template database
    holding the studio's tables; skipped where PostgreSQL is not installed, unless
    STUDIO_TEST_POSTGRES=required (scripts/test.sh) makes that a failure."""
    from tests.postgres_server import PostgresServer, required, unavailable_reason

    reason = unavailable_reason()
    if reason:
        if required():
            pytest.fail(f"PostgreSQL is required for this test run but {reason}.")
        pytest.skip(reason)
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres):
    """The name of a database with every studio table, copied by `postgres_database`.

    Built by the migrations, as the studio builds a server database; not by `create_all`, whose
    ALTER for the shot <-> keyframe cycle marks that key as "added later" on the shared table
    models, after which SQLite's CREATE TABLE in the same process would leave it out
    (SQLAlchemy's AddConstraint isolate_from_table)."""
    from studio.db import make_engine
    from studio.db.migrate import upgrade_database

    url = postgres.create_database()
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url.rsplit("/", 1)[1]


@pytest.fixture
def postgres_database(postgres, postgres_template):
    """The URL of a fresh database with the studio's tables, dropped after the test."""
    url = postgres.create_database(template=postgres_template)
    yield url
    postgres.drop_database(url)
