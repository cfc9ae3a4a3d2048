"""The on-disk work folder: one folder per video, one sub-folder per finished stage.

    OUT/work/<video_id>/<stage>/          a stage's outputs, plus done.json written last
    OUT/work/<video_id>/.<stage>.partial/ a stage being computed (removed on the next start)
    OUT/work/<video_id>/error.json        the last error of this video (removed on success)

A stage folder only ever appears complete: the stage writes into the partial folder, then
`done.json` (the stage's fingerprint, its timing and its keyframe count) and renames the
folder into place. A run that is killed leaves at most a partial folder behind, which the
next run deletes and recomputes. A stage whose fingerprint (its configuration plus the
fingerprints of the stages it reads, plus the source file's size and mtime) changed is
computed again, and so is everything downstream of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.files import write_json_atomically

DONE_FILE = "done.json"
ERROR_FILE = "error.json"


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable parts (configurations, upstream fingerprints)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def video_id_for(path: Path) -> str:
    """A file-system-safe id from the video's file name (`My Film (1954).mp4` -> `My_Film_1954`)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._-")
    return slug or "video"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class StageRecord:
    """What done.json says about a finished stage."""

    fingerprint: str
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time (what other jobs on the cores cannot inflate)
    keyframes: int
    reused: bool  # True when this run found the stage finished and did not compute it


class VideoWork:
    """The work folder of one video."""

    def __init__(self, root: Path, video_id: str, source: Path):
        self.root = Path(root) / video_id
        self.video_id = video_id
        self.source = source

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def source_fingerprint(self) -> dict[str, Any]:
        """The source file's identity: a changed file invalidates every stage."""
        stat = self.source.stat()
        return {"path": str(self.source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def finished(self, stage: str, expected: str) -> StageRecord | None:
        """The record of `stage` if it finished with the `expected` fingerprint, else None."""
        done = self.stage_dir(stage) / DONE_FILE
        if not done.is_file():
            return None
        record = read_json(done)
        if record.get("fingerprint") != expected:
            return None
        return StageRecord(
            expected,
            float(record["seconds"]),
            float(record.get("cpu_seconds", 0.0)),
            int(record["keyframes"]),
            reused=True,
        )

    @contextmanager
    def computing(self, stage: str, stage_fingerprint: str) -> Iterator[StageOutput]:
        """Compute a stage into a partial folder; on success it becomes the stage folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{stage}.partial"
        if partial.exists():
            shutil.rmtree(partial)  # left by a run that was killed
        partial.mkdir()
        output = StageOutput(partial, stage_fingerprint, time.perf_counter(), time.process_time())
        yield output
        output.record = StageRecord(
            stage_fingerprint,
            round(time.perf_counter() - output.started, 4),
            round(time.process_time() - output.started_cpu, 4),
            output.keyframes,
            reused=False,
        )
        write_json_atomically(
            partial / DONE_FILE,
            {
                "fingerprint": stage_fingerprint,
                "seconds": output.record.seconds,
                "cpu_seconds": output.record.cpu_seconds,
                "keyframes": output.keyframes,
            },
        )
        final = self.stage_dir(stage)
        if final.exists():
            shutil.rmtree(final)  # a stale result of another configuration
        os.replace(partial, final)

    def record_error(self, stage: str, message: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self.root / ERROR_FILE, {"stage": stage, "error": message})

    def clear_error(self) -> None:
        (self.root / ERROR_FILE).unlink(missing_ok=True)


@dataclass
class StageOutput:
    """The partial folder a stage writes into, and how many keyframes it handled."""

    folder: Path
    fingerprint: str
    started: float
    started_cpu: float
    keyframes: int = 0
    record: StageRecord | None = None
