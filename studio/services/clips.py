"""Shot clips (image-to-video from each keyframe), as studio jobs.

Like generation, a use case is a *plan* read in one session (every problem the user can fix
raised as a `StudioError` sentence before a job row exists) and a *job function* for
`studio.jobs.JobRunner`: `plan_clips` + `clip_job`. Each selected shot's current keyframe goes
through the bundle's anchored image-to-video model (`core.video.pipeline`, loaded once by the
`ModelCache`); with `connect_next` the clip ends on the next shot's keyframe when the model has
last-frame channels. The clip is long enough for the shot's duration (segments chained with the
anchor), capped at `max_segments`. Each clip is stored as a Render (kind "clip", shot_id set,
the keyframe version it was made from in params) as soon as it is encoded. The model runs on a
worker thread (`studio.services.worker_progress`).
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from core.progress import Cancelled, Progress
from studio.db import KeyframeVersion, RenderKind, RenderPublic
from studio.db import render as render_db
from studio.db import storyboard as storyboard_db
from studio.errors import JobCancelledError, StudioError
from studio.jobs import JobContext, JobFunction, JobSpec, JobUpdate
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.generation import SeedMode, check_seed, seed_for
from studio.services.model_cache import ModelCache
from studio.services.renders import add_render
from studio.services.worker_progress import as_updates

logger = logging.getLogger(__name__)

VIDEO_CONFIG_FILE = "video_config.json"
DEFAULT_CLIP_FPS = 8
DEFAULT_CLIP_STEPS = 12
# A clip of a 10 s shot at 8 fps with 8-frame segments needs 12 segments; on CPU each costs
# as much as a short clip, so longer shots are cut to this many and say so in params.
DEFAULT_MAX_SEGMENTS = 4


@dataclass(frozen=True)
class ClipTarget:
    shot_id: int
    number: int  # 1-based story order
    keyframe_id: int
    keyframe_path: Path
    next_keyframe_path: Path | None
    duration: float
    seed: int


@dataclass(frozen=True)
class ClipPlan:
    project_id: int
    owner: str
    bundle_path: Path
    video_folder: Path
    targets: tuple[ClipTarget, ...]
    num_inference_steps: int
    connect_next: bool
    max_segments: int
    seed_mode: SeedMode

    kind = "render-clips"

    @property
    def model_key(self) -> str:
        return f"bundle:{self.bundle_path}"


@dataclass(frozen=True)
class ClipMade:
    """The preview a clip job yields after storing each clip."""

    shot_id: int
    number: int
    render_id: int
    path: Path


def plan_clips(
    *,
    session: Session,
    media: MediaStore,
    models: ModelCache,
    owner: str,
    project_id: int,
    shot_ids: list[int],
    num_inference_steps: int = DEFAULT_CLIP_STEPS,
    connect_next: bool = True,
    max_segments: int = DEFAULT_MAX_SEGMENTS,
    seed_mode: SeedMode = "policy",
    seed: int | None = None,
    rng: random.Random | None = None,
) -> ClipPlan:
    """What a clip job needs, read now; StudioError sentences for what the user must fix first."""
    project = require_project(session, project_id, owner)
    fixed_seed = check_seed(seed_mode, seed)
    if not shot_ids:
        raise StudioError("Select the shots to render first (tick them in the shot list).")
    if not 1 <= int(num_inference_steps) <= 200:
        raise StudioError(
            f"{num_inference_steps} steps is not possible; choose from 1 to 200 steps per clip."
        )
    if not 1 <= int(max_segments) <= 32:
        raise StudioError(f"{max_segments} segments is not possible; choose from 1 to 32 segments per clip.")
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)
    index_of = {shot.id: i for i, (_, shot) in enumerate(rows)}
    unknown = [shot_id for shot_id in shot_ids if shot_id not in index_of]
    if unknown:
        raise StudioError(
            "Some selected shots are not in this project any more; reload the project and select again."
        )
    settings = project.project_settings()
    bundle_path = models.bundle_path(settings.bundle_path)
    video_folder = models.video_folder(bundle_path)

    def keyframe(i: int) -> KeyframeVersion | None:
        shot = rows[i][1]
        return session.get(KeyframeVersion, shot.current_keyframe_id) if shot.current_keyframe_id else None

    targets = []
    missing = []
    for shot_id in sorted(set(shot_ids), key=index_of.__getitem__):
        i = index_of[shot_id]
        version = keyframe(i)
        if version is None:
            missing.append(i + 1)
            continue
        following = keyframe(i + 1) if connect_next and i + 1 < len(rows) else None
        targets.append(
            ClipTarget(
                shot_id=shot_id,
                number=i + 1,
                keyframe_id=version.id,
                keyframe_path=media.resolve(version.media_path),
                next_keyframe_path=media.resolve(following.media_path) if following is not None else None,
                duration=float(rows[i][1].duration),
                seed=seed_for(seed_mode, settings, i + 1, fixed_seed, rng),
            )
        )
    if missing:
        listed = ", ".join(map(str, missing))
        raise StudioError(
            f"Shot{'s' if len(missing) > 1 else ''} {listed} {'have' if len(missing) > 1 else 'has'} no keyframe yet; "
            "generate the keyframes in the Storyboard tab before rendering clips."
        )
    return ClipPlan(
        project_id=project.id,
        owner=owner,
        bundle_path=bundle_path,
        video_folder=video_folder,
        targets=tuple(targets),
        num_inference_steps=int(num_inference_steps),
        connect_next=connect_next,
        max_segments=int(max_segments),
        seed_mode=seed_mode,
    )


@dataclass(frozen=True)
class ClipGeometry:
    """Size, segment length and frame rate the video model works at."""

    width: int
    height: int
    num_frames: int
    fps: int


def clip_geometry(pipeline: Any, video_folder: Path, keyframe_size: tuple[int, int]) -> ClipGeometry:
    """The model's trained geometry (video_config.json), else the keyframe's size rounded down
    to what the VAE and UNet can divide."""
    config_file = Path(video_folder) / VIDEO_CONFIG_FILE
    num_frames = int(pipeline.unet.config.num_frames)
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
        return ClipGeometry(
            width=int(config["width"]),
            height=int(config["height"]),
            num_frames=int(config.get("num_frames", num_frames)),
            fps=int(config.get("fps", DEFAULT_CLIP_FPS)),
        )
    multiple = pipeline.vae_scale_factor * 2 ** (len(pipeline.unet.config.block_out_channels) - 1)
    width, height = (max(multiple, size - size % multiple) for size in keyframe_size)
    return ClipGeometry(width=width, height=height, num_frames=num_frames, fps=DEFAULT_CLIP_FPS)


def segments_for(duration: float, fps: int, num_frames: int, max_segments: int) -> int:
    """Chained segments for a shot: S segments of T frames give T + (S - 1)(T - 1) frames."""
    needed = max(num_frames, math.ceil(duration * fps))
    return max(1, min(max_segments, math.ceil((needed - 1) / (num_frames - 1))))


def _kept_clips(count: int) -> str:
    if count == 0:
        return "Cancelled before the first clip was finished; nothing was saved."
    return f"Cancelled; the {count} clip{'s' if count != 1 else ''} finished before {'were' if count != 1 else 'was'} kept."


def clip_job(plan: ClipPlan, *, media: MediaStore, models: ModelCache) -> JobFunction:
    """The job function that renders and stores the plan's clips (see the module docstring)."""

    def work(ctx: JobContext) -> Iterator[JobUpdate]:
        import numpy as np
        import torch
        from PIL import Image

        from core.video.encoding import write_frames_mp4
        from core.video.pipeline import uint8_frames

        total = len(plan.targets)
        made: list[int] = []
        ctx.cancel_message = _kept_clips(0)
        yield JobUpdate(progress=0.0, message="Loading the video model.")
        pipeline = models.video(plan.video_folder)
        for n, target in enumerate(plan.targets):
            with Image.open(target.keyframe_path) as opened:
                image = np.array(opened.convert("RGB"))  # (H, W, 3), writable for torch
            last = None
            if target.next_keyframe_path is not None and pipeline.first_last:
                with Image.open(target.next_keyframe_path) as opened:
                    last = np.array(opened.convert("RGB"))
            geometry = clip_geometry(pipeline, plan.video_folder, (image.shape[1], image.shape[0]))
            segments = segments_for(target.duration, geometry.fps, geometry.num_frames, plan.max_segments)

            def render(
                progress,
                stopped,
                image=image,
                last=last,
                geometry=geometry,
                segments=segments,
                seed=target.seed,
            ):
                return pipeline(
                    image,
                    last,
                    height=geometry.height,
                    width=geometry.width,
                    num_frames=geometry.num_frames,
                    num_segments=segments,
                    num_inference_steps=plan.num_inference_steps,
                    fps=geometry.fps,
                    generator=torch.Generator().manual_seed(seed),
                    output_type="np",
                    progress=progress,
                    cancel_check=lambda: stopped() or ctx.cancelled(),
                ).frames[0]  # (N, H, W, 3) in [0, 1]

            def describe(report: Progress, n=n, number=target.number) -> JobUpdate:
                return JobUpdate(
                    progress=(n + report.done / max(report.total, 1)) / total,
                    message=f"Rendering the clip of shot {number} ({n + 1} of {total}).",
                )

            try:
                frames = yield from as_updates(render, describe)
            except Cancelled as cancelled:
                raise JobCancelledError(_kept_clips(len(made))) from cancelled
            params = {
                "keyframe_id": target.keyframe_id,
                "seed": target.seed,
                "seed_mode": plan.seed_mode,
                "num_inference_steps": plan.num_inference_steps,
                "num_segments": segments,
                "num_frames": int(frames.shape[0]),
                "fps": geometry.fps,
                "width": geometry.width,
                "height": geometry.height,
                "connected_to_next": last is not None,
                "cut_short": segments == plan.max_segments
                and segments * (geometry.num_frames - 1) + 1 < math.ceil(target.duration * geometry.fps),
            }
            with media.work_folder("clip-") as folder:
                path = write_frames_mp4(uint8_frames(frames), geometry.fps, folder / "clip.mp4")
                with ctx.session() as session:
                    render_row = add_render(
                        session=session,
                        media=media,
                        owner=plan.owner,
                        project_id=plan.project_id,
                        kind=RenderKind.CLIP,
                        source=path,
                        params=params,
                        shot_id=target.shot_id,
                    )
            made.append(render_row.id)
            ctx.cancel_message = _kept_clips(len(made))
            yield JobUpdate(
                progress=(n + 1) / total,
                message=f"Clip {n + 1} of {total} done (shot {target.number}).",
                preview=ClipMade(
                    shot_id=target.shot_id,
                    number=target.number,
                    render_id=render_row.id,
                    path=media.resolve(render_row.media_path),
                ),
            )
        return {"clips": made}

    work.spec = JobSpec("clips", plan)  # what a worker process rebuilds it from (studio.workers)
    return work


@dataclass(frozen=True)
class ClipView:
    render: RenderPublic
    shot_id: int
    number: int
    path: Path
    current: bool  # made from the shot's current keyframe


def list_clips(*, session: Session, media: MediaStore, owner: str, project_id: int) -> list[ClipView]:
    """The project's clips, in story order, newest first within a shot."""
    require_project(session, project_id, owner)
    rows = storyboard_db.list_project_shots(session=session, project_id=project_id)
    order = {shot.id: (i + 1, shot.current_keyframe_id) for i, (_, shot) in enumerate(rows)}
    clips = []
    for render in render_db.list_renders(session=session, project_id=project_id, kind=RenderKind.CLIP):
        if render.shot_id not in order:
            continue
        number, current = order[render.shot_id]
        clips.append(
            ClipView(
                render=RenderPublic.model_validate(render),
                shot_id=render.shot_id,
                number=number,
                path=media.resolve(render.media_path),
                current=render.params.get("keyframe_id") == current,
            )
        )
    return sorted(clips, key=lambda clip: clip.number)


@dataclass(frozen=True)
class ClipFrame:
    """One frame of a rendered clip, for looking at where a clip goes wrong."""

    index: int  # 0-based frame number in the clip
    seconds: float  # its time in the clip
    image: Any  # (H, W, 3) uint8 array

    @property
    def caption(self) -> str:
        return f"{self.seconds:.2f} s (frame {self.index + 1})"


MAX_STRIP_FRAMES = 12


def clip_frames(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    render_id: int,
    count: int = MAX_STRIP_FRAMES,
) -> list[ClipFrame]:
    """Up to `count` frames of one of the project's clips, evenly spaced, first and last included."""
    from core.video.media_reader import load_clip  # imported here: numpy/moviepy are not page imports

    require_project(session, project_id, owner)
    if count < 1:
        raise ValueError(f"A frame strip needs at least one frame, not {count}.")
    render = session.get(render_db.Render, render_id)
    if render is None or render.project_id != project_id or render.kind != RenderKind.CLIP:
        raise StudioError(
            "That clip no longer exists in this project; refresh the Video tab and pick another."
        )
    try:
        clip = load_clip(media.resolve(render.media_path))
    except (FileNotFoundError, ValueError) as error:
        raise StudioError(
            f"The clip's video file cannot be read ({error}); render the shot's clip again."
        ) from error
    total = len(clip.frames)
    fps = clip.fps or DEFAULT_CLIP_FPS
    shown = min(count, total)
    picks = sorted({round(i * (total - 1) / max(shown - 1, 1)) for i in range(shown)})
    return [ClipFrame(index=i, seconds=i / fps, image=clip.frames[i]) for i in picks]
