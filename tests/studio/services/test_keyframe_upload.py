"""The artist's own panel as a shot's keyframe: stored as a version with the bundle's tokens,
the shot locked, and read by the AR model as history for the shots after it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import JobStatus
from studio.errors import StudioError
from studio.services import (
    ModelCache,
    generation_job,
    list_keyframe_versions,
    load_keyframe_tokens,
    new_project_from_script,
    open_project,
    plan_generation,
    upload_keyframe,
)
from tests.studio.factories import OWNER, image_bytes
from tests.studio.fake_pipeline import CountingLoader


def make_studio(tmp_path, bundle, loader=None):
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=bundle))
    if loader is not None:
        studio.models = ModelCache(default_bundle=bundle, storyboard_loader=loader)
    return studio


def upload(studio, shot_id, data, name="sketch.png"):
    return upload_keyframe(
        session_factory=studio.session,
        media=studio.media,
        models=studio.models,
        owner=OWNER,
        shot_id=shot_id,
        upload=data,
        filename=name,
    )


def run(studio, project_id, **kwargs):
    plan = studio.call(plan_generation, owner=OWNER, project_id=project_id, **kwargs)
    work = generation_job(plan, media=studio.media, models=studio.models)
    with studio.session() as session:
        events = list(
            studio.runner.start(
                session=session,
                owner=OWNER,
                project_id=project_id,
                kind=plan.kind,
                model=plan.model_key,
                work=work,
            )
        )
    assert events[-1].status == JobStatus.DONE, events[-1].message
    return events


@pytest.fixture
def fake(tmp_path, sample_script, sample_folder):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    loader = CountingLoader()
    studio = make_studio(tmp_path, bundle, loader)
    report = studio.call(new_project_from_script, owner=OWNER, script=sample_script, photo_root=sample_folder)
    yield studio, loader, report.project.id
    studio.close()


def test_an_uploaded_panel_is_a_locked_version_with_the_bundles_tokens(fake):
    studio, loader, project_id = fake
    shot = studio.call(open_project, owner=OWNER, project_id=project_id).shots[0]
    result = upload(studio, shot.shot.id, image_bytes(80, 40, (10, 200, 30), fmt="JPEG"), "sketch.jpg")
    version = result.value
    assert version.seed is None and version.bundle_id == "fake-bundle"
    assert version.params == {"source": "upload", "original_name": "sketch.jpg"}
    assert loader.pipeline.encoded == [(80, 40)]
    tokens = load_keyframe_tokens(studio.media, version.tokens_path)
    assert tokens.shape == (2, 4) and tokens[1].tolist() == [7.0, 7.0, 7.0, 7.0]
    again = studio.call(open_project, owner=OWNER, project_id=project_id).shots[0]
    assert again.shot.locked and again.keyframe.id == version.id
    assert any("is locked, so generation keeps it" in note for note in result.notes)
    # a locked shot keeps its keyframe: a second panel is refused with a sentence
    with pytest.raises(StudioError, match="is locked, so its keyframe stays"):
        upload(studio, shot.shot.id, image_bytes(30, 30, (1, 2, 3)))
    assert len(studio.call(list_keyframe_versions, owner=OWNER, shot_id=shot.shot.id)) == 1


def test_generation_reads_the_panel_as_history_of_the_later_shots(fake):
    studio, loader, project_id = fake
    first = studio.call(open_project, owner=OWNER, project_id=project_id).shots[0]
    version = upload(studio, first.shot.id, image_bytes(56, 32, (200, 10, 10))).value
    run(studio, project_id)
    call = loader.pipeline.calls[-1]
    assert call.targets == [1, 2]  # the panel's shot is kept
    np.testing.assert_array_equal(call.context[0], load_keyframe_tokens(studio.media, version.tokens_path))


def test_a_file_that_is_no_image_is_refused_and_nothing_is_stored(fake):
    studio, _, project_id = fake
    shot = studio.call(open_project, owner=OWNER, project_id=project_id).shots[1]
    with pytest.raises(StudioError):
        upload(studio, shot.shot.id, b"not an image at all", "panel.png")
    after = studio.call(open_project, owner=OWNER, project_id=project_id).shots[1]
    assert after.keyframe is None and not after.shot.locked


def test_end_to_end_the_next_shots_tokens_follow_the_uploaded_panel(tmp_path, sample_script, sample_folder):
    """With a real (tiny, random) bundle: the same seeds, two different panels for shot 1, and
    shot 2's drawn tokens differ, because the AR model reads the panel's tokens."""
    from core.pipeline import build_tiny_bundle

    bundle = build_tiny_bundle(tmp_path / "tiny", seed=0)
    studio = make_studio(tmp_path, bundle)
    try:
        drawn = []
        for color in [(250, 250, 250), (0, 0, 90)]:
            report = studio.call(
                new_project_from_script, owner=OWNER, script=sample_script, photo_root=sample_folder
            )
            shots = studio.call(open_project, owner=OWNER, project_id=report.project.id).shots
            panel = Image.new("RGB", (224, 128), color)
            for x in range(0, 224, 16):  # a few strokes, as a sketch has
                panel.paste((255 - color[0], 40, 40), (x, 30, x + 4, 100))
            buffer = io.BytesIO()
            panel.save(buffer, format="PNG")
            version = upload(studio, shots[0].shot.id, buffer.getvalue()).value
            assert version.bundle_id is not None
            run(studio, report.project.id, scope="shot", shot_id=shots[1].shot.id, seed_mode="fixed", seed=5)
            second = studio.call(open_project, owner=OWNER, project_id=report.project.id).shots[1]
            drawn.append(load_keyframe_tokens(studio.media, second.keyframe.tokens_path))
        assert drawn[0].shape == drawn[1].shape
        assert not np.allclose(drawn[0], drawn[1]), "shot 2's tokens did not change with shot 1's panel"
    finally:
        studio.close()
