"""Generation jobs: every keyframe stored at once with its tokens and seed, locked shots kept
and used as context, cancellation keeping finished keyframes, and the sentences users see."""

from __future__ import annotations

import random

import numpy as np
import pytest

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import JobStatus, SeedPolicy
from studio.errors import OwnershipError, StudioError
from studio.services import (
    ModelCache,
    add_character,
    add_scene,
    create_project,
    edit_shot,
    generation_job,
    list_keyframe_versions,
    load_keyframe_tokens,
    lock_shot,
    new_project_from_script,
    open_project,
    plan_generation,
    update_project_settings,
)
from tests.studio.factories import OTHER, OWNER
from tests.studio.fake_pipeline import CountingLoader, fake_tokens, seed_color


@pytest.fixture
def bundle(tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    return folder


@pytest.fixture
def loader():
    return CountingLoader()


@pytest.fixture
def studio(tmp_path, bundle, loader):
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=bundle))
    studio.models = ModelCache(default_bundle=bundle, storyboard_loader=loader)
    yield studio
    studio.close()


@pytest.fixture
def project(studio, sample_script, sample_folder):
    """The lighthouse script: scene 1 has shots 1-2, scene 2 has shot 3; Mara and Tom have photos."""
    report = studio.call(new_project_from_script, owner=OWNER, script=sample_script, photo_root=sample_folder)
    return report.project


def shots_of(studio, project_id):
    return studio.call(open_project, owner=OWNER, project_id=project_id).shots


def run(studio, plan):
    """Run a plan as a job to its end; the events."""
    work = generation_job(plan, media=studio.media, models=studio.models)
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


def generate(studio, project_id, **kwargs):
    plan = studio.call(plan_generation, owner=OWNER, project_id=project_id, **kwargs)
    return plan, run(studio, plan)


def test_generate_all_stores_each_keyframe_with_tokens_seed_and_params(studio, project, loader):
    plan, events = generate(studio, project.id)
    assert events[-1].status == JobStatus.DONE
    # the final event repeats the last preview (studio.jobs keeps it for pollers)
    previews = [event.preview for event in events if event.preview is not None and not event.finished]
    assert [p.number for p in previews] == [1, 2, 3]  # streamed in story order, one per keyframe
    shots = shots_of(studio, project.id)
    for shot, preview in zip(shots, previews, strict=True):
        version = shot.keyframe
        assert version.id == preview.version_id and shot.keyframe_path == preview.path
        # per-shot policy with seed 0: shot 1 uses seed 0, as `python -m core.generate --seed 0`
        assert version.seed == shot.number - 1
        assert version.bundle_id == "fake-bundle"
        # the bundle's defaults, since the project sets none
        assert version.params["num_inference_steps"] == 4 and version.params["guidance_scale"] == 2.5
        assert version.params["sampler"] == "fake"
        assert version.params["frame_index"] == shot.number - 1
        np.testing.assert_array_equal(
            load_keyframe_tokens(studio.media, version.tokens_path),
            fake_tokens(shot.number - 1, shot.number - 1),
        )
        assert studio.media.resolve(version.media_path).is_file()
    assert events[-1].result["keyframes"] == [p.version_id for p in previews]
    [call] = loader.pipeline.calls
    assert call.targets == [0, 1, 2] and call.context == {}
    assert set(call.cast_photos) == {"Mara", "Tom"} and len(call.cast_photos["Mara"]) == 2
    assert all(path.is_file() for paths in call.cast_photos.values() for path in paths)


def test_locked_shots_are_kept_and_serve_as_context(studio, project, loader):
    generate(studio, project.id)
    before = shots_of(studio, project.id)
    studio.call(lock_shot, owner=OWNER, shot_id=before[1].shot.id)

    plan, events = generate(studio, project.id, seed_mode="new", rng=random.Random(5))
    assert events[-1].status == JobStatus.DONE
    after = shots_of(studio, project.id)
    assert after[1].keyframe.id == before[1].keyframe.id  # untouched
    assert len(studio.call(list_keyframe_versions, owner=OWNER, shot_id=after[1].shot.id)) == 1
    for i in (0, 2):
        assert after[i].keyframe.id != before[i].keyframe.id
    call = loader.pipeline.calls[-1]
    assert call.targets == [0, 2]
    assert list(call.context) == [1]
    np.testing.assert_array_equal(call.context[1], fake_tokens(1, 1))
    assert after[0].keyframe.params["context_frames"] == [1]


def test_new_seeds_differ_and_are_recorded(studio, project):
    _, first = generate(studio, project.id, scope="storyboard")
    plan, _ = generate(studio, project.id, seed_mode="new", rng=random.Random(1))
    shots = shots_of(studio, project.id)
    expected = [t.seed for t in plan.targets]
    assert [s.keyframe.seed for s in shots] == expected
    assert expected != [0, 1, 2]
    assert all(s.keyframe.params["seed_mode"] == "new" for s in shots)


def test_regenerate_one_shot_with_a_chosen_seed(studio, project, loader):
    generate(studio, project.id)
    before = shots_of(studio, project.id)
    target = before[2].shot.id
    plan, events = generate(studio, project.id, scope="shot", shot_id=target, seed_mode="fixed", seed=4242)
    assert events[-1].status == JobStatus.DONE and plan.kind == "generate-shot"
    after = shots_of(studio, project.id)
    assert [a.keyframe.id == b.keyframe.id for a, b in zip(after, before, strict=True)] == [True, True, False]
    assert after[2].keyframe.seed == 4242
    versions = studio.call(list_keyframe_versions, owner=OWNER, shot_id=target)
    assert [v.is_current for v in versions] == [False, True]
    call = loader.pipeline.calls[-1]
    assert call.targets == [2] and call.seeds == {2: 4242}
    # every other shot's tokens are context, so the new keyframe fits between them
    assert sorted(call.context) == [0, 1]
    from PIL import Image

    with Image.open(after[2].keyframe_path) as image:
        assert image.getpixel((0, 0)) == seed_color(4242)


def test_the_same_seed_twice_adds_no_identical_version(studio, project):
    generate(studio, project.id)
    target = shots_of(studio, project.id)[2].shot.id
    generate(studio, project.id, scope="shot", shot_id=target, seed_mode="fixed", seed=4242)
    _, events = generate(studio, project.id, scope="shot", shot_id=target, seed_mode="fixed", seed=4242)
    assert events[-1].status == JobStatus.DONE
    versions = studio.call(list_keyframe_versions, owner=OWNER, shot_id=target)
    assert [(v.version.seed, v.is_current) for v in versions] == [(2, False), (4242, True)]
    [note] = events[-1].result["skipped"]
    assert note.startswith("Shot 3 came out identical to one of its versions (seed 4242)")
    # going back to the first seed shows the first version again, still without a copy
    generate(studio, project.id, scope="shot", shot_id=target, seed_mode="fixed", seed=2)
    versions = studio.call(list_keyframe_versions, owner=OWNER, shot_id=target)
    assert [(v.version.seed, v.is_current) for v in versions] == [(2, True), (4242, False)]


def test_regenerate_a_scene_skips_its_locked_shots(studio, project, loader):
    generate(studio, project.id)
    shots = shots_of(studio, project.id)
    studio.call(lock_shot, owner=OWNER, shot_id=shots[0].shot.id)
    plan = studio.call(
        plan_generation,
        owner=OWNER,
        project_id=project.id,
        scope="scene",
        scene_id=shots[0].shot.scene_id,
        seed_mode="new",
    )
    assert [t.number for t in plan.targets] == [2]
    run(studio, plan)
    call = loader.pipeline.calls[-1]
    assert call.targets == [1] and sorted(call.context) == [0, 2]

    studio.call(lock_shot, owner=OWNER, shot_id=shots[1].shot.id)
    with pytest.raises(StudioError, match="Every shot of scene 1 is locked"):
        studio.call(
            plan_generation,
            owner=OWNER,
            project_id=project.id,
            scope="scene",
            scene_id=shots[0].shot.scene_id,
        )
    with pytest.raises(StudioError, match="Shot 1 is locked"):
        studio.call(
            plan_generation, owner=OWNER, project_id=project.id, scope="shot", shot_id=shots[0].shot.id
        )


def test_cancel_between_keyframes_keeps_the_finished_ones(studio, project, loader):
    def cancel_after_first(frame_index):
        if frame_index == 0:
            with studio.session() as session:
                [job] = [j for j in studio.call(_active_jobs, project_id=project.id)]
                studio.runner.cancel(session=session, owner=OWNER, job_id=job)

    loader.pipeline.after_keyframe = cancel_after_first
    plan, events = generate(studio, project.id)
    final = events[-1]
    assert final.status == JobStatus.CANCELLED
    assert final.message == "Cancelled; the 1 keyframe finished before was kept."
    shots = shots_of(studio, project.id)
    assert shots[0].keyframe is not None
    assert shots[1].keyframe is None and shots[2].keyframe is None


def _active_jobs(*, session, project_id):
    from studio.jobs import list_project_jobs

    return [
        job.id
        for job in list_project_jobs(session=session, owner=OWNER, project_id=project_id, active_only=True)
    ]


def test_a_pipeline_that_stops_itself_reports_what_was_kept(studio, project, loader):
    calls = {"n": 0}

    def cancelled_after_two():
        calls["n"] += 1
        return calls["n"] > 2

    original = loader.pipeline.generate

    def generate_with_own_check(script, **kwargs):
        kwargs["should_cancel"] = cancelled_after_two
        return original(script, **kwargs)

    loader.pipeline.generate = generate_with_own_check
    _, events = generate(studio, project.id)
    assert events[-1].status == JobStatus.CANCELLED
    assert "the 2 keyframes finished before were kept" in events[-1].message
    assert [s.keyframe is not None for s in shots_of(studio, project.id)] == [True, True, False]


def test_pipelines_are_loaded_once_per_bundle(studio, project, loader, bundle):
    generate(studio, project.id)
    generate(studio, project.id, seed_mode="new")
    assert loader.loads == [bundle.resolve()]


def test_plan_errors_are_sentences(studio, project, tmp_path):
    empty = studio.call(create_project, owner=OWNER, name="Empty")
    with pytest.raises(StudioError, match="The project has no shots yet"):
        studio.call(plan_generation, owner=OWNER, project_id=empty.id)

    # Settings offer only the studio's bundles ...
    refused = studio.call(
        update_project_settings, owner=OWNER, project_id=project.id, bundle_path=str(tmp_path / "nowhere")
    )
    assert "is not one of the bundles this studio offers" in refused.problems["bundle_path"]
    # ... and a folder saved before that rule (or by hand) is refused when generating.
    with studio.session() as session:
        update_project_settings(session=session, owner=OWNER, project_id=project.id, bundle_path="/etc")
    with pytest.raises(
        StudioError, match=r"The model bundle folder /etc is not one of the bundles this studio offers"
    ):
        studio.call(plan_generation, owner=OWNER, project_id=project.id)
    studio.call(update_project_settings, owner=OWNER, project_id=project.id, bundle_path=None)

    with pytest.raises(StudioError, match="whole number"):
        studio.call(plan_generation, owner=OWNER, project_id=project.id, seed_mode="fixed", seed=None)
    with pytest.raises(OwnershipError):
        studio.call(plan_generation, owner=OTHER, project_id=project.id)


def test_default_bundle_missing_says_what_to_do(tmp_path):
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=tmp_path / "absent"))
    try:
        project = studio.call(create_project, owner=OWNER, name="No bundle")
        scene = studio.call(add_scene, owner=OWNER, project_id=project.id, heading="INT. ROOM - DAY").value
        from studio.services import add_shot

        studio.call(add_shot, owner=OWNER, scene_id=scene.id, plot="A door opens.")
        with pytest.raises(StudioError, match="default model bundle is not installed"):
            studio.call(plan_generation, owner=OWNER, project_id=project.id)
    finally:
        studio.close()


def test_a_character_without_a_face_photo_is_a_warning(studio, project, loader):
    studio.call(add_character, owner=OWNER, project_id=project.id, name="Ines", description="A sailor.")
    shot = shots_of(studio, project.id)[2].shot
    assert studio.call(edit_shot, owner=OWNER, shot_id=shot.id, characters=["Mara", "Ines"]).ok
    plan, events = generate(studio, project.id)
    assert plan.warnings == (
        "Ines has no face photo, so shot 3 is generated without that face; add a photo of Ines in the Cast tab "
        "to keep the look the same from shot to shot.",
    )
    assert events[-1].status == JobStatus.DONE
    assert events[-1].result["warnings"] == list(plan.warnings)
    assert "Ines" not in loader.pipeline.calls[-1].cast_photos


def test_context_from_another_bundle_is_dropped_with_a_warning(studio, project, loader):
    generate(studio, project.id)
    shots = shots_of(studio, project.id)
    studio.call(lock_shot, owner=OWNER, shot_id=shots[0].shot.id)
    loader.pipeline.bundle_id = "another-bundle"
    _, events = generate(studio, project.id)
    assert loader.pipeline.calls[-1].context == {}
    assert any("made by another model bundle" in w for w in events[-1].result["warnings"])


def test_project_settings_reach_the_pipeline(studio, project, loader):
    studio.call(
        update_project_settings,
        owner=OWNER,
        project_id=project.id,
        num_inference_steps=7,
        guidance_scale=1.5,
        face_guidance_scale=4.0,
        seed_policy=SeedPolicy.FIXED,
        seed=99,
    )
    plan, _ = generate(studio, project.id)
    call = loader.pipeline.calls[-1]
    assert call.settings.num_inference_steps == 7 and call.settings.guidance_scale == 1.5
    assert call.settings.face_guidance_scale == 4.0
    assert call.seeds == {0: 99, 1: 99, 2: 99}
    assert all(s.keyframe.params["guidance_scale"] == 1.5 for s in shots_of(studio, project.id))
    assert all(s.keyframe.params["face_guidance_scale"] == 4.0 for s in shots_of(studio, project.id))


def test_imported_keyframes_without_tokens_are_not_context(studio, sample_script, sample_folder, loader):
    # The sample folder has frames for shots 1 and 3 (imported images, no tokens).
    report = studio.call(
        new_project_from_script,
        owner=OWNER,
        script=sample_script,
        photo_root=sample_folder,
        frames_dir=sample_folder / "frames",
    )
    shots = shots_of(studio, report.project.id)
    studio.call(lock_shot, owner=OWNER, shot_id=shots[0].shot.id)
    plan = studio.call(plan_generation, owner=OWNER, project_id=report.project.id)
    assert plan.context == ()
    assert any("was not made by a model (it was imported)" in w for w in plan.warnings)


def test_a_pipeline_error_fails_the_job_and_keeps_earlier_keyframes(studio, project, loader):
    def explode(frame_index):
        if frame_index == 1:
            raise RuntimeError("decoder ran out of memory")

    loader.pipeline.after_keyframe = explode
    _, events = generate(studio, project.id)
    assert events[-1].status == JobStatus.FAILED
    assert "decoder ran out of memory" in events[-1].message
    assert [s.keyframe is not None for s in shots_of(studio, project.id)] == [True, True, False]


def test_token_files_follow_their_versions(studio, project):
    from studio.services import delete_shot, duplicate_project, unlock_shot
    from studio.services.media_files import sweep_orphan_media

    generate(studio, project.id)
    shots = shots_of(studio, project.id)
    tokens_path = shots[1].keyframe.tokens_path
    assert tokens_path.endswith(".npy") and studio.media.exists(tokens_path)

    # a restart's sweep keeps them: a row references them
    with studio.session() as session:
        assert sweep_orphan_media(session, studio.media) == []

    # a duplicate gets its own copy
    copy = studio.call(duplicate_project, owner=OWNER, project_id=project.id)
    copied = shots_of(studio, copy.id)[1].keyframe.tokens_path
    assert copied != tokens_path and copied.startswith(f"projects/{copy.id}/")
    np.testing.assert_array_equal(
        load_keyframe_tokens(studio.media, copied), load_keyframe_tokens(studio.media, tokens_path)
    )

    # deleting the shot deletes its token file too
    studio.call(lock_shot, owner=OWNER, shot_id=shots[1].shot.id)
    studio.call(unlock_shot, owner=OWNER, shot_id=shots[1].shot.id)
    studio.call(delete_shot, owner=OWNER, shot_id=shots[1].shot.id)
    assert studio.media.exists(tokens_path)  # until the undo is forgotten
    from studio.services.undo import forget_old_deletions

    with studio.session() as session:
        forget_old_deletions(session, studio.media, project.id, keep=0)
    assert not studio.media.exists(tokens_path) and studio.media.exists(copied)


def test_unreadable_tokens_of_a_kept_shot_are_a_warning_not_a_silent_gap(studio, project):
    generate(studio, project.id)
    shots = shots_of(studio, project.id)
    studio.media.resolve(shots[0].keyframe.tokens_path).write_bytes(b"not tokens")
    plan = studio.call(
        plan_generation, owner=OWNER, project_id=project.id, scope="shot", shot_id=shots[2].shot.id
    )
    assert [frame.frame_index for frame in plan.context] == [1]
    assert any(w.startswith("The stored tokens of shot 1 could not be read") for w in plan.warnings)


def test_a_request_the_pipeline_refuses_reaches_the_page_as_its_sentence(studio, project, loader):
    def refuse(frame_index):
        raise ValueError("Shot 9 does not exist; the script has 3 shots.")

    loader.pipeline.after_keyframe = refuse
    _, events = generate(studio, project.id)
    assert events[-1].status == JobStatus.FAILED
    assert events[-1].message == "Shot 9 does not exist; the script has 3 shots."
