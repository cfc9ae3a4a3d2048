"""Alembic's environment for the studio database (run by studio.db.migrate, or by `alembic`).

studio.db.migrate passes the connection to migrate in `config.attributes["connection"]`; the
`alembic` command line (see alembic.ini beside this file) opens `-x url=...` or the ini's
`sqlalchemy.url` instead.
`render_as_batch` lets SQLite change columns by copying the table, which is how Alembic does
ALTER on SQLite (studio.db.migrate runs it with foreign keys off, as SQLite's manual asks).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from studio.db.engine import import_tables

import_tables()
config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as opened:
        _run(opened)
    engine.dispose()
