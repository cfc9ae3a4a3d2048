"""The face step of a cast photo: the bundle's face encoder crops and embeds it; without one
the photo is kept as it is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.encoders.faces import FaceBox, NoFaceFound
from studio.config import StudioSettings
from studio.context import open_studio
from studio.ownership import require_face_photo
from studio.services import (
    ModelCache,
    add_character,
    add_face_photo,
    add_scene,
    add_shot,
    analyse_face_photo,
    create_project,
    face_embedding,
    list_cast,
    plan_generation,
)
from tests.studio.factories import OWNER, image_bytes
from tests.studio.fake_pipeline import CountingLoader, FakePipeline


class FakeDetector:
    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return list(self.boxes)


class FakeFaceEncoder:
    """core.encoders.FaceEncoder's interface: detector, main_face, embed."""

    def __init__(self, boxes):
        self.detector = FakeDetector(boxes)
        self.whole_image_calls = 0

    def main_face(self, image):
        if not self.detector.boxes:
            raise NoFaceFound(image.size)
        return max(self.detector.boxes, key=lambda b: b.area)

    def embed(self, image, *, use_whole_image=False):
        self.whole_image_calls += int(use_whole_image)
        return torch.tensor([3.0, 4.0, 0.0]) / 5.0  # (E,)


@pytest.fixture
def setup(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data", bundle_path=bundle))
    pipeline = FakePipeline()
    studio.models = ModelCache(default_bundle=bundle, storyboard_loader=CountingLoader(pipeline))
    project = studio.call(create_project, owner=OWNER, name="Faces")
    character = studio.call(add_character, owner=OWNER, project_id=project.id, name="Mara").value
    photo = studio.call(
        add_face_photo,
        owner=OWNER,
        character_id=character.id,
        upload=image_bytes(80, 60, (120, 90, 60)),
        filename="mara.png",
    ).value
    yield studio, pipeline, project, photo
    studio.close()


def analyse(studio, photo):
    return analyse_face_photo(
        session_factory=studio.session,
        media=studio.media,
        models=studio.models,
        owner=OWNER,
        photo_id=photo.id,
    )


def test_the_face_is_cropped_and_embedded(setup):
    studio, pipeline, project, photo = setup
    pipeline.face_encoder = FakeFaceEncoder([FaceBox(30, 20, 50, 40)])
    result = analyse(studio, photo)
    assert result.notes == () and result.photo.detector == "FakeDetector" and result.photo.embedding_dim == 3
    [character] = studio.call(list_cast, owner=OWNER, project_id=project.id)
    [view] = character.photos
    with Image.open(view.crop) as crop:
        assert crop.size == (30, 30)  # the 20 px box with a quarter of margin on each side
    with studio.session() as session:
        row, _, _ = require_face_photo(session, photo.id, OWNER)
        np.testing.assert_allclose(face_embedding(row), [0.6, 0.8, 0.0])
    # generation reads the crop, the way the pipeline embeds cast photos
    scene = studio.call(add_scene, owner=OWNER, project_id=project.id, heading="INT. ROOM - DAY").value
    assert studio.call(add_shot, owner=OWNER, scene_id=scene.id, plot="Mara waits.", characters=["Mara"]).ok
    plan = studio.call(plan_generation, owner=OWNER, project_id=project.id)
    assert plan.cast_photos == {"Mara": [view.crop]}


def test_no_face_found_uses_the_whole_photo(setup):
    studio, pipeline, _, photo = setup
    pipeline.face_encoder = FakeFaceEncoder([])
    result = analyse(studio, photo)
    assert result.notes == ("No face was found in the photo, so the whole photo is used as the face.",)
    assert result.photo.detector == "whole-image" and pipeline.face_encoder.whole_image_calls == 1


def test_without_a_face_encoder_the_photo_is_kept_as_it_is(setup):
    studio, _, project, photo = setup
    result = analyse(studio, photo)
    assert result.photo is None and result.notes == ()
    scene = studio.call(add_scene, owner=OWNER, project_id=project.id, heading="INT. ROOM - DAY").value
    assert studio.call(add_shot, owner=OWNER, scene_id=scene.id, plot="Mara waits.", characters=["Mara"]).ok
    plan = studio.call(plan_generation, owner=OWNER, project_id=project.id)
    assert plan.cast_photos == {"Mara": [studio.media.resolve(photo.media_path)]}


def test_without_a_bundle_the_photo_is_kept_with_a_note(setup, tmp_path):
    studio, _, _, photo = setup
    studio.models = ModelCache(default_bundle=tmp_path / "nowhere")
    result = analyse(studio, photo)
    assert result.photo is None and "no model bundle could be loaded" in result.notes[0]


def test_generation_reuses_the_stored_embedding_of_the_bundle_that_made_it(setup):
    from studio.services import generation_job

    studio, pipeline, project, photo = setup
    pipeline.face_encoder = FakeFaceEncoder([FaceBox(30, 20, 50, 40)])
    analysed = analyse(studio, photo).photo
    assert analysed.embedding_model == pipeline.bundle_id  # keyed by the bundle that made it
    scene = studio.call(add_scene, owner=OWNER, project_id=project.id, heading="INT. ROOM - DAY").value
    assert studio.call(add_shot, owner=OWNER, scene_id=scene.id, plot="Mara waits.", characters=["Mara"]).ok
    plan = studio.call(plan_generation, owner=OWNER, project_id=project.id)
    [crop] = plan.cast_photos["Mara"]
    assert set(plan.stored_faces) == {str(crop)}

    def run_job():
        work = generation_job(plan, media=studio.media, models=studio.models)
        with studio.session() as session:
            events = studio.runner.start(
                session=session, owner=OWNER, project_id=plan.project_id, kind=plan.kind,
                model=plan.model_key, work=work,
            )  # fmt: skip
        assert list(events)[-1].status == "done"
        return pipeline.calls[-1].known_faces

    known = run_job()  # same bundle: the pipeline gets the stored vector and embeds nothing again
    assert list(known) == [str(crop)]
    np.testing.assert_allclose(known[str(crop)].numpy(), [0.6, 0.8, 0.0])
    pipeline.bundle_id = "another-bundle"  # another bundle's encoder: it embeds the photo itself
    assert run_job() == {}


def test_the_pipeline_embeds_only_the_photos_it_is_not_given(tmp_path):
    from core.pipeline import build_tiny_bundle, load_pipeline

    pipeline = load_pipeline(build_tiny_bundle(tmp_path / "bundle"))
    photos = []
    for i, colour in enumerate([(200, 40, 40), (40, 200, 40)]):
        path = tmp_path / f"mara_{i}.png"
        Image.new("RGB", (32, 32), colour).save(path)
        photos.append(path)
    fresh = pipeline.encode_cast({"Mara": photos})["mara"]
    embedded = []
    original = pipeline.bundle.faces.embed_crops
    pipeline.bundle.faces.embed_crops = lambda crops: embedded.append(len(crops)) or original(crops)
    stored = original([Image.open(photos[0]).convert("RGB")])[0]
    again = pipeline.encode_cast({"Mara": photos}, known={str(photos[0]): stored})["mara"]
    assert embedded == [1]  # only the photo without a stored embedding
    torch.testing.assert_close(again, fresh, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="analyse the photo again"):
        pipeline.encode_cast({"Mara": photos}, known={str(photos[0]): torch.ones(3)})
