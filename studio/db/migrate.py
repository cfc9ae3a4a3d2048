"""Schema migrations of the studio database (Alembic, scripts in studio/db/migrations/versions).

`upgrade_database(engine)` is what start-up runs instead of creating tables:

* an empty database gets every table from the migrations, up to the newest revision (head);
* a database at an older revision is first copied to `backups/` (SQLite's online backup, so
  the copy is consistent even with a WAL file beside it), then upgraded in one transaction;
* a database made before migrations existed (tables, but no `alembic_version`) has the schema
  of the first revision, BASELINE: it is backed up, stamped BASELINE, then upgraded;
* a database at a revision this studio does not know (made by a newer version) is refused
  with a sentence and left untouched.

On PostgreSQL the backup is `pg_dump --format=custom` of the database into `backups/` (restore
it with `pg_restore --clean -d URL FILE`); the upgrade runs in one transaction holding the
studio's lock (`studio.db.engine`), and PostgreSQL's DDL is transactional, so a failed upgrade
leaves the database as it was. Without pg_dump on the PATH the upgrade says so in the log and
goes on without a copy.

On SQLite the migration runs on its own connection with foreign keys off: Alembic changes a
column by copying the table, and with foreign keys on, dropping the old copy would delete
every row that references it (ON DELETE CASCADE). SQLite's manual asks for exactly this
(https://www.sqlite.org/lang_altertable.html, "other kinds of table schema changes"), and for
`PRAGMA foreign_key_check` before the commit, which is done here: a violation rolls back.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from studio.db.engine import BUSY_TIMEOUT_MS, begin_immediate
from studio.errors import StudioError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# The revision whose schema is the one the studio had before migrations existed.
BASELINE = "0001"
BACKUP_DIR = "backups"


class DatabaseVersionError(StudioError):
    """The database was made by a studio version whose migrations this one does not have."""

    def __init__(self, revision: str, database: str):
        super().__init__(
            f"The studio database {database} was made by a newer version of MovieDreamer Studio (schema "
            f"revision {revision}); start that version, or restore a backup from before it was used."
        )


class MigrationIntegrityError(StudioError):
    def __init__(self, problems: list[str]):
        super().__init__(
            "Upgrading the studio database would break links between its rows "
            f"({'; '.join(problems[:5])}); nothing was changed. Report this with the database's backup copy."
        )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration in code (no ini file is read), optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None for a database without migrations yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_file(engine: Engine) -> Path | None:
    if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return Path(engine.url.database)


def _migration_pragmas(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # BEGIN is ours (see _begin)
    dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def _begin(connection) -> None:
    # The write lock for the whole upgrade, waiting for other writers like the studio does.
    begin_immediate(connection.connection.driver_connection)


def _migration_engine(engine: Engine) -> Engine:
    """An engine for migrating: a file database gets its own connection with foreign keys off."""
    if _sqlite_file(engine) is None:
        return engine
    migrating = create_engine(engine.url, poolclass=NullPool)
    event.listen(migrating, "connect", _migration_pragmas)
    event.listen(migrating, "begin", _begin)
    return migrating


def backup_sqlite(database: Path, folder: Path, revision: str | None) -> Path:
    """A consistent copy of the SQLite file `database` in `folder`, named after its revision and the time."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{database.stem}-{revision or 'unversioned'}-{stamp}{database.suffix}"
    partial = target.with_name(target.name + ".tmp")
    source = sqlite3.connect(database)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    partial.rename(target)
    return target


def backup_postgres(engine: Engine, folder: Path, revision: str | None) -> Path | None:
    """A pg_dump (custom format) of the database of `engine` in `folder`; None without pg_dump."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        logger.warning(
            "pg_dump is not installed, so the studio database %s is upgraded without a backup copy; "
            "install PostgreSQL's client programs to have one made.",
            engine.url,
        )
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{engine.url.database}-{revision or 'unversioned'}-{stamp}.pgdump"
    partial = target.with_name(target.name + ".tmp")
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        [pg_dump, "--format=custom", f"--file={partial}", f"--dbname={url}"],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode:
        partial.unlink(missing_ok=True)
        raise StudioError(
            f"The studio database {engine.url} could not be backed up before its upgrade, so it was not "
            f"upgraded: pg_dump said {done.stderr.strip()[-500:]!r}."
        )
    partial.rename(target)
    return target


def upgrade_database(engine: Engine, *, backup_dir: Path | None = None) -> Path | None:
    """Bring the database of `engine` to the newest schema (module docstring).

    Returns the backup copy made before changing an existing database, or None when nothing
    was backed up (an empty database, or one already at head). `backup_dir` defaults to
    `backups/` beside a database file; a PostgreSQL database needs it to be backed up.
    """
    head = head_revision()
    scripts = ScriptDirectory.from_config(alembic_config())
    database = _sqlite_file(engine)
    migrating = _migration_engine(engine)
    try:
        # One transaction from the first look to the commit: another process starting at the
        # same time waits for the write lock, then finds the database at head.
        with migrating.connect() as connection, connection.begin():
            revision = current_revision(connection)
            if revision == head:
                return None
            if revision is not None:
                try:
                    scripts.get_revision(revision)
                except CommandError:
                    raise DatabaseVersionError(revision, str(database or engine.url)) from None
            has_tables = bool(inspect(connection).get_table_names())
            backup = None
            if has_tables and database is not None:
                backup = backup_sqlite(database, backup_dir or database.parent / BACKUP_DIR, revision)
                logger.info("copied the studio database to %s before upgrading it", backup)
            elif has_tables and connection.dialect.name == "postgresql" and backup_dir is not None:
                backup = backup_postgres(engine, backup_dir, revision)
                if backup is not None:
                    logger.info("dumped the studio database to %s before upgrading it", backup)
            config = alembic_config(connection)
            if has_tables and revision is None:
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")
            if connection.dialect.name == "sqlite":
                problems = connection.execute(text("PRAGMA foreign_key_check")).all()
                if problems:
                    raise MigrationIntegrityError([f"{row[0]} row {row[1]} -> {row[2]}" for row in problems])
        logger.info("studio database upgraded from %s to %s", revision or "(none)", head)
        return backup
    finally:
        if migrating is not engine:
            migrating.dispose()
