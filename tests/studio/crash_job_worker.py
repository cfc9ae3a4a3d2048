"""A studio process running one long job, for test_crash_consistency.py to kill mid-way.

    python -m tests.studio.crash_job_worker DATA_DIR PROJECT_ID MODE

MODE "steps": the job yields progress for ~10 s and would store a render at the end.
MODE "file-then-row": the job writes its file atomically, reports "file written", then
sleeps before inserting the row, so a kill lands between the two.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from studio.config import StudioSettings
from studio.db import RenderKind, make_engine, new_session
from studio.jobs import JobRunner, JobUpdate
from studio.media import MediaStore
from studio.services.renders import store_render
from tests.studio.factories import OWNER


def main(argv: list[str]) -> None:
    data_dir, project_id, mode = Path(argv[0]), int(argv[1]), argv[2]
    settings = StudioSettings(data_dir=data_dir)
    engine = make_engine(settings.database)
    media = MediaStore(settings.media_root)
    runner = JobRunner(engine, heartbeat_seconds=0.1)

    def steps(ctx):
        frames = []
        for i in range(200):
            frames.append(bytes([i % 256]) * 1000)
            yield JobUpdate(progress=(i + 1) / 200, message=f"frame {i + 1}")
            time.sleep(0.05)
        with ctx.session() as session:
            store_render(
                session=session,
                media=media,
                project_id=ctx.project_id,
                kind=RenderKind.ANIMATIC,
                data=b"".join(frames),
                suffix=".bin",
            )
        return {}

    def file_then_row(ctx):
        yield JobUpdate(progress=0.5, message="rendering")
        media.write_bytes(media.kind_dir(ctx.project_id, "renders"), b"a finished clip", ".mp4")
        yield JobUpdate(progress=0.9, message="file written")
        time.sleep(60)
        return {}

    work = {"steps": steps, "file-then-row": file_then_row}[mode]
    with new_session(engine) as session:
        events = runner.start(session=session, owner=OWNER, project_id=project_id, kind="render", work=work)
    for _ in events:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
