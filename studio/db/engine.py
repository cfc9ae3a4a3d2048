"""The database engine: made by a function (never at import). SQLite (a file in the data
folder) is the default; a PostgreSQL server is the database of a shared studio server
(`STUDIO_DATABASE_URL=postgresql://user:password@host/dbname`).

SQLite, with the PRAGMAs the studio needs:

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

PostgreSQL keeps the same contract: every transaction first takes one transaction-level
advisory lock (`pg_advisory_xact_lock`), so the studio's transactions run one at a time as they
do under SQLite's BEGIN IMMEDIATE, and read-modify-write use cases stay serializable without
retrying them. PostgreSQL queues lock waiters in order, so one wait of up to
`WRITE_WAIT_SECONDS` (`lock_timeout`) replaces SQLite's retries; past it the use case fails
with the same sentence and nothing written. The lock is released by COMMIT or ROLLBACK, also
when a process dies (the server ends its session). Foreign keys and ON DELETE CASCADE are
always on. The driver is psycopg 3 (`postgresql://` URLs are read as `postgresql+psycopg://`).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
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
# The advisory lock every studio transaction holds on PostgreSQL ("MDST" in ASCII).
POSTGRES_LOCK_KEY = 0x4D445354
POSTGRES_LOCK_NOT_AVAILABLE = "55P03"


class DatabaseUrlError(StudioError):
    """STUDIO_DATABASE_URL (or --database-url) names no database the studio can use."""


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


def is_database_url(target: str | Path | None) -> bool:
    """Whether `target` is a database URL (postgresql://...) rather than a SQLite file path."""
    return isinstance(target, str) and "://" in target


def postgres_url(url: str):
    """The SQLAlchemy URL of a PostgreSQL server URL, on the psycopg 3 driver; a sentence if
    the URL is not one."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(
            f"The database URL {url!r} is not a URL; write it as postgresql://user:password@host:5432/dbname."
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUrlError(
            f"The database URL names a {parsed.get_backend_name()} database, but the studio runs on "
            "SQLite (leave STUDIO_DATABASE_URL unset: the file in the data folder) or on PostgreSQL "
            "(postgresql://user:password@host:5432/dbname)."
        )
    if parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_driver_name() != "psycopg":
        raise DatabaseUrlError(
            f"The database URL asks for the {parsed.get_driver_name()} driver; the studio talks to "
            "PostgreSQL through psycopg 3: write the URL as postgresql://..."
        )
    return parsed


def postgres_lock(dbapi_connection, *, wait_seconds: float = WRITE_WAIT_SECONDS) -> None:
    """Take the studio's transaction lock on a psycopg connection (module docstring)."""
    import psycopg

    started = time.monotonic()
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(wait_seconds * 1000)}")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (POSTGRES_LOCK_KEY,))
    except psycopg.errors.LockNotAvailable as error:
        dbapi_connection.rollback()
        waited = time.monotonic() - started
        logger.error("no transaction lock after %.1f s", waited)
        raise DatabaseBusyError(waited) from error
    waited = time.monotonic() - started
    if waited > 1.0:
        logger.info("transaction lock taken after %.1f s", waited)


def _postgres_lock(connection) -> None:
    postgres_lock(connection.connection.driver_connection)


def _postgres_engine(url: str, *, echo: bool) -> Engine:
    # pre_ping: a pooled connection the server closed (restart, idle timeout) is replaced
    # instead of failing the next use case.
    engine = create_engine(postgres_url(url), pool_pre_ping=True, echo=echo)
    event.listen(engine, "begin", _postgres_lock)
    return engine


def make_engine(db_path: str | Path | None = IN_MEMORY, *, echo: bool = False) -> Engine:
    """An engine on the SQLite file `db_path` (created with its folder if missing), or on the
    PostgreSQL server of a `postgresql://` URL.

    `None` or ":memory:" gives one in-memory database shared by every session of this engine
    (a StaticPool keeps the single connection alive), which is what tests use.
    """
    if is_database_url(db_path):
        return _postgres_engine(str(db_path), echo=echo)
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
