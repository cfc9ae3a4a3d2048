"""The cast library: a character saved once (description, photos, face crops and embeddings)
is added to any project of the same user; projects and library keep their own files."""

from __future__ import annotations

import pytest
from PIL import Image

from studio.db import cast as cast_db
from studio.errors import OwnershipError, StudioError
from studio.services import (
    add_from_library,
    create_project,
    list_cast_library,
    open_project,
    remove_from_library,
    save_to_library,
    set_face_analysis,
)
from studio.services.cast import face_embedding
from studio.services.media_files import sweep_orphan_media
from studio.services.undo import forget_old_deletions
from tests.studio.factories import OTHER, OWNER


@pytest.fixture
def mara(session, media, lighthouse):
    view = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    mara = view.cast[0]
    set_face_analysis(
        session=session,
        media=media,
        owner=OWNER,
        photo_id=mara.photos[0].photo.id,
        crop=Image.new("RGB", (12, 12), (5, 6, 7)),
        embedding=[1.0, 0.0, -1.0],
        detector="Haar",
    )
    return mara


def test_a_saved_character_is_added_to_another_project_with_photos_and_face_step(session, media, mara):
    entry = save_to_library(session=session, media=media, owner=OWNER, character_id=mara.character.id)
    assert (entry.name, entry.description, len(entry.photos)) == (
        "Mara",
        tuple(mara.character.description),
        2,
    )
    other = create_project(session=session, owner=OWNER, name="Sequel")
    added = add_from_library(
        session=session, media=media, owner=OWNER, entry_id=entry.id, project_id=other.id
    )
    view = open_project(session=session, media=media, owner=OWNER, project_id=other.id)
    [character] = view.cast
    assert (character.character.name, character.character.description) == ("Mara", mara.character.description)
    photos = cast_db.list_face_photos(session=session, character_id=added.id)
    assert (
        len(photos) == 2
        and face_embedding(photos[0]).tolist() == [1.0, 0.0, -1.0]
        and photos[0].detector == "Haar"
    )
    assert photos[0].media_path.startswith(f"projects/{other.id}/faces/")
    # adding it twice to one project is refused: the name is taken
    with pytest.raises(StudioError, match="could not be added to Sequel: .*already used"):
        add_from_library(session=session, media=media, owner=OWNER, entry_id=entry.id, project_id=other.id)


def test_library_and_projects_keep_their_own_files(session, media, mara, lighthouse):
    from studio.services import delete_project

    entry = save_to_library(session=session, media=media, owner=OWNER, character_id=mara.character.id)
    delete_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    sweep_orphan_media(session, media)
    [kept] = list_cast_library(session=session, media=media, owner=OWNER)
    assert all(path.is_file() for path in kept.photos)
    other = create_project(session=session, owner=OWNER, name="Later")
    added = add_from_library(
        session=session, media=media, owner=OWNER, entry_id=entry.id, project_id=other.id
    )
    assert remove_from_library(session=session, media=media, owner=OWNER, entry_id=entry.id) == "Mara"
    assert list_cast_library(session=session, media=media, owner=OWNER) == []
    photos = cast_db.list_face_photos(session=session, character_id=added.id)
    assert all(media.exists(p.media_path) for p in photos)


def test_saving_again_replaces_the_entry_and_others_cannot_use_it(session, media, mara, lighthouse):
    from studio.services import edit_character, remove_face_photo

    first = save_to_library(session=session, media=media, owner=OWNER, character_id=mara.character.id)
    edit_character(session=session, owner=OWNER, character_id=mara.character.id, description="Older now.")
    remove_face_photo(session=session, media=media, owner=OWNER, photo_id=mara.photos[1].photo.id)
    forget_old_deletions(session, media, lighthouse.project.id, keep=0)
    again = save_to_library(session=session, media=media, owner=OWNER, character_id=mara.character.id)
    assert again.id == first.id and again.description == ("Older now.",) and len(again.photos) == 1
    assert len(list_cast_library(session=session, media=media, owner=OWNER)) == 1
    theirs = create_project(session=session, owner=OTHER, name="Theirs")
    with pytest.raises(OwnershipError):
        add_from_library(session=session, media=media, owner=OTHER, entry_id=first.id, project_id=theirs.id)
    assert list_cast_library(session=session, media=media, owner=OTHER) == []
