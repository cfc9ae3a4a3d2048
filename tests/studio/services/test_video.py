"""Video jobs: clips from keyframes through a tiny anchored image-to-video model, stored as
clip renders; the animatic as an MP4 + GIF pair; cancellation and the sentences users see."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.video.config import build_random_pipeline, preset
from core.video.loading import save_video_pipeline
from core.video.media_reader import load_clip
from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import JobStatus, RenderKind
from studio.errors import StudioError
from studio.services import (
    ModelCache,
    animatic_job,
    clip_frames,
    clip_job,
    create_project,
    generation_job,
    latest_animatic,
    list_clips,
    list_renders,
    new_project_from_script,
    open_project,
    plan_animatic,
    plan_clips,
    plan_generation,
)
from studio.services.clips import segments_for
from tests.studio.factories import OWNER
from tests.studio.fake_pipeline import CountingLoader

TINY = preset("tiny")  # 56x32 frames, 4 per segment: the fake keyframes' size


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # Tiny models on a busy 2-core machine: two OpenMP threads spin against each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def video_bundle(tmp_path_factory):
    """A bundle folder whose video/ holds a tiny random video model (as train.stage4_video exports)."""
    bundle = tmp_path_factory.mktemp("bundle")
    pipeline = build_random_pipeline(TINY)
    save_video_pipeline(pipeline, bundle / "video")
    return bundle


@pytest.fixture
def studio(tmp_path, video_bundle):
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=video_bundle))
    studio.models = ModelCache(default_bundle=video_bundle, storyboard_loader=CountingLoader())
    yield studio
    studio.close()


def run(studio, plan, work):
    with studio.session() as session:
        events = studio.runner.start(
            session=session,
            owner=OWNER,
            project_id=plan.project_id,
            kind=plan.kind,
            model=plan.model_key,
            work=work,
        )
    return list(events)


@pytest.fixture
def project(studio, sample_script, sample_folder):
    """The lighthouse script (3 shots) with generated keyframes."""
    report = studio.call(new_project_from_script, owner=OWNER, script=sample_script, photo_root=sample_folder)
    plan = studio.call(plan_generation, owner=OWNER, project_id=report.project.id)
    assert (
        run(studio, plan, generation_job(plan, media=studio.media, models=studio.models))[-1].status == "done"
    )
    return report.project


def shots_of(studio, project_id):
    return studio.call(open_project, owner=OWNER, project_id=project_id).shots


def test_segments_cover_the_shot_up_to_the_cap():
    assert segments_for(0.2, fps=8, num_frames=4, max_segments=4) == 1  # short shots: one native segment
    assert segments_for(1.0, fps=8, num_frames=4, max_segments=4) == 3  # 8 frames: 4 + 3 + 3 >= 8
    assert segments_for(10.0, fps=8, num_frames=4, max_segments=4) == 4  # capped


def test_clips_are_rendered_and_stored_per_shot(studio, project):
    shots = shots_of(studio, project.id)
    chosen = [shots[2].shot.id, shots[0].shot.id]
    plan = studio.call(
        plan_clips, owner=OWNER, project_id=project.id, shot_ids=chosen, num_inference_steps=2, max_segments=2
    )
    assert [t.number for t in plan.targets] == [1, 3]  # story order, whatever the selection order
    assert plan.targets[0].next_keyframe_path == shots[1].keyframe_path  # ends on the next keyframe
    assert plan.targets[1].next_keyframe_path is None  # the last shot has no next one
    events = run(studio, plan, clip_job(plan, media=studio.media, models=studio.models))
    assert events[-1].status == JobStatus.DONE, events[-1].message
    made = [e.preview for e in events if e.preview is not None and not e.finished]
    assert [m.number for m in made] == [1, 3]

    renders = studio.call(list_renders, owner=OWNER, project_id=project.id, kind=RenderKind.CLIP)
    assert sorted(r.shot_id for r in renders) == sorted(chosen)
    first = next(r for r in renders if r.shot_id == shots[0].shot.id)
    assert first.params["keyframe_id"] == shots[0].keyframe.id
    assert first.params["num_segments"] == 2 and first.params["connected_to_next"] is True
    assert first.params["cut_short"] is True  # 4 s at 8 fps needs more than 2 segments of 4 frames
    clip = load_clip(studio.media.resolve(first.media_path))
    assert clip.frames.shape == (first.params["num_frames"], TINY.height, TINY.width, 3)
    assert first.params["num_frames"] == 4 + 3  # two chained segments share one frame

    views = studio.call(list_clips, owner=OWNER, project_id=project.id)
    assert [v.number for v in views] == [1, 3] and all(v.current for v in views)

    # The frames of a clip, to look at where it goes wrong: evenly spaced, first and last kept.
    strip = studio.call(clip_frames, owner=OWNER, project_id=project.id, render_id=first.id, count=4)
    assert [f.index for f in strip] == [0, 2, 4, 6]
    assert all(np.array_equal(f.image, clip.frames[f.index]) for f in strip)
    assert strip[-1].caption == f"{6 / first.params['fps']:.2f} s (frame 7)"
    everything = studio.call(clip_frames, owner=OWNER, project_id=project.id, render_id=first.id, count=50)
    assert [f.index for f in everything] == list(range(7))
    with pytest.raises(StudioError, match="no longer exists in this project"):
        studio.call(clip_frames, owner=OWNER, project_id=project.id, render_id=10_000)
    studio.media.resolve(first.media_path).unlink()
    with pytest.raises(StudioError, match="render the shot's clip again"):
        studio.call(clip_frames, owner=OWNER, project_id=project.id, render_id=first.id)


def test_cancelling_a_clip_render_saves_nothing_for_it(studio, project):
    shots = shots_of(studio, project.id)
    plan = studio.call(
        plan_clips,
        owner=OWNER,
        project_id=project.id,
        shot_ids=[shots[0].shot.id],
        num_inference_steps=50,
        max_segments=4,
    )
    work = clip_job(plan, media=studio.media, models=studio.models)
    with studio.session() as session:
        events = studio.runner.start(
            session=session,
            owner=OWNER,
            project_id=project.id,
            kind=plan.kind,
            model=plan.model_key,
            work=work,
        )
    seen = []
    for event in events:
        seen.append(event)
        if event.message.startswith("Rendering the clip") and len(seen) < 50:
            with studio.session() as session:
                studio.runner.cancel(session=session, owner=OWNER, job_id=event.job_id)
    assert seen[-1].status == JobStatus.CANCELLED
    assert seen[-1].message == "Cancelled before the first clip was finished; nothing was saved."
    assert studio.call(list_renders, owner=OWNER, project_id=project.id, kind=RenderKind.CLIP) == []


def test_clip_plan_errors_are_sentences(studio, project, sample_script, tmp_path):
    with pytest.raises(StudioError, match="Select the shots to render first"):
        studio.call(plan_clips, owner=OWNER, project_id=project.id, shot_ids=[])
    fresh = studio.call(new_project_from_script, owner=OWNER, script=sample_script).project
    shot = shots_of(studio, fresh.id)[1].shot
    with pytest.raises(StudioError, match="Shot 2 has no keyframe yet; generate the keyframes"):
        studio.call(plan_clips, owner=OWNER, project_id=fresh.id, shot_ids=[shot.id])
    with pytest.raises(StudioError, match="not in this project"):
        studio.call(
            plan_clips, owner=OWNER, project_id=fresh.id, shot_ids=[shots_of(studio, project.id)[0].shot.id]
        )

    no_video = tmp_path / "keyframes-only"
    no_video.mkdir()
    studio.models = ModelCache(default_bundle=no_video)
    with pytest.raises(
        StudioError, match="has no video model, so clips cannot be rendered .* the animatic still works"
    ):
        studio.call(
            plan_clips, owner=OWNER, project_id=project.id, shot_ids=[shots_of(studio, project.id)[0].shot.id]
        )


def test_the_animatic_is_stored_as_mp4_and_gif(studio, project):
    plan = studio.call(plan_animatic, owner=OWNER, project_id=project.id, transition="cut")
    assert plan.warnings == () and len(plan.keyframes) == 3 and plan.clips == {}
    events = run(studio, plan, animatic_job(plan, media=studio.media))
    assert events[-1].status == JobStatus.DONE, events[-1].message
    assert any(e.message.startswith("Encoding frame") for e in events)
    view = studio.call(latest_animatic, owner=OWNER, project_id=project.id)
    assert view.video_path.suffix == ".mp4" and view.gif_path.suffix == ".gif"
    assert view.video_path.is_file() and view.gif_path.is_file()
    assert view.duration == pytest.approx(2.0 + 4.0 + 2.5 + 3.0)  # title card + the three shots
    assert view.video.params["shot_starts"] == [2.0, 6.0, 8.5]
    assert events[-1].result == {
        "video_render_id": view.video.id,
        "gif_render_id": view.gif.id,
        "warnings": [],
    }
    frames = load_clip(view.video_path)
    assert frames.frames.shape[1:] == (32, 56, 3)


def test_the_animatic_uses_clips_of_current_keyframes_only(studio, project):
    shots = shots_of(studio, project.id)
    plan = studio.call(
        plan_clips,
        owner=OWNER,
        project_id=project.id,
        shot_ids=[shots[0].shot.id],
        num_inference_steps=1,
        max_segments=1,
    )
    run(studio, plan, clip_job(plan, media=studio.media, models=studio.models))
    animatic = studio.call(plan_animatic, owner=OWNER, project_id=project.id)
    assert list(animatic.clips) == [0]
    # a new keyframe for shot 1 makes its clip stale
    regen = studio.call(
        plan_generation,
        owner=OWNER,
        project_id=project.id,
        scope="shot",
        shot_id=shots[0].shot.id,
        seed_mode="fixed",
        seed=7,
    )
    run(studio, regen, generation_job(regen, media=studio.media, models=studio.models))
    assert studio.call(plan_animatic, owner=OWNER, project_id=project.id).clips == {}
    assert [v.current for v in studio.call(list_clips, owner=OWNER, project_id=project.id)] == [False]


def test_animatic_plan_errors_and_placeholders(studio, sample_script, sample_folder):
    empty = studio.call(create_project, owner=OWNER, name="Empty")
    with pytest.raises(StudioError, match="The project has no shots yet"):
        studio.call(plan_animatic, owner=OWNER, project_id=empty.id)
    bare = studio.call(new_project_from_script, owner=OWNER, script=sample_script).project
    with pytest.raises(StudioError, match="No shot has a keyframe yet"):
        studio.call(plan_animatic, owner=OWNER, project_id=bare.id)
    # frames for shots 1 and 3 only
    partial = studio.call(
        new_project_from_script,
        owner=OWNER,
        script=sample_script,
        photo_root=sample_folder,
        frames_dir=sample_folder / "frames",
    ).project
    plan = studio.call(plan_animatic, owner=OWNER, project_id=partial.id)
    assert plan.warnings == (
        "Shot 2 has no keyframe yet, so the animatic shows a card with the plot there; generate them and build the "
        "animatic again.",
    )
    events = run(studio, plan, animatic_job(plan, media=studio.media))
    assert events[-1].status == JobStatus.DONE
    assert events[-1].result["warnings"] == list(plan.warnings)


def test_cancelling_the_animatic_leaves_no_render(studio, project):
    plan = studio.call(plan_animatic, owner=OWNER, project_id=project.id)
    work = animatic_job(plan, media=studio.media)
    with studio.session() as session:
        events = studio.runner.start(
            session=session,
            owner=OWNER,
            project_id=project.id,
            kind=plan.kind,
            model=plan.model_key,
            work=work,
        )
    last = None
    for event in events:
        last = event
        if event.message == "Laying out the animatic.":
            with studio.session() as session:
                studio.runner.cancel(session=session, owner=OWNER, job_id=event.job_id)
    assert last.status == JobStatus.CANCELLED and last.message == "Cancelled; no animatic was saved."
    assert studio.call(latest_animatic, owner=OWNER, project_id=project.id) is None
