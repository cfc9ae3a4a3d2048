"""Deleting a scene, a shot, a character or a face photo can be undone: the rows come back at
their places with the same files, keyframe versions (seed, tokens, current), locks and clips;
only forgotten deletions release their files."""

from __future__ import annotations

import numpy as np
import pytest

from studio.db import RenderKind
from studio.db import keyframe as keyframe_db
from studio.errors import StudioError
from studio.services import (
    CAST_KINDS,
    SCRIPT_KINDS,
    add_character,
    add_keyframe_version,
    add_render,
    delete_scene,
    delete_shot,
    last_deletion,
    list_renders,
    load_keyframe_tokens,
    open_project,
    project_to_script,
    remove_character,
    remove_face_photo,
    undo_deletion,
)
from studio.services.media_files import referenced_media, sweep_orphan_media
from studio.services.undo import forget_old_deletions
from tests.studio.factories import OWNER


def view_of(session, media, project_id):
    return open_project(session=session, media=media, owner=OWNER, project_id=project_id)


@pytest.fixture
def project_id(session, media, lighthouse, tmp_path):
    project_id = lighthouse.project.id
    view = view_of(session, media, project_id)
    first = view.shots[0].shot.id
    for seed in (4, 5):
        add_keyframe_version(
            session=session,
            media=media,
            owner=OWNER,
            shot_id=first,
            image=np.full((8, 8, 3), seed * 10, np.uint8),
            seed=seed,
            tokens=np.full((2, 3), seed, np.float32),
        )
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 fake clip")
    add_render(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        kind=RenderKind.CLIP,
        source=clip,
        shot_id=first,
    )
    return project_id


def state(session, media, project_id):
    """Everything the user sees of the project, ids left out."""
    view = view_of(session, media, project_id)
    versions = [
        [
            (v.seed, v.media_path, v.tokens_path, v.id == s.shot.current_keyframe_id)
            for v in keyframe_db.list_keyframe_versions(session=session, shot_id=s.shot.id)
        ]
        for s in view.shots
    ]
    photos = [[p.photo.media_path for p in c.photos] for c in view.cast]
    clips = [
        r.media_path for r in list_renders(session=session, owner=OWNER, project_id=project_id, kind="clip")
    ]
    return project_to_script(session=session, owner=OWNER, project_id=project_id), versions, photos, clips


def test_a_deleted_scene_comes_back_whole(session, media, project_id):
    before = state(session, media, project_id)
    scene = view_of(session, media, project_id).scenes[0]
    deleted = delete_scene(session=session, media=media, owner=OWNER, scene_id=scene.scene.id)
    assert deleted.label == "scene 1 (EXT. LIGHTHOUSE - NIGHT) and its 2 shots"
    assert len(view_of(session, media, project_id).shots) == 1
    # the files stay while the delete can be undone, even through a start-up sweep
    kept = [p for row in before[1][0] for p in row[1:3] if p] + before[3]
    sweep_orphan_media(session, media)
    assert all(media.exists(p) for p in kept)
    assert last_deletion(session=session, owner=OWNER, project_id=project_id, kinds=SCRIPT_KINDS) == deleted
    undo_deletion(session=session, owner=OWNER, deletion_id=deleted.id)
    assert state(session, media, project_id) == before
    shot = view_of(session, media, project_id).shots[0]
    np.testing.assert_array_equal(load_keyframe_tokens(media, shot.keyframe.tokens_path), np.full((2, 3), 5))
    assert last_deletion(session=session, owner=OWNER, project_id=project_id) is None
    with pytest.raises(StudioError, match="undone already"):
        undo_deletion(session=session, owner=OWNER, deletion_id=deleted.id)


def test_a_deleted_shot_returns_to_its_place(session, media, project_id):
    before = state(session, media, project_id)
    second = view_of(session, media, project_id).shots[0]
    deleted = delete_shot(session=session, media=media, owner=OWNER, shot_id=second.shot.id)
    assert deleted.label.startswith("shot 1 of scene 1 (Mara climbs")
    undo_deletion(session=session, owner=OWNER, deletion_id=deleted.id)
    assert state(session, media, project_id) == before


def test_characters_and_photos_come_back(session, media, project_id):
    ada = add_character(session=session, owner=OWNER, project_id=project_id, name="Ada").value
    before = state(session, media, project_id)
    mara = view_of(session, media, project_id).cast[0]
    photo = remove_face_photo(session=session, media=media, owner=OWNER, photo_id=mara.photos[0].photo.id)
    gone = remove_character(session=session, media=media, owner=OWNER, character_id=ada.id)
    assert (photo.label, gone.label) == ("Mara's photo 1", "Ada")
    assert last_deletion(session=session, owner=OWNER, project_id=project_id, kinds=CAST_KINDS) == gone
    undo_deletion(session=session, owner=OWNER, deletion_id=gone.id)
    undo_deletion(session=session, owner=OWNER, deletion_id=photo.id)
    assert state(session, media, project_id) == before


def test_forgotten_deletions_release_their_files(session, media, project_id):
    shot = view_of(session, media, project_id).shots[0]
    paths = [v.media_path for v in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.shot.id)]
    delete_shot(session=session, media=media, owner=OWNER, shot_id=shot.shot.id)
    assert set(paths) <= referenced_media(session)
    forget_old_deletions(session, media, project_id, keep=0)
    assert not any(media.exists(p) for p in paths)
    assert last_deletion(session=session, owner=OWNER, project_id=project_id) is None


def test_undo_into_a_changed_project_says_what_to_do(session, media, project_id):
    ada = add_character(session=session, owner=OWNER, project_id=project_id, name="Ada").value
    gone = remove_character(session=session, media=media, owner=OWNER, character_id=ada.id)
    add_character(session=session, owner=OWNER, project_id=project_id, name="ada")
    with pytest.raises(StudioError, match="has a character called Ada again"):
        undo_deletion(session=session, owner=OWNER, deletion_id=gone.id)
