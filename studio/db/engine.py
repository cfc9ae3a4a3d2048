"""The SQLite engine: made by a function (never at import), with the PRAGMAs the studio needs.

* `journal_mode=WAL` lets the UI read while a job writes.
* `foreign_keys=ON` makes the ON DELETE CASCADE clauses of the tables work (SQLite leaves
  them off per connection unless asked).
* `busy_timeout` makes a writer wait for a lock instead of failing at once with
  "database is locked" when a job and a UI callback write together.
* `synchronous=NORMAL` is the documented safe pairing with WAL: a power cut may lose the
  last transactions but never corrupts the file.
* Every transaction starts with `BEGIN IMMEDIATE` (SQLAlchemy's recipe for pysqlite): the
  driver's default deferred BEGIN lets a use case read, then fail at once with "database is
  locked" when it tries to write after a job committed progress in between (a stale WAL
  snapshot cannot be upgraded, and busy_timeout does not help). Taking the write lock at the
  start makes such a transaction wait its turn instead, and makes read-modify-write use cases
  (positions, renumbering) serializable.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
IN_MEMORY = ":memory:"


def _set_sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # Leave BEGIN to us (see _begin_immediate); pysqlite would otherwise issue its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(db_path: str | Path | None = IN_MEMORY, *, echo: bool = False) -> Engine:
    """An engine on the SQLite file `db_path` (created with its folder if missing).

    `None` or ":memory:" gives one in-memory database shared by every session of this engine
    (a StaticPool keeps the single connection alive), which is what tests use.
    """
    if db_path is None or str(db_path) == IN_MEMORY:
        engine = create_engine(
            "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            echo=echo,
        )
    else:
        path = Path(db_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Gradio runs callbacks on worker threads; each pooled connection is used by one
        # thread at a time, so sharing them across threads is safe.
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
            echo=echo,
        )
    event.listen(engine, "connect", _set_sqlite_pragmas)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def init_db(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    # Importing the table modules registers them on SQLModel.metadata.
    from studio.db import cast, job, keyframe, project, reference, render, storyboard  # noqa: F401

    SQLModel.metadata.create_all(engine)
    logger.debug("database tables ready on %s", engine.url)


def new_session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (the UI reads them afterwards)."""
    return Session(engine, expire_on_commit=False)
