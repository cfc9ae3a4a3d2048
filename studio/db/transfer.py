"""Move a studio's database from its SQLite file to a PostgreSQL server (a team outgrowing one laptop).

    python -m studio.db.transfer --from studio_data/studio.sqlite3 \\
        --to postgresql://studio:secret@dbhost:5432/studio

Every row of every table is copied with its id, in one transaction on the server: a failure
leaves the server's database as it was, and the SQLite file is only read. The server's database
must be new or empty (the copy never merges two studios); it gets the schema from the
migrations first. Both must be at the same schema revision: the SQLite file is upgraded (after
its backup copy) if it is older. Media files are not in the database: keep starting the studio
with the same --data-dir, now with --database-url (or STUDIO_DATABASE_URL).

Rows go in foreign-key order. A reference that closes a cycle (a shot's current keyframe
version, declared `use_alter`) is written as NULL first and set once its row exists. The id
sequences are moved past the copied ids, so new rows never collide with them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy import Integer, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from studio.db.engine import import_tables, make_engine
from studio.db.migrate import current_revision, head_revision, upgrade_database
from studio.errors import StudioError

logger = logging.getLogger(__name__)

BATCH = 500


class TransferError(StudioError):
    """The copy cannot be made; nothing was written."""


def _deferred_columns(table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.use_alter or fk.constraint.use_alter]


def transfer(source: Engine, target: Engine, *, backup_dir: Path | None = None) -> dict[str, int]:
    """Copy every row of `source` into the empty database of `target`; rows copied per table."""
    import_tables()
    upgrade_database(source, backup_dir=backup_dir)
    upgrade_database(target, backup_dir=backup_dir)
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name != "alembic_version"]
    counts: dict[str, int] = {}
    with source.connect() as reading, target.connect() as writing, writing.begin():
        if (
            current_revision(reading) != current_revision(writing)
            or current_revision(writing) != head_revision()
        ):
            raise TransferError(
                f"The two databases are at different schema revisions ({current_revision(reading)} and "
                f"{current_revision(writing)}); start the studio once on each to upgrade them, then copy again."
            )
        filled = [t.name for t in tables if writing.execute(select(func.count()).select_from(t)).scalar()]
        if filled:
            raise TransferError(
                f"The database {target.url} already holds studio data (in {', '.join(filled[:4])}); copy into "
                "a new, empty database, so that two studios are never mixed."
            )
        later: list[tuple] = []  # (table, column, [(id, value)])
        for table in tables:
            deferred = _deferred_columns(table)
            rows = [
                dict(row) for row in reading.execute(select(table).order_by(*table.primary_key)).mappings()
            ]
            for column in deferred:
                kept = [(row["id"], row[column]) for row in rows if row[column] is not None]
                for row in rows:
                    row[column] = None
                if kept:
                    later.append((table, column, kept))
            for start in range(0, len(rows), BATCH):
                writing.execute(insert(table), rows[start : start + BATCH])
            counts[table.name] = len(rows)
        for table, column, kept in later:
            statement = (
                update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("value")})
            )
            writing.execute(statement, [{"row_id": i, "value": v} for i, v in kept])
        if writing.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c and isinstance(table.c.id.type, Integer) and table.c.id.primary_key:
                    writing.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                            f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 1), '
                            f'(SELECT MAX(id) FROM "{table.name}") IS NOT NULL)'
                        ),
                        {"table": f'"{table.name}"'},
                    )
    logger.info("copied %d rows from %s to %s", sum(counts.values()), source.url, target.url)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m studio.db.transfer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--from", dest="source", type=Path, required=True, help="the studio's SQLite file")
    parser.add_argument(
        "--to", dest="target", required=True, help="postgresql://user:password@host:5432/dbname"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.source.is_file():
        print(
            f"{args.source} does not exist; give the studio.sqlite3 file of the data folder.", file=sys.stderr
        )
        return 2
    try:
        source, target = make_engine(args.source), make_engine(args.target)
    except StudioError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        counts = transfer(source, target, backup_dir=args.source.parent / "backups")
    except StudioError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        source.dispose()
        target.dispose()
    print(f"Copied {sum(counts.values())} rows ({counts.get('project', 0)} projects) to {target.url}.")
    print("Start the studio with the same --data-dir and --database-url (or STUDIO_DATABASE_URL).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
