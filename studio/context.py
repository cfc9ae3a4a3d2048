"""The running studio: settings, database engine, media store and job runner, opened once.

`open_studio(settings)` is what app.py calls at start-up: it creates the data folder, creates
or upgrades the tables (studio.db.migrate; an existing database is copied to
`<data dir>/backups/` before a migration changes it), marks jobs orphaned by a previous crash
as failed, deletes media files no row references (left by a crash between a file write and
its row), and starts a job runner.
UI callbacks then use `studio.session()` or the one-liner `studio.call(service, ...)`.
Models (storyboard pipelines, video models) are loaded on first use by `studio.models` and
kept for the next job; opening the studio loads none.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

from studio.config import LOCAL_OWNER, StudioSettings
from studio.db import make_engine, new_session
from studio.db.migrate import BACKUP_DIR, upgrade_database
from studio.jobs import JobRunner, recover_stale_jobs
from studio.media import MediaStore
from studio.offline import stay_offline
from studio.services.media_files import sweep_orphan_media
from studio.services.model_cache import ModelCache

logger = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass
class StudioContext:
    settings: StudioSettings
    engine: Engine
    media: MediaStore
    runner: JobRunner
    models: ModelCache = field(default_factory=ModelCache)

    def session(self) -> Session:
        """A new session (use in a `with` block); objects stay readable after commit."""
        return new_session(self.engine)

    def call(self, service: Callable[..., R], /, **kwargs: Any) -> R:
        """Run one service in its own session, passing `session`, `media`, `models` and `samples_dir` if it takes them.

        `studio.call(services.create_project, owner=user, name=name)` is a whole UI callback.
        """
        parameters = inspect.signature(service).parameters
        if "media" in parameters and "media" not in kwargs:
            kwargs["media"] = self.media
        if "models" in parameters and "models" not in kwargs:
            kwargs["models"] = self.models
        if "samples_dir" in parameters and "samples_dir" not in kwargs:
            kwargs["samples_dir"] = self.settings.samples_dir
        if "session" not in parameters:
            return service(**kwargs)
        with self.session() as session:
            return service(session=session, **kwargs)

    def owner_of(self, username: str | None) -> str:
        """The owner name for a logged-in user (Gradio's request.username), or the local user."""
        return username or LOCAL_OWNER

    def close(self) -> None:
        self.runner.close()
        self.models.clear()
        self.engine.dispose()


def _runner(engine: Engine, settings: StudioSettings, max_queued: int) -> JobRunner:
    """Jobs on threads of this process, or (with a queue) in worker processes."""
    if settings.queue_url:
        from studio.workers import QueueJobRunner

        return QueueJobRunner(engine, settings.queue_url, max_queued=max_queued)
    return JobRunner(engine, max_queued=max_queued)


def open_studio(settings: StudioSettings, *, max_queued: int = 4) -> StudioContext:
    """Create or open the data folder of `settings` and get it ready (see module docstring)."""
    # Before any model (and so onnxruntime) is loaded; app.py has done it already.
    stay_offline()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    upgrade_database(engine, backup_dir=settings.data_dir / BACKUP_DIR)
    media = MediaStore(settings.media_root, settings.upload_limits)
    with new_session(engine) as session:
        if settings.queue_url:
            from studio.workers import recover_stale_worker_jobs

            failed = recover_stale_worker_jobs(session)  # queued rows wait in the broker
        else:
            failed = recover_stale_jobs(session)
        removed = sweep_orphan_media(session, media)
    logger.info(
        "studio data in %s: %d orphaned job(s) marked failed, %d unreferenced file(s) removed",
        settings.data_dir,
        len(failed),
        len(removed),
    )
    return StudioContext(
        settings=settings,
        engine=engine,
        media=media,
        runner=_runner(engine, settings, max_queued),
        models=ModelCache(default_bundle=settings.bundle_path, bundle_roots=settings.bundle_roots),
    )
