"""Generating keyframes: the whole storyboard, one scene, or one shot, as studio jobs.

Two steps, so every problem the user can fix is reported before a job row exists:

1. `plan_generation(...)` reads the project in one session and returns a frozen
   `GenerationPlan`: the validated script, which frames to (re)generate and with which
   seeds, the tokens of the frames kept fixed (locked shots, or every other shot when only
   one shot or scene is regenerated) as context, the cast's face crops (the photo itself
   where no crop was made) and reference frames, the project's generation settings and the
   bundle folder. It raises a `StudioError` sentence when there
   is nothing to generate or the bundle folder is missing, and lists *warnings* (a shot
   names a character without a face photo: the keyframe is still made, without that face).
2. `generation_job(plan, media=..., models=...)` is a `studio.jobs` job function. It loads
   the bundle's pipeline through the studio's `ModelCache` (once per bundle), applies the
   project's settings over the bundle's defaults, streams
   keyframes in story order and stores each one as a `KeyframeVersion` (image + (L, d)
   tokens + seed + parameters) the moment it exists, then yields a `KeyframeMade` preview.
   Cancelling stops between keyframes (and inside the pipeline, which polls the same
   check); the keyframes made before are kept and the job's message says how many.

Seeds (`seed_mode`): "policy" follows the project's seed policy (`choose_seed`), "new" draws
a fresh random seed per keyframe (what "regenerate" means to a user), "fixed" uses the seed
the user typed for every generated keyframe. The seed used is stored on each version.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlmodel import Session

from core.progress import Cancelled
from core.script import Script
from studio.db import KeyframeVersion, ProjectSettings, SeedPolicy
from studio.db import cast as cast_db
from studio.db import keyframe as keyframe_db
from studio.db import reference as reference_db
from studio.db import storyboard as storyboard_db
from studio.errors import JobCancelledError, MediaError, StudioError
from studio.jobs import JobContext, JobFunction, JobSpec, JobUpdate
from studio.media import MediaStore
from studio.ownership import require_project, require_scene, require_shot
from studio.services.cast import face_embedding
from studio.services.keyframes import MAX_SEED, add_keyframe_version, choose_seed, load_keyframe_tokens
from studio.services.model_cache import ModelCache
from studio.services.script_export import project_to_script

if TYPE_CHECKING:
    from core.pipeline.types import GenerationSettings, StoryboardGenerator

logger = logging.getLogger(__name__)

Scope = Literal["storyboard", "scene", "shot"]
SeedMode = Literal["policy", "new", "fixed"]
SEED_MODES: tuple[SeedMode, ...] = ("policy", "new", "fixed")
JOB_KINDS: dict[Scope, str] = {
    "storyboard": "generate-storyboard",
    "scene": "generate-scene",
    "shot": "generate-shot",
}


@dataclass(frozen=True)
class GenerationTarget:
    """A frame to generate: its story-order index, its shot row, and the seed asked for."""

    frame_index: int
    shot_id: int
    number: int  # 1-based story order, as the UI shows it
    seed: int


@dataclass(frozen=True)
class ContextFrame:
    """A frame kept fixed: its tokens (L, d) condition the frames generated after it."""

    frame_index: int
    number: int
    tokens: np.ndarray
    bundle_id: str | None


@dataclass(frozen=True)
class GenerationPlan:
    project_id: int
    owner: str
    scope: Scope
    seed_mode: SeedMode
    bundle_path: Path
    script: Script
    targets: tuple[GenerationTarget, ...]
    context: tuple[ContextFrame, ...]
    cast_photos: dict[str, list[Path]]
    references: tuple[Path, ...]
    # The project's settings that override the bundle's defaults (steps, guidance, face guidance).
    setting_overrides: dict[str, Any]
    warnings: tuple[str, ...] = ()
    # Embeddings stored at upload, by photo path (as in cast_photos): (bundle_id that made it,
    # vector). The job hands those of its own bundle to the pipeline instead of re-embedding.
    stored_faces: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The job kind recorded on the job row."""
        return JOB_KINDS[self.scope]

    @property
    def model_key(self) -> str:
        """Jobs on the same bundle run one at a time (studio.jobs queues the rest)."""
        return f"bundle:{self.bundle_path}"


@dataclass(frozen=True)
class KeyframeMade:
    """The preview a generation job yields after storing each keyframe."""

    shot_id: int
    frame_index: int
    number: int
    version_id: int
    path: Path
    seed: int


def setting_overrides(settings: ProjectSettings) -> dict[str, Any]:
    """The project's generation settings that are set (empty fields keep the bundle's defaults)."""
    values: dict[str, Any] = {}
    if settings.num_inference_steps is not None:
        values["num_inference_steps"] = settings.num_inference_steps
    if settings.guidance_scale is not None:
        values["guidance_scale"] = settings.guidance_scale
    if settings.face_guidance_scale is not None:
        values["face_guidance_scale"] = settings.face_guidance_scale
    return values


def generation_settings(pipeline: StoryboardGenerator, overrides: dict[str, Any]) -> GenerationSettings:
    """The bundle's default settings (its pipeline's `defaults`) with the project's overrides."""
    return dataclasses.replace(pipeline.defaults, **overrides)


def seed_for(
    mode: SeedMode, settings: ProjectSettings, number: int, seed: int | None, rng: random.Random | None
) -> int:
    if mode == "fixed":
        return int(seed)  # checked by the caller
    if mode == "new":
        return choose_seed(settings.model_copy(update={"seed_policy": SeedPolicy.RANDOM}), number, rng)
    return choose_seed(settings, number, rng)


def check_seed(mode: SeedMode, seed: int | float | None) -> int | None:
    if mode not in SEED_MODES:
        raise StudioError(f"The seed choice {mode!r} is unknown; choose one of: {', '.join(SEED_MODES)}.")
    if mode != "fixed":
        return None
    if seed is None or isinstance(seed, bool) or float(seed) != int(seed) or not 0 <= int(seed) <= MAX_SEED:
        raise StudioError(
            "Type the seed to use as a whole number of 0 or more (below 2^63), or choose new seeds."
        )
    return int(seed)


def _name_list(numbers: Sequence[int]) -> str:
    shown = [str(n) for n in numbers[:6]] + (["..."] if len(numbers) > 6 else [])
    return ("shot " if len(numbers) == 1 else "shots ") + ", ".join(shown)


def plan_generation(
    *,
    session: Session,
    media: MediaStore,
    models: ModelCache,
    owner: str,
    project_id: int,
    scope: Scope = "storyboard",
    scene_id: int | None = None,
    shot_id: int | None = None,
    seed_mode: SeedMode = "policy",
    seed: int | None = None,
    rng: random.Random | None = None,
) -> GenerationPlan:
    """Everything a generation job needs, read now (see the module docstring)."""
    project = require_project(session, project_id, owner)
    fixed_seed = check_seed(seed_mode, seed)
    rows = storyboard_db.list_project_shots(session=session, project_id=project.id)
    if not rows:
        raise StudioError(
            "The project has no shots yet; add a scene and its shots in the Script tab, then generate."
        )

    if scope == "storyboard":
        wanted = [i for i, (_, shot) in enumerate(rows) if not shot.locked]
        if not wanted:
            raise StudioError(
                "Every shot is locked, so there is nothing to generate; unlock the shots to regenerate."
            )
    elif scope == "scene":
        if scene_id is None:
            raise StudioError("Choose the scene to regenerate.")
        scene, scene_project = require_scene(session, scene_id, owner)
        if scene_project.id != project.id:
            raise StudioError("That scene belongs to another project; open its project to regenerate it.")
        in_scene = [i for i, (s, _) in enumerate(rows) if s.id == scene.id]
        if not in_scene:
            raise StudioError(
                f"Scene {scene.position + 1} has no shots; add shots to it in the Script tab first."
            )
        wanted = [i for i in in_scene if not rows[i][1].locked]
        if not wanted:
            raise StudioError(
                f"Every shot of scene {scene.position + 1} is locked; unlock the shots you want to regenerate."
            )
    elif scope == "shot":
        if shot_id is None:
            raise StudioError("Choose the shot to regenerate.")
        shot, _, shot_project = require_shot(session, shot_id, owner)
        if shot_project.id != project.id:
            raise StudioError("That shot belongs to another project; open its project to regenerate it.")
        index = next(i for i, (_, s) in enumerate(rows) if s.id == shot.id)
        if shot.locked:
            raise StudioError(
                f"Shot {index + 1} is locked, so its keyframe stays; unlock it to regenerate it."
            )
        wanted = [index]
    else:
        raise StudioError(f"The generation scope {scope!r} is unknown; choose storyboard, scene or shot.")

    settings = project.project_settings()
    bundle_path = models.bundle_path(settings.bundle_path)
    script = project_to_script(session=session, owner=owner, project_id=project.id)
    targets = tuple(
        GenerationTarget(
            frame_index=i,
            shot_id=rows[i][1].id,
            number=i + 1,
            seed=seed_for(seed_mode, settings, i + 1, fixed_seed, rng),
        )
        for i in wanted
    )

    warnings: list[str] = []
    context: list[ContextFrame] = []
    untokened_locked: list[int] = []
    unreadable: list[int] = []
    wanted_set = set(wanted)
    for i, (_, shot) in enumerate(rows):
        if i in wanted_set or shot.current_keyframe_id is None:
            continue
        version = session.get(KeyframeVersion, shot.current_keyframe_id)
        try:
            tokens = load_keyframe_tokens(media, version.tokens_path) if version is not None else None
        except (MediaError, ValueError, OSError) as error:
            logger.warning("tokens of keyframe %s unreadable: %s", shot.current_keyframe_id, error)
            unreadable.append(i + 1)
            continue
        if tokens is None:
            if shot.locked:
                untokened_locked.append(i + 1)
            continue
        context.append(ContextFrame(frame_index=i, number=i + 1, tokens=tokens, bundle_id=version.bundle_id))
    if untokened_locked:
        warnings.append(
            f"The keyframe of locked {_name_list(untokened_locked)} was not made by a model (it was imported), so "
            "the shots after it cannot follow it; regenerate it once and lock it again if they should."
        )
    if unreadable:
        warnings.append(
            f"The stored tokens of {_name_list(unreadable)} could not be read, so the shots generated after "
            f"{'it' if len(unreadable) == 1 else 'them'} follow a newly drawn history instead; regenerate "
            f"{'it' if len(unreadable) == 1 else 'them'} to repair the keyframe files."
        )

    # The pipeline embeds cast photos as face crops; a photo the face step never saw (no bundle
    # at upload time) goes in whole.
    cast_photos: dict[str, list[Path]] = {}
    stored_faces: dict[str, tuple[str, np.ndarray]] = {}
    for character in cast_db.list_characters(session=session, project_id=project.id):
        photos = []
        for p in cast_db.list_face_photos(session=session, character_id=character.id):
            path = media.resolve(p.crop_path or p.media_path)
            photos.append(path)
            vector = face_embedding(p)
            if p.crop_path and vector is not None and p.embedding_model:
                stored_faces[str(path)] = (p.embedding_model, vector)  # the crop's embedding
        if photos:
            cast_photos[character.name] = photos
    known = {name.casefold() for name in cast_photos}
    faceless: dict[str, list[int]] = {}
    for target in targets:
        for name in rows[target.frame_index][1].characters:
            if name.casefold() not in known:
                faceless.setdefault(name, []).append(target.number)
    for name, numbers in faceless.items():
        warnings.append(
            f"{name} has no face photo, so {_name_list(numbers)} {'is' if len(numbers) == 1 else 'are'} generated "
            f"without that face; add a photo of {name} in the Cast tab to keep the look the same from shot to shot."
        )

    references = tuple(
        media.resolve(row.media_path)
        for row in reference_db.list_reference_frames(session=session, project_id=project.id)
    )
    return GenerationPlan(
        project_id=project.id,
        owner=owner,
        scope=scope,
        seed_mode=seed_mode,
        bundle_path=bundle_path,
        script=script,
        targets=targets,
        context=tuple(context),
        cast_photos=cast_photos,
        references=references,
        setting_overrides=setting_overrides(settings),
        warnings=tuple(warnings),
        stored_faces=stored_faces,
    )


def _json_safe(params: dict[str, Any]) -> dict[str, Any]:
    """Pipeline parameters as JSON (the params column); odd values become their text."""
    return json.loads(
        json.dumps(params, default=lambda value: value.tolist() if hasattr(value, "tolist") else str(value))
    )


def _kept_message(count: int) -> str:
    if count == 0:
        return "Cancelled before the first keyframe was finished; nothing was changed."
    return f"Cancelled; the {count} keyframe{'s' if count != 1 else ''} finished before {'were' if count != 1 else 'was'} kept."


def generation_job(plan: GenerationPlan, *, media: MediaStore, models: ModelCache) -> JobFunction:
    """The job function that generates and stores the plan's keyframes (see the module docstring)."""

    def work(ctx: JobContext) -> Iterator[JobUpdate]:
        total = len(plan.targets)
        made: list[int] = []
        skipped: list[str] = []
        ctx.cancel_message = _kept_message(0)
        yield JobUpdate(progress=0.0, message="Loading the model bundle.")
        pipeline = models.storyboard(plan.bundle_path)
        bundle_id = pipeline.bundle_id
        settings = generation_settings(pipeline, plan.setting_overrides)
        warnings = list(plan.warnings)
        context: dict[int, np.ndarray] = {}
        foreign: list[int] = []
        for frame in plan.context:
            if frame.bundle_id is not None and bundle_id is not None and frame.bundle_id != bundle_id:
                foreign.append(frame.number)
            else:
                context[frame.frame_index] = frame.tokens
        if foreign:
            warnings.append(
                f"The keyframes of {_name_list(foreign)} were made by another model bundle, so they are not used as "
                "context; regenerate them with this bundle if the new shots should follow them."
            )
        by_frame = {target.frame_index: target for target in plan.targets}
        yield JobUpdate(progress=0.0, message=f"Generating {total} keyframe{'s' if total != 1 else ''}.")
        import torch

        known_faces = {
            path: torch.from_numpy(vector)
            for path, (model, vector) in plan.stored_faces.items()
            if bundle_id is not None and model == bundle_id
        }
        stream = pipeline.generate(
            plan.script,
            cast_photos=plan.cast_photos,
            known_faces=known_faces,
            references=list(plan.references),
            targets=[t.frame_index for t in plan.targets],
            context=context,
            seeds={t.frame_index: t.seed for t in plan.targets},
            settings=settings,
            should_cancel=ctx.cancelled,
            on_progress=None,
        )
        try:
            for result in stream:
                target = by_frame.get(result.frame_index)
                if target is None:
                    logger.warning(
                        "the pipeline returned frame %d, which was not asked for", result.frame_index
                    )
                    continue
                params = _json_safe(
                    {
                        **settings.to_dict(),
                        **dict(result.params or {}),
                        "frame_index": target.frame_index,
                        "scope": plan.scope,
                        "seed_mode": plan.seed_mode,
                        "context_frames": sorted(context),
                        "num_references": len(plan.references),
                    }
                )
                with ctx.session() as session:
                    earlier = {
                        v.id
                        for v in keyframe_db.list_keyframe_versions(session=session, shot_id=target.shot_id)
                    }
                    try:
                        version = add_keyframe_version(
                            session=session,
                            media=media,
                            owner=plan.owner,
                            shot_id=target.shot_id,
                            image=result.image,
                            tokens=result.tokens,
                            seed=int(result.seed),
                            params=params,
                            bundle_id=bundle_id,
                        )
                    except StudioError as error:
                        # Locked or deleted in another tab while the job ran: keep going.
                        skipped.append(f"Shot {target.number} was not changed: {error}")
                        continue
                if version.id in earlier:
                    skipped.append(
                        f"Shot {target.number} came out identical to one of its versions (seed {int(result.seed)}), "
                        "so no copy was added; that version is shown. Use another seed for a different image."
                    )
                made.append(version.id)
                ctx.cancel_message = _kept_message(len(made))
                yield JobUpdate(
                    progress=len(made) / total,
                    message=f"Keyframe {len(made)} of {total} done (shot {target.number}, seed {int(result.seed)}).",
                    preview=KeyframeMade(
                        shot_id=target.shot_id,
                        frame_index=target.frame_index,
                        number=target.number,
                        version_id=version.id,
                        path=media.resolve(version.media_path),
                        seed=int(result.seed),
                    ),
                )
        except Cancelled as cancelled:
            raise JobCancelledError(_kept_message(len(made))) from cancelled
        except ValueError as error:
            # core refuses requests it cannot serve with a sentence (a shot that does not exist,
            # an empty script, embeddings of the wrong width); it reaches the page as it is.
            raise StudioError(str(error)) from error
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return {"keyframes": made, "warnings": warnings, "skipped": skipped}

    work.spec = JobSpec("generation", plan)  # what a worker process rebuilds it from (studio.workers)
    return work
