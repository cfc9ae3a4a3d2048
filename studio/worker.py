"""`python -m studio.worker`: a worker process that runs the studio's generation and rendering
jobs from the task queue (studio.workers), one job at a time, e.g. one per GPU:

    python -m studio.worker --queue-url sqlite:///srv/studio/queue.sqlite3 --data-dir /srv/studio --device cuda:0

It takes the studio's flags (the same data folder, database URL and bundles as the studio it
serves; flags, then STUDIO_* environment variables) plus --device and --heartbeat. It never
changes the schema, recovers jobs or sweeps media: the studio does that at its start-up.
Stop it with Ctrl-C (Huey's consumer finishes the job it runs first) or SIGTERM (at once); a
job it stopped or was killed in the middle of is marked failed by the studio once its heartbeat
stops, and what the job stored until then stays.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from studio.offline import stay_offline

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    stay_offline()
    from studio.config import build_parser, settings_from_namespace
    from studio.db import make_engine
    from studio.errors import StudioError
    from studio.media import MediaStore
    from studio.services.model_cache import ModelCache
    from studio.workers import WorkerRunner, make_queue, register_task, worker_handler

    parser = build_parser()
    parser.prog = "python -m studio.worker"
    parser.add_argument("--device", default="cpu", help="the device its models run on (e.g. cuda:0)")
    parser.add_argument(
        "--heartbeat", type=float, default=5.0, help="seconds between two heartbeats of a running job"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_namespace(args)
        if not settings.queue_url:
            raise StudioError("A worker needs the studio's queue: give --queue-url or set STUDIO_QUEUE_URL.")
        huey = make_queue(settings.queue_url)
    except StudioError as error:
        print(error, file=sys.stderr)
        return 2
    engine = make_engine(settings.database)
    runner = WorkerRunner(engine, heartbeat_seconds=args.heartbeat)
    media = MediaStore(settings.media_root, settings.upload_limits)
    models = ModelCache(
        default_bundle=settings.bundle_path, bundle_roots=settings.bundle_roots, device=args.device
    )
    register_task(huey, worker_handler(runner, media, models))
    consumer = huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.5)
    logger.info(
        "worker %s on %s: waiting for jobs from %s", args.device, settings.database, settings.queue_url
    )
    try:
        consumer.run()
    finally:
        runner.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
