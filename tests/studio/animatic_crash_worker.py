"""A studio process encoding a long animatic, for test_crash_consistency.py to kill with SIGKILL
while the MP4 is half written.

    python -m tests.studio.animatic_crash_worker DATA_DIR PROJECT_ID

Runs the real animatic job (core.video's encoder) of the project and prints every progress
message, one per line, so the test knows when encoding is under way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from studio.config import StudioSettings
from studio.context import open_studio
from studio.services import animatic_job, plan_animatic
from tests.studio.factories import OWNER


def main(argv: list[str]) -> None:
    data_dir, project_id = Path(argv[0]), int(argv[1])
    studio = open_studio(StudioSettings(data_dir=data_dir))
    plan = studio.call(plan_animatic, owner=OWNER, project_id=project_id, transition="cut")
    with studio.session() as session:
        events = studio.runner.start(
            session=session,
            owner=OWNER,
            project_id=project_id,
            kind=plan.kind,
            model=plan.model_key,
            work=animatic_job(plan, media=studio.media),
        )
    for event in events:
        print(event.message, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
