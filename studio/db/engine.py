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
* SQLite's busy handler is not a queue: a waiter polls every 100 ms while a newcomer may take
  the lock at once, so with 8 processes writing one project a writer could starve past the
  busy timeout (9 "database is locked" in a fault run, the writes lost to their callers). So
  BEGIN IMMEDIATE is retried, after a short random pause, until `WRITE_WAIT_SECONDS` have
  passed; only then does the use case fail, with a sentence and nothing written. Nothing of a
  transaction has happened before its BEGIN, so repeating it is safe; with the write lock
  taken at BEGIN, COMMIT never waits in WAL mode.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from studio.errors import StudioError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# How long a write transaction waits for the write lock in all, over several busy timeouts.
WRITE_WAIT_SECONDS = 120.0
# Pause between two attempts: random, so that waiting writers do not retry in step.
RETRY_PAUSE_SECONDS = (0.005, 0.05)
IN_MEMORY = ":memory:"
SQLITE_BUSY = 5
SQLITE_LOCKED = 6


class DatabaseBusyError(StudioError):
    """The write lock could not be had within WRITE_WAIT_SECONDS; nothing was written."""

    def __init__(self, waited: float):
        super().__init__(
            f"The studio's database stayed busy with other changes for {waited:.0f} seconds, so this change was "
            "not saved; try it again in a moment."
        )


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


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds a lock (SQLITE_BUSY/LOCKED)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


def begin_immediate(
    dbapi_connection: sqlite3.Connection, *, wait_seconds: float = WRITE_WAIT_SECONDS
) -> None:
    """BEGIN IMMEDIATE on a pysqlite connection, retried while the database is busy (module docstring)."""
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            waited = time.monotonic() - started
            if not is_busy(error):
                raise
            if waited >= wait_seconds:
                logger.error("no write lock after %.1f s and %d attempts", waited, attempts)
                raise DatabaseBusyError(waited) from error
            logger.info("database busy after %.1f s (attempt %d); trying again", waited, attempts)
            time.sleep(random.uniform(*RETRY_PAUSE_SECONDS))
            continue
        if attempts > 1:
            logger.info("write lock taken after %.1f s and %d attempts", time.monotonic() - started, attempts)
        return


def _begin_immediate(connection) -> None:
    # On the driver's connection: a refused BEGIN must not go through SQLAlchemy's error
    # handling, which would roll back and wrap it before we can try again.
    begin_immediate(connection.connection.driver_connection)


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


def import_tables() -> None:
    """Register every table model on SQLModel.metadata (importing their modules does it)."""
    from studio.db import cast, job, keyframe, library, project, reference, render, storyboard, trash  # noqa: F401


def init_db(engine: Engine) -> None:
    """Create every table that does not exist yet (tests' in-memory databases; the studio's
    own database is created and upgraded by studio.db.migrate)."""
    import_tables()
    SQLModel.metadata.create_all(engine)
    logger.debug("database tables ready on %s", engine.url)


def new_session(engine: Engine) -> Session:
    """A session whose objects stay readable after commit (the UI reads them afterwards)."""
    return Session(engine, expire_on_commit=False)
