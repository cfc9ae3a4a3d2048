"""One of several processes writing to the same project at once, for test_concurrent_writers.py.

    python -m tests.studio.concurrent_writer_worker DATA_DIR PROJECT_ID SCENE_ID WORKER ROUNDS START_AT BUSY_MS [DATABASE_URL]

BUSY_MS replaces SQLite's busy timeout (studio.db.engine.BUSY_TIMEOUT_MS), so that a test can
make writers run out of it quickly instead of after 10 s on a machine that happens to be idle.
Waits until the wall clock reaches START_AT (so every process starts writing together), then
runs ROUNDS rounds of: add a shot, add a character, rename the project, create a project,
each through the services in its own session as a UI callback would. Prints one JSON line:
what each call acknowledged (ids, names) and the errors it got.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import studio.db.engine as engine_module
from studio.config import StudioSettings
from studio.context import StudioContext, open_studio
from studio.services import add_character, add_shot, create_project, rename_project
from tests.studio.factories import OWNER


def write_rounds(studio: StudioContext, project_id: int, scene_id: int, worker: int, rounds: int) -> dict:
    """Run the rounds; {"worker", "acknowledged": {kind: [id or name, ...]}, "errors": [str]}."""
    acknowledged: dict[str, list] = {"shots": [], "characters": [], "renames": [], "projects": []}
    errors: list[str] = []
    letters = "abcdefghijklmnopqrstuvwxyz"
    for n in range(rounds):
        tag = f"{letters[worker % 26]}{letters[n // 26 % 26]}{letters[n % 26]}"
        calls = [
            ("shots", add_shot, dict(scene_id=scene_id, plot=f"Worker {worker} waits in round {n}.")),
            (
                "characters",
                add_character,
                dict(
                    project_id=project_id, name=f"Extra {tag.title()}", description="A person in the crowd."
                ),
            ),
            ("renames", rename_project, dict(project_id=project_id, name=f"Renamed by {worker} in {n}")),
            ("projects", create_project, dict(name=f"Project of {worker} round {n}")),
        ]
        for key, service, kwargs in calls:
            try:
                result = studio.call(service, owner=OWNER, **kwargs)
            except Exception as error:  # noqa: BLE001 - every failure is counted by the test
                errors.append(f"{key}: {type(error).__name__}: {error}")
                continue
            value = getattr(result, "value", result)
            if value is None:
                errors.append(f"{key}: refused: {result.problems}")
                continue
            acknowledged[key].append(value.name if key == "renames" else value.id)
    return {"worker": worker, "acknowledged": acknowledged, "errors": errors}


def main(argv: list[str]) -> None:
    data_dir, project_id, scene_id = Path(argv[0]), int(argv[1]), int(argv[2])
    worker, rounds, start_at = int(argv[3]), int(argv[4]), float(argv[5])
    engine_module.BUSY_TIMEOUT_MS = int(argv[6])
    database_url = argv[7] if len(argv) > 7 else None  # a PostgreSQL server instead of the file
    studio = open_studio(StudioSettings(data_dir=data_dir, database_url=database_url))
    time.sleep(max(0.0, start_at - time.time()))
    try:
        report = write_rounds(studio, project_id, scene_id, worker, rounds)
    finally:
        studio.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
