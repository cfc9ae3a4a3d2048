"""Keyframe versions: seeds and parameters kept, restore, locks, seed policies."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from core.generate import shot_seed
from studio.db import ProjectSettings, SeedPolicy
from studio.errors import StudioError
from studio.services import (
    add_keyframe_version,
    choose_seed,
    list_keyframe_versions,
    lock_shot,
    open_project,
    restore_keyframe_version,
    unlock_shot,
)
from tests.studio.factories import OWNER


@pytest.fixture
def shot_id(session, media, lighthouse):
    return (
        open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
        .shots[0]
        .shot.id
    )


def test_versions_keep_seed_params_and_pixels(session, media, shot_id):
    first = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.full((16, 28, 3), 50, np.uint8),
        seed=7,
        params={"num_inference_steps": 20, "guidance_scale": 3.0},
        bundle_id="tiny-v1",
    )
    second = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=Image.new("RGB", (28, 16), (90, 90, 90)),
        seed=8,
    )
    versions = list_keyframe_versions(session=session, media=media, owner=OWNER, shot_id=shot_id)
    assert [(v.number, v.version.seed, v.is_current) for v in versions] == [(1, 7, False), (2, 8, True)]
    assert versions[0].version.params == {"num_inference_steps": 20, "guidance_scale": 3.0}
    assert versions[0].version.bundle_id == "tiny-v1"
    assert (first.width, first.height) == (28, 16)
    assert Image.open(versions[0].path).getpixel((0, 0)) == (50, 50, 50)
    assert versions[1].path == media.resolve(second.media_path)


def test_restore_an_older_version(session, media, lighthouse, shot_id):
    first = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.zeros((8, 8, 3), np.uint8),
        seed=1,
    )
    add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=shot_id, image=np.ones((8, 8, 3), np.uint8), seed=2
    )
    shot = restore_keyframe_version(session=session, owner=OWNER, keyframe_id=first.id)
    assert shot.current_keyframe_id == first.id
    view = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    assert view.shots[0].keyframe.seed == 1


def test_locked_shot_keeps_its_keyframe(session, media, shot_id):
    first = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.zeros((8, 8, 3), np.uint8),
        seed=1,
    )
    second = add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=shot_id, image=np.ones((8, 8, 3), np.uint8), seed=2
    )
    assert lock_shot(session=session, owner=OWNER, shot_id=shot_id).locked
    with pytest.raises(StudioError, match="locked"):
        add_keyframe_version(
            session=session,
            media=media,
            owner=OWNER,
            shot_id=shot_id,
            image=np.zeros((8, 8, 3), np.uint8),
            seed=3,
        )
    with pytest.raises(StudioError, match="locked"):
        restore_keyframe_version(session=session, owner=OWNER, keyframe_id=first.id)
    versions = list_keyframe_versions(session=session, media=media, owner=OWNER, shot_id=shot_id)
    assert len(versions) == 2 and versions[1].version.id == second.id and versions[1].is_current
    assert not unlock_shot(session=session, owner=OWNER, shot_id=shot_id).locked
    assert (
        restore_keyframe_version(session=session, owner=OWNER, keyframe_id=first.id).current_keyframe_id
        == first.id
    )


def test_an_identical_image_adds_no_copy_and_becomes_current_again(session, media, shot_id):
    first = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.full((8, 8, 3), 40, np.uint8),
        seed=5,
    )
    add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.full((8, 8, 3), 90, np.uint8),
        seed=6,
    )
    again = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot_id,
        image=np.full((8, 8, 3), 40, np.uint8),
        seed=5,
    )
    assert again.id == first.id
    versions = list_keyframe_versions(session=session, media=media, owner=OWNER, shot_id=shot_id)
    assert [(v.version.seed, v.is_current) for v in versions] == [(5, True), (6, False)]


def test_bad_arrays_are_refused(session, media, shot_id):
    with pytest.raises(ValueError, match="uint8"):
        add_keyframe_version(
            session=session,
            media=media,
            owner=OWNER,
            shot_id=shot_id,
            image=np.zeros((8, 8, 3), np.float32),
            seed=1,
        )


def test_seed_policies():
    assert choose_seed(ProjectSettings(seed_policy=SeedPolicy.FIXED, seed=5), 3) == 5
    # shot 3 is frame index 2: seed + 2, as `python -m core.generate --seed 5` numbers it
    assert choose_seed(ProjectSettings(seed_policy=SeedPolicy.PER_SHOT, seed=5), 3) == 7 == shot_seed(5, 2)
    assert choose_seed(ProjectSettings(seed_policy=SeedPolicy.PER_SHOT, seed=0), 1) == 0
    drawn = [
        choose_seed(ProjectSettings(seed_policy=SeedPolicy.RANDOM), 1, random.Random(0)) for _ in range(2)
    ]
    again = choose_seed(ProjectSettings(seed_policy=SeedPolicy.RANDOM), 1, random.Random(0))
    assert drawn[0] == again and 0 <= drawn[0] < 2**63
