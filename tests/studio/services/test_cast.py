"""Cast use cases: characters validated by core.script, photos through the upload gate."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select

from studio.db import FacePhoto
from studio.errors import MediaError, StudioError
from studio.services import (
    add_character,
    add_face_photo,
    add_scene,
    add_shot,
    create_project,
    edit_character,
    face_embedding,
    list_cast,
    move_character,
    open_project,
    project_to_script,
    remove_character,
    remove_face_photo,
    set_face_analysis,
)
from studio.services.undo import forget_old_deletions
from tests.studio.factories import OWNER, image_bytes, media_files


@pytest.fixture
def project(session):
    return create_project(session=session, owner=OWNER, name="Cast test")


def test_add_character_with_sentences_per_line(session, media, project):
    result = add_character(
        session=session,
        owner=OWNER,
        project_id=project.id,
        name=" Ada ",
        description="A small woman with red hair.\n\n  She carries a lantern.  ",
    )
    assert result.ok
    assert result.value.name == "Ada"
    assert result.value.description == ["A small woman with red hair.", "She carries a lantern."]
    [view] = list_cast(session=session, media=media, owner=OWNER, project_id=project.id)
    assert view.character.id == result.value.id and view.photos == ()


def test_character_problems_are_per_field(session, project):
    add_character(session=session, owner=OWNER, project_id=project.id, name="Ada")
    duplicate = add_character(
        session=session, owner=OWNER, project_id=project.id, name="ADA", description=["word " * 61]
    )
    assert not duplicate.ok and duplicate.value is None
    assert "already used" in duplicate.problems["name"]
    assert "61 words" in duplicate.problems["description"]
    empty = add_character(session=session, owner=OWNER, project_id=project.id, name="  ")
    assert "name" in empty.problems
    assert len(project_to_script(session=session, owner=OWNER, project_id=project.id).cast) == 1


def test_rename_carries_into_shots_and_dialogue(session, media, lighthouse):
    project_id = lighthouse.project.id
    tom = open_project(session=session, media=media, owner=OWNER, project_id=project_id).cast[1].character
    result = edit_character(session=session, owner=OWNER, character_id=tom.id, name="Thomas")
    assert result.ok
    script = project_to_script(session=session, owner=OWNER, project_id=project_id)
    assert [c.name for c in script.cast] == ["Mara", "Thomas"]
    assert script.scenes[0].shots[1].characters == ["Thomas"]
    assert script.scenes[0].shots[1].dialogue[0].character == "Thomas"
    assert script.scenes[1].shots[0].characters == ["Mara", "Thomas"]


def test_rename_to_an_existing_name_is_refused(session, media, lighthouse):
    tom = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id).cast[1]
    result = edit_character(session=session, owner=OWNER, character_id=tom.character.id, name="mara")
    assert "already used" in result.problems["name"]


def test_remove_character_in_use_is_refused(session, media, lighthouse):
    tom = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id).cast[1]
    with pytest.raises(StudioError, match=r"Tom appears in 2 shot\(s\) \(2, 3\)"):
        remove_character(session=session, media=media, owner=OWNER, character_id=tom.character.id)


def test_remove_character_deletes_photos_once_the_undo_is_forgotten(session, media, project):
    ada = add_character(session=session, owner=OWNER, project_id=project.id, name="Ada").value
    photo = add_face_photo(
        session=session,
        media=media,
        owner=OWNER,
        character_id=ada.id,
        upload=image_bytes(24, 24),
        filename="ada.png",
    ).value
    assert media.exists(photo.media_path)
    remove_character(session=session, media=media, owner=OWNER, character_id=ada.id)
    assert session.exec(select(FacePhoto)).all() == []
    assert media_files(media) == [photo.media_path]  # kept for the undo
    forget_old_deletions(session, media, project.id, keep=0)
    assert media_files(media) == []


def test_move_character_keeps_positions_dense(session, project):
    ids = [add_character(session=session, owner=OWNER, project_id=project.id, name=n).value.id for n in "ABC"]
    ordered = move_character(session=session, owner=OWNER, character_id=ids[2], new_index=0)
    assert [c.name for c in ordered] == ["C", "A", "B"] and [c.position for c in ordered] == [0, 1, 2]
    with pytest.raises(StudioError, match="from 1 to 3"):
        move_character(session=session, owner=OWNER, character_id=ids[0], new_index=3)


def test_face_photo_is_validated_stored_and_removed(session, media, project):
    ada = add_character(session=session, owner=OWNER, project_id=project.id, name="Ada").value
    added = add_face_photo(
        session=session,
        media=media,
        owner=OWNER,
        character_id=ada.id,
        upload=image_bytes(30, 20, fmt="JPEG"),
        filename="ada.jpg",
    )
    photo = added.value
    assert photo.media_path.startswith(f"projects/{project.id}/faces/") and photo.media_path.endswith(".png")
    assert (photo.width, photo.height, photo.original_name) == (30, 20, "ada.jpg")
    with pytest.raises(StudioError, match="already one of Ada's photos"):
        add_face_photo(
            session=session,
            media=media,
            owner=OWNER,
            character_id=ada.id,
            upload=image_bytes(30, 20, fmt="JPEG"),
            filename="again.jpg",
        )
    remove_face_photo(session=session, media=media, owner=OWNER, photo_id=photo.id)
    forget_old_deletions(session, media, project.id, keep=0)
    assert media_files(media) == []


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (image_bytes(fmt="GIF"), "face.gif"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "face.svg"),
        (image_bytes(64, 64)[:-20], "face.png"),
        (image_bytes(fmt="JPEG"), "face.png"),
        (image_bytes(fmt="TIFF"), "face.tif"),
    ],
)
def test_bad_face_photo_writes_nothing(session, media, project, data, name):
    ada = add_character(session=session, owner=OWNER, project_id=project.id, name="Ada").value
    with pytest.raises(MediaError):
        add_face_photo(
            session=session, media=media, owner=OWNER, character_id=ada.id, upload=data, filename=name
        )
    assert session.exec(select(FacePhoto)).all() == []
    assert media_files(media) == []


def test_face_analysis_is_kept(session, media, project):
    ada = add_character(session=session, owner=OWNER, project_id=project.id, name="Ada").value
    photo = add_face_photo(
        session=session,
        media=media,
        owner=OWNER,
        character_id=ada.id,
        upload=image_bytes(40, 40),
        filename="ada.png",
    ).value
    embedding = np.linspace(-1, 1, 512, dtype=np.float32)
    updated = set_face_analysis(
        session=session,
        media=media,
        owner=OWNER,
        photo_id=photo.id,
        crop=Image.new("RGB", (16, 16), (5, 5, 5)),
        embedding=embedding,
        detector="haar",
    )
    assert updated.detector == "haar" and updated.embedding_dim == 512
    assert media.exists(updated.crop_path)
    session.expire_all()
    np.testing.assert_array_equal(face_embedding(session.get(FacePhoto, photo.id)), embedding)
    with pytest.raises(ValueError, match="finite"):
        set_face_analysis(
            session=session,
            media=media,
            owner=OWNER,
            photo_id=photo.id,
            crop=Image.new("RGB", (16, 16)),
            embedding=[np.nan],
            detector="haar",
        )


def test_a_shot_can_only_name_cast_members(session, media, project):
    add_character(session=session, owner=OWNER, project_id=project.id, name="Ada")
    scene = add_scene(session=session, owner=OWNER, project_id=project.id, heading="INT. HALL").value
    result = add_shot(session=session, owner=OWNER, scene_id=scene.id, plot="Bob waves.", characters=["Bob"])
    assert "not in the cast" in result.problems["characters"]
