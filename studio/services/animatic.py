"""The animatic, as a studio job: `plan_animatic` + `animatic_job`.

The whole storyboard as a timed MP4 with a GIF preview (`core.video.animatic`), using a shot's
clip where one was rendered from its *current* keyframe and the keyframe (with its camera
move) otherwise. Shots without a keyframe get a placeholder card and a warning. Both files are
stored together as two Render rows (kind "animatic", params["format"] "mp4" / "gif") in one
transaction. The plan is read in one session (problems the user can fix are `StudioError`
sentences before a job row exists); the encoder runs on a worker thread
(`studio.services.worker_progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlmodel import Session

from core.progress import Cancelled, Progress
from core.script import Script
from core.video.animatic import AnimaticSettings, render_animatic
from studio.db import KeyframeVersion, Render, RenderKind, RenderPublic
from studio.db import project as project_db
from studio.db import render as render_db
from studio.db import storyboard as storyboard_db
from studio.errors import JobCancelledError, StudioError
from studio.jobs import JobContext, JobFunction, JobSpec, JobUpdate
from studio.media import MediaStore
from studio.ownership import require_project
from studio.services.media_files import media_transaction
from studio.services.script_export import project_to_script
from studio.services.worker_progress import as_updates

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnimaticPlan:
    project_id: int
    owner: str
    script: Script
    keyframes: dict[int, Path]  # story-order index -> current keyframe
    clips: dict[int, Path]  # story-order index -> clip rendered from that keyframe
    settings: AnimaticSettings
    warnings: tuple[str, ...] = ()
    # scratch voice track: character name -> voice, or None for a silent animatic
    voices: dict[str, Any] | None = None
    music: Path | None = None

    kind = "animatic"
    # Encoding needs no model; animatics queue behind each other, not behind generation.
    model_key = "animatic"


@dataclass(frozen=True)
class AnimaticView:
    """A stored animatic: the MP4 (and its GIF preview) as absolute paths."""

    video: RenderPublic
    video_path: Path
    gif: RenderPublic | None
    gif_path: Path | None

    @property
    def duration(self) -> float | None:
        return self.video.params.get("duration")


def _fresh_clips(
    session: Session, media: MediaStore, project_id: int, current: dict[int, int]
) -> dict[int, Path]:
    """Per shot id, the newest clip made from the shot's current keyframe."""
    clips: dict[int, Path] = {}
    for render in render_db.list_renders(session=session, project_id=project_id, kind=RenderKind.CLIP):
        fresh = render.shot_id in current and render.params.get("keyframe_id") == current[render.shot_id]
        if fresh and render.shot_id not in clips:
            clips[render.shot_id] = media.resolve(render.media_path)
    return clips


def plan_animatic(
    *,
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    use_clips: bool = True,
    transition: Literal["cut", "crossfade"] = "crossfade",
    captions: bool = True,
    title_card: bool = True,
) -> AnimaticPlan:
    """What an animatic job needs, read now; StudioError sentences for what the user must fix first."""
    project = require_project(session, project_id, owner)
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)
    if not rows:
        raise StudioError(
            "The project has no shots yet; add shots in the Script tab and generate their keyframes."
        )
    script = project_to_script(session=session, owner=owner, project_id=project.id)
    keyframes: dict[int, Path] = {}
    current: dict[int, int] = {}
    missing: list[int] = []
    for i, (_, shot) in enumerate(rows):
        version = session.get(KeyframeVersion, shot.current_keyframe_id) if shot.current_keyframe_id else None
        if version is None:
            missing.append(i + 1)
            continue
        keyframes[i] = media.resolve(version.media_path)
        current[shot.id] = version.id
    if not keyframes:
        raise StudioError(
            "No shot has a keyframe yet; generate the storyboard first, then build the animatic."
        )
    clips: dict[int, Path] = {}
    if use_clips:
        by_shot = _fresh_clips(session, media, project.id, current)
        clips = {i: by_shot[shot.id] for i, (_, shot) in enumerate(rows) if shot.id in by_shot}
    warnings = []
    if missing:
        listed = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
        warnings.append(
            f"Shot{'s' if len(missing) > 1 else ''} {listed} {'have' if len(missing) > 1 else 'has'} no keyframe yet, "
            "so the animatic shows a card with the plot there; generate them and build the animatic again."
        )
    settings = AnimaticSettings(
        transition=transition, captions=captions, title_card=title_card, missing="placeholder"
    )
    voices = music = None
    if project.project_settings().scratch_voice:
        from studio.services.voices import project_music, project_voices

        voices = project_voices(session=session, project=project)
        music = project_music(session=session, media=media, project=project)
    return AnimaticPlan(
        project_id=project.id,
        owner=owner,
        script=script,
        keyframes=keyframes,
        clips=clips,
        settings=settings,
        warnings=tuple(warnings),
        voices=voices,
        music=music,
    )


def _store_animatic(
    session: Session,
    media: MediaStore,
    owner: str,
    project_id: int,
    video: Path,
    gif: Path | None,
    params: dict[str, Any],
) -> tuple[RenderPublic, RenderPublic | None]:
    """Both files, then both rows, in one transaction: an animatic never lacks its preview."""
    project = require_project(session, project_id, owner)
    with media_transaction(session, media) as written:
        directory = media.kind_dir(project.id, "renders")
        stored = media.write_file(directory, video, ".mp4")
        written.append(stored.path)
        video_row = Render(
            project_id=project.id,
            kind=RenderKind.ANIMATIC,
            media_path=stored.path,
            content_hash=stored.sha256,
            size_bytes=stored.size,
            params={**params, "format": "mp4"},
        )
        session.add(video_row)
        session.flush()
        gif_row = None
        if gif is not None:
            stored_gif = media.write_file(directory, gif, ".gif")
            written.append(stored_gif.path)
            gif_row = Render(
                project_id=project.id,
                kind=RenderKind.ANIMATIC,
                media_path=stored_gif.path,
                content_hash=stored_gif.sha256,
                size_bytes=stored_gif.size,
                params={"format": "gif", "video_render_id": video_row.id},
            )
            session.add(gif_row)
            session.flush()
        project_db.touch_project(session=session, project=project)
    return RenderPublic.model_validate(video_row), RenderPublic.model_validate(gif_row) if gif_row else None


def animatic_job(plan: AnimaticPlan, *, media: MediaStore) -> JobFunction:
    """The job function that encodes the animatic and stores it (see the module docstring)."""

    def work(ctx: JobContext) -> Iterator[JobUpdate]:
        ctx.cancel_message = "Cancelled; no animatic was saved."
        yield JobUpdate(progress=0.0, message="Laying out the animatic.")
        # Under the data folder, not the system's temp folder: a kill mid-encode leaves the partial
        # MP4 where the next start-up sweeps it.
        with media.work_folder("animatic-") as folder:
            video_path, gif_path = folder / "animatic.mp4", folder / "animatic.gif"

            def render(progress, stopped):
                if plan.voices is not None:
                    from core.interchange.voiced_animatic import render_voiced_animatic

                    return render_voiced_animatic(
                        plan.script,
                        plan.keyframes,
                        video_path,
                        voices=plan.voices,
                        music_path=plan.music,
                        clips=plan.clips,
                        gif_path=gif_path,
                        settings=plan.settings,
                        progress=progress,
                        cancel_check=lambda: stopped() or ctx.cancelled(),
                    ).result
                return render_animatic(
                    plan.script,
                    plan.keyframes,
                    video_path,
                    clips=plan.clips,
                    gif_path=gif_path,
                    settings=plan.settings,
                    progress=progress,
                    cancel_check=lambda: stopped() or ctx.cancelled(),
                )

            def describe(report: Progress) -> JobUpdate:
                done, total = report.done, report.total
                return JobUpdate(
                    progress=0.98 * done / max(total, 1), message=f"Encoding frame {done} of {total}."
                )

            try:
                result = yield from as_updates(render, describe)
            except Cancelled as cancelled:
                raise JobCancelledError("Cancelled; no animatic was saved.") from cancelled
            except ValueError as error:
                # core.video words its refusals (missing files, sizes) for users.
                raise StudioError(str(error)) from error
            params = {
                "duration": round(result.duration, 3),
                "fps": result.fps,
                "width": result.size[0],
                "height": result.size[1],
                "num_frames": result.num_frames,
                "shot_starts": result.shot_starts,
                "clips_used": len(plan.clips),
                "transition": plan.settings.transition,
                "scratch_voice": plan.voices is not None,
            }
            with ctx.session() as session:
                video, gif = _store_animatic(
                    session, media, plan.owner, plan.project_id, result.video_path, result.gif_path, params
                )
        view = AnimaticView(
            video=video,
            video_path=media.resolve(video.media_path),
            gif=gif,
            gif_path=media.resolve(gif.media_path) if gif else None,
        )
        yield JobUpdate(progress=1.0, message=f"Animatic ready ({result.duration:.1f} s).", preview=view)
        return {
            "video_render_id": video.id,
            "gif_render_id": gif.id if gif else None,
            "warnings": list(plan.warnings),
        }

    work.spec = JobSpec("animatic", plan)  # what a worker process rebuilds it from (studio.workers)
    return work


def latest_animatic(
    *, session: Session, media: MediaStore, owner: str, project_id: int
) -> AnimaticView | None:
    """The newest animatic of the project with its GIF preview, or None."""
    require_project(session, project_id, owner)
    rows = render_db.list_renders(session=session, project_id=project_id, kind=RenderKind.ANIMATIC)
    video = next((row for row in rows if row.params.get("format", "mp4") == "mp4"), None)
    if video is None:
        return None
    gif = next((row for row in rows if row.params.get("video_render_id") == video.id), None)
    return AnimaticView(
        video=RenderPublic.model_validate(video),
        video_path=media.resolve(video.media_path),
        gif=RenderPublic.model_validate(gif) if gif else None,
        gif_path=media.resolve(gif.media_path) if gif else None,
    )
