"""Script editing: per-field problems from core.script, dense positions, locks."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from studio.db import KeyframeVersion, Scene, Shot
from studio.errors import StudioError
from studio.services import (
    add_character,
    add_keyframe_version,
    add_scene,
    add_shot,
    delete_scene,
    delete_shot,
    edit_scene,
    edit_shot,
    lock_shot,
    move_scene,
    move_shot,
    new_project_from_script,
    open_project,
    project_to_script,
    unlock_shot,
    validate_project,
)
from studio.services.undo import forget_old_deletions
from tests.studio.factories import OWNER, media_files


def positions(session, project_id):
    """[(scene position, [shot positions])] straight from the rows."""
    scenes = session.exec(select(Scene).where(Scene.project_id == project_id).order_by(Scene.position)).all()
    return [
        (
            scene.position,
            [
                shot.position
                for shot in session.exec(
                    select(Shot).where(Shot.scene_id == scene.id).order_by(Shot.position)
                ).all()
            ],
        )
        for scene in scenes
    ]


def plots(session, media, project_id):
    view = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    return [[shot.shot.plot for shot in scene.shots] for scene in view.scenes]


def assert_dense(session, project_id):
    layout = positions(session, project_id)
    assert [p for p, _ in layout] == list(range(len(layout)))
    for _, shots in layout:
        assert shots == list(range(len(shots)))


@pytest.fixture
def project_id(lighthouse):
    return lighthouse.project.id


@pytest.fixture
def view(session, media, project_id):
    return open_project(session=session, media=media, owner=OWNER, project_id=project_id)


def test_add_shot_normalises_and_inserts(session, media, project_id, view):
    scene_id = view.scenes[0].scene.id
    result = add_shot(
        session=session,
        owner=OWNER,
        scene_id=scene_id,
        plot="  Lightning hits the tower.  ",
        index=1,
        size="extreme-wide",
        duration="2.5",
        dialogue=[["Mara", "Look!", ""], ["", "", ""]],
    )
    assert result.ok
    shot = result.value
    assert shot.plot == "Lightning hits the tower." and shot.duration == 2.5 and shot.position == 1
    assert shot.dialogue == [{"character": "Mara", "text": "Look!", "parenthetical": ""}]
    assert plots(session, media, project_id)[0] == [
        "Mara climbs the spiral stairs.",
        "Lightning hits the tower.",
        "Tom knocks at the door.",
    ]
    assert_dense(session, project_id)


def test_shot_problems_are_per_field(session, view):
    scene_id = view.scenes[0].scene.id
    result = add_shot(
        session=session,
        owner=OWNER,
        scene_id=scene_id,
        plot="   ",
        size="huge",
        duration=0,
        characters=["Mara", "Nobody"],
        dialogue=[{"character": "Mara", "text": ""}],
    )
    assert not result.ok
    assert set(result.problems) == {"plot", "size", "duration", "characters", "dialogue"}
    assert "plot is empty" in result.problems["plot"]
    assert "not a known shot size" in result.problems["size"] and "close-up" in result.problems["size"]
    assert "more than 0 seconds" in result.problems["duration"]
    assert "'Nobody' is not in the cast" in result.problems["characters"]
    assert "line is empty" in result.problems["dialogue"]
    assert session.exec(select(Shot).where(Shot.scene_id == scene_id)).all().__len__() == 2


def test_too_many_characters(session, media, project_id, view):
    for name in ["A", "B", "C", "D"]:
        add_character(session=session, owner=OWNER, project_id=project_id, name=name)
    result = edit_shot(
        session=session,
        owner=OWNER,
        shot_id=view.shots[0].shot.id,
        characters=["Mara", "Tom", "A", "B", "C", "D"],
    )
    assert "at most 5" in result.problems["characters"]


def test_edit_shot_keeps_unspecified_fields(session, view):
    shot = view.shots[1].shot
    result = edit_shot(session=session, owner=OWNER, shot_id=shot.id, plot="Tom bangs on the door.")
    assert result.ok
    assert result.value.plot == "Tom bangs on the door."
    assert (result.value.duration, result.value.notes, result.value.characters) == (
        2.5,
        "rain on lens",
        ["Tom"],
    )
    bad = edit_shot(session=session, owner=OWNER, shot_id=shot.id, duration=120)
    assert "at most 60 s" in bad.problems["duration"]
    session.expire_all()
    assert session.get(Shot, shot.id).duration == 2.5


def test_scene_edits(session, media, project_id, view):
    scene = view.scenes[1].scene
    result = edit_scene(
        session=session,
        owner=OWNER,
        scene_id=scene.id,
        time_of_day="midnight",
        elements="A brass lamp turns.\n",
    )
    assert "not a known time of day" in result.problems["time_of_day"]
    result = edit_scene(
        session=session,
        owner=OWNER,
        scene_id=scene.id,
        time_of_day="dawn",
        elements="A brass lamp turns.\n",
        style="",
    )
    assert result.ok
    assert (result.value.time_of_day, result.value.elements, result.value.style) == (
        "dawn",
        ["A brass lamp turns."],
        None,
    )
    added = add_scene(session=session, owner=OWNER, project_id=project_id, heading="", index=0)
    assert "heading" in added.problems
    added = add_scene(
        session=session,
        owner=OWNER,
        project_id=project_id,
        heading="EXT. CLIFF - DAWN",
        time_of_day="dawn",
        index=0,
    )
    assert added.ok and added.value.position == 0
    assert_dense(session, project_id)


def test_reorder_scenes_and_shots_keeps_positions_dense(session, media, project_id, view):
    first, second = (s.scene.id for s in view.scenes)
    moved = move_scene(session=session, owner=OWNER, scene_id=first, new_index=1)
    assert [s.id for s in moved] == [second, first]
    assert_dense(session, project_id)

    climb, knock = (s.shot.id for s in view.scenes[0].shots)
    move_shot(session=session, owner=OWNER, shot_id=knock, new_index=0)
    assert plots(session, media, project_id)[1] == [
        "Tom knocks at the door.",
        "Mara climbs the spiral stairs.",
    ]

    # Across scenes: the knock goes to the end of the lamp-room scene.
    target = move_shot(session=session, owner=OWNER, shot_id=knock, new_index=1, scene_id=second)
    assert [s.plot for s in target] == ["Mara and Tom look at the sea.", "Tom knocks at the door."]
    assert plots(session, media, project_id) == [
        ["Mara and Tom look at the sea.", "Tom knocks at the door."],
        ["Mara climbs the spiral stairs."],
    ]
    assert_dense(session, project_id)

    with pytest.raises(StudioError, match="from 1 to 2"):
        move_scene(session=session, owner=OWNER, scene_id=first, new_index=5)


def test_shots_move_only_within_their_project(session, media, view, sample_script):
    other = new_project_from_script(session=session, media=media, owner=OWNER, script=sample_script)
    other_scene = open_project(session=session, media=media, owner=OWNER, project_id=other.project.id).scenes[
        0
    ]
    with pytest.raises(StudioError, match="another project"):
        move_shot(
            session=session,
            owner=OWNER,
            shot_id=view.shots[0].shot.id,
            new_index=0,
            scene_id=other_scene.scene.id,
        )


def test_delete_middle_shot_and_scene(session, media, project_id, view):
    add_shot(session=session, owner=OWNER, scene_id=view.scenes[0].scene.id, plot="The lamp flickers.")
    version = add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=view.shots[1].shot.id,
        image=np.zeros((8, 8, 3), np.uint8),
        seed=1,
    )
    delete_shot(session=session, media=media, owner=OWNER, shot_id=view.shots[1].shot.id)
    assert plots(session, media, project_id)[0] == ["Mara climbs the spiral stairs.", "The lamp flickers."]
    # the row is gone; its file stays while the delete can be undone (studio.services.undo)
    assert session.get(KeyframeVersion, version.id) is None and media.exists(version.media_path)
    assert_dense(session, project_id)

    delete_scene(session=session, media=media, owner=OWNER, scene_id=view.scenes[0].scene.id)
    assert plots(session, media, project_id) == [["Mara and Tom look at the sea."]]
    assert_dense(session, project_id)
    forget_old_deletions(session, media, project_id, keep=0)
    assert [p for p in media_files(media) if "/keyframes/" in p] == []


def test_locked_shots_protect_their_scene(session, media, view):
    shot = view.shots[0].shot
    with pytest.raises(StudioError, match="no keyframe yet"):
        lock_shot(session=session, owner=OWNER, shot_id=shot.id)
    add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot.id,
        image=np.zeros((8, 8, 3), np.uint8),
        seed=1,
    )
    lock_shot(session=session, owner=OWNER, shot_id=shot.id)
    with pytest.raises(StudioError, match="locked"):
        delete_shot(session=session, media=media, owner=OWNER, shot_id=shot.id)
    with pytest.raises(StudioError, match=r"locked shots \(1\)"):
        delete_scene(session=session, media=media, owner=OWNER, scene_id=view.scenes[0].scene.id)
    unlock_shot(session=session, owner=OWNER, shot_id=shot.id)
    delete_shot(session=session, media=media, owner=OWNER, shot_id=shot.id)


def test_validate_project_and_export_agree(session, project_id):
    assert validate_project(session=session, owner=OWNER, project_id=project_id) == []
    # A row written around the services (e.g. by an old version) is reported, not hidden.
    shot = session.exec(select(Shot)).first()
    shot.plot = ""
    session.commit()
    problems = validate_project(session=session, owner=OWNER, project_id=project_id)
    assert problems == [
        "scene 1, shot 1, plot: the plot is empty; write one sentence saying what happens in this shot"
    ]
    with pytest.raises(StudioError) as caught:
        project_to_script(session=session, owner=OWNER, project_id=project_id)
    assert caught.value.problems == problems


def test_forms_loaded_before_another_save_are_refused(session, media, view, project_id):
    from studio.services import edit_character, edit_scene, update_project_details
    from studio.services import stale_forms as stale

    shot, scene = view.shots[0].shot, view.scenes[0].scene
    character, project = view.cast[0].character, view.project
    loaded = {
        "shot": stale.shot_fingerprint(shot),
        "scene": stale.scene_fingerprint(scene),
        "character": stale.character_fingerprint(character),
        "details": stale.details_fingerprint(project),
    }
    # the first tab saves with what it loaded: fine
    assert edit_shot(session=session, owner=OWNER, shot_id=shot.id, duration=6.0, expected=loaded["shot"]).ok
    assert edit_scene(
        session=session,
        owner=OWNER,
        scene_id=scene.id,
        heading="EXT. CLIFF - NIGHT",
        expected=loaded["scene"],
    ).ok
    assert edit_character(
        session=session,
        owner=OWNER,
        character_id=character.id,
        description="Tall.",
        expected=loaded["character"],
    ).ok
    assert update_project_details(
        session=session, owner=OWNER, project_id=project_id, logline="New.", expected=loaded["details"]
    ).ok
    # the second tab, still showing the old values, is refused and changes nothing
    results = [
        edit_shot(session=session, owner=OWNER, shot_id=shot.id, plot="Other.", expected=loaded["shot"]),
        edit_scene(
            session=session, owner=OWNER, scene_id=scene.id, heading="INT. X", expected=loaded["scene"]
        ),
        edit_character(
            session=session,
            owner=OWNER,
            character_id=character.id,
            name="Maria",
            expected=loaded["character"],
        ),
        update_project_details(
            session=session, owner=OWNER, project_id=project_id, style="noir", expected=loaded["details"]
        ),
    ]
    for result, what in zip(results, ["shot", "scene", "character", "logline and style"], strict=True):
        assert not result.ok
        assert result.problems[""].startswith(
            f"This {what} was changed in another tab or window after you opened it"
        )
    after = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    assert (after.shots[0].shot.plot, after.shots[0].shot.duration) == (shot.plot, 6.0)
    assert after.scenes[0].scene.heading == "EXT. CLIFF - NIGHT" and after.cast[0].character.name == "Mara"
    assert (after.project.logline, after.project.style) == ("New.", project.style)


def test_shots_move_one_place_in_story_order_across_scenes(session, media, view, project_id):
    from studio.services import move_shot_in_story

    first, second, third = (s.shot.id for s in view.shots)
    move_shot_in_story(session=session, owner=OWNER, shot_id=first, step=+1)
    assert plots(session, media, project_id) == [
        ["Tom knocks at the door.", "Mara climbs the spiral stairs."],
        ["Mara and Tom look at the sea."],
    ]
    move_shot_in_story(session=session, owner=OWNER, shot_id=first, step=+1)  # into the next scene, first
    assert plots(session, media, project_id) == [
        ["Tom knocks at the door."],
        ["Mara climbs the spiral stairs.", "Mara and Tom look at the sea."],
    ]
    move_shot_in_story(session=session, owner=OWNER, shot_id=first, step=-1)  # back, to the end of scene 1
    assert plots(session, media, project_id)[0] == [
        "Tom knocks at the door.",
        "Mara climbs the spiral stairs.",
    ]
    assert_dense(session, project_id)
    with pytest.raises(StudioError, match="first shot of the storyboard, so it cannot move earlier"):
        move_shot_in_story(session=session, owner=OWNER, shot_id=second, step=-1)
    with pytest.raises(StudioError, match="last shot of the storyboard, so it cannot move later"):
        move_shot_in_story(session=session, owner=OWNER, shot_id=third, step=+1)
