"""Project use cases: create, list with thumbnails, rename, settings, duplicate, delete."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from studio.db import (
    Character,
    FacePhoto,
    Job,
    KeyframeVersion,
    Project,
    ReferenceFrame,
    Render,
    Scene,
    SeedPolicy,
    Shot,
)
from studio.errors import StudioError
from studio.services import (
    add_keyframe_version,
    add_reference_frame,
    create_project,
    delete_project,
    duplicate_project,
    export_script_json,
    list_project_page,
    list_projects,
    open_project,
    rename_project,
    update_project_details,
    update_project_settings,
)
from tests.studio.factories import OWNER, image_bytes, media_files


def keyframe(color: int) -> np.ndarray:
    return np.full((32, 56, 3), color, dtype=np.uint8)  # (H, W, C)


def test_create_and_list(session, media):
    first = create_project(session=session, owner=OWNER, name="  First  ")
    second = create_project(session=session, owner=OWNER, name="Second", logline="A test.")
    create_project(session=session, owner="someone-else", name="Theirs")
    assert first.name == "First" and first.owner == OWNER
    summaries = list_projects(session=session, media=media, owner=OWNER)
    assert [s.id for s in summaries] == [second.id, first.id]  # most recently changed first
    assert summaries[0].logline == "A test." and summaries[0].thumbnail is None


@pytest.mark.parametrize(("name", "message"), [("   ", "needs a name"), ("x" * 121, "at most 120")])
def test_bad_names(session, name, message):
    with pytest.raises(StudioError, match=message):
        create_project(session=session, owner=OWNER, name=name)


def test_rename_moves_project_to_the_top(session, media):
    first = create_project(session=session, owner=OWNER, name="First")
    create_project(session=session, owner=OWNER, name="Second")
    renamed = rename_project(session=session, owner=OWNER, project_id=first.id, name="Renamed")
    assert renamed.name == "Renamed"
    assert list_projects(session=session, media=media, owner=OWNER)[0].id == first.id


def test_thumbnail_is_the_first_keyframe_in_story_order(session, media, lighthouse):
    view = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    first, second, third = view.shots
    add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=third.shot.id, image=keyframe(30), seed=1
    )
    later = add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=second.shot.id, image=keyframe(60), seed=2
    )
    [summary] = list_projects(session=session, media=media, owner=OWNER)
    assert summary.thumbnail == media.resolve(later.media_path)
    assert (summary.num_scenes, summary.num_shots, summary.num_characters) == (2, 3, 2)


def test_settings_are_validated_per_field(session):
    project = create_project(session=session, owner=OWNER, name="P")
    result = update_project_settings(
        session=session,
        owner=OWNER,
        project_id=project.id,
        num_inference_steps=0,
        guidance_scale=7.5,
        seed_policy="sometimes",
    )
    assert not result.ok
    assert set(result.problems) == {"num_inference_steps", "seed_policy"}
    assert "1 to 1000" in result.problems["num_inference_steps"]

    result = update_project_settings(
        session=session,
        owner=OWNER,
        project_id=project.id,
        num_inference_steps=30,
        guidance_scale=7.5,
        seed_policy="fixed",
        seed=42,
        bundle_path="/models/tiny",
    )
    assert result.ok
    settings = result.value.settings
    assert (settings.num_inference_steps, settings.guidance_scale, settings.seed_policy, settings.seed) == (
        30,
        7.5,
        SeedPolicy.FIXED,
        42,
    )
    session.expire_all()
    assert session.get(Project, project.id).project_settings().bundle_path == "/models/tiny"


def test_face_guidance_is_a_checked_setting_and_older_projects_lack_it(session):
    project = create_project(session=session, owner=OWNER, name="P")
    result = update_project_settings(
        session=session, owner=OWNER, project_id=project.id, face_guidance_scale=-1
    )
    assert (
        set(result.problems) == {"face_guidance_scale"}
        and "1 = off" in result.problems["face_guidance_scale"]
    )
    assert (
        update_project_settings(
            session=session, owner=OWNER, project_id=project.id, face_guidance_scale=4.0
        ).value.settings.face_guidance_scale
        == 4.0
    )
    # a project saved before the setting existed has no such key in its JSON column
    row = session.get(Project, project.id)
    row.settings = {k: v for k, v in row.settings.items() if k != "face_guidance_scale"}
    session.add(row)
    session.commit()
    session.expire_all()
    assert session.get(Project, project.id).project_settings().face_guidance_scale is None


def test_style_is_checked_like_a_script_style(session):
    project = create_project(session=session, owner=OWNER, name="P")
    result = update_project_details(session=session, owner=OWNER, project_id=project.id, style="word " * 61)
    assert "61 words" in result.problems["style"]
    result = update_project_details(
        session=session, owner=OWNER, project_id=project.id, style="noir", logline="Two people, one storm."
    )
    assert result.ok and result.value.style == "noir"


def test_duplicate_copies_rows_and_media(session, media, lighthouse):
    source_id = lighthouse.project.id
    view = open_project(session=session, media=media, owner=OWNER, project_id=source_id)
    shot = view.shots[0].shot
    add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=shot.id, image=keyframe(10), seed=1
    )
    current = add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=shot.id, image=keyframe(20), seed=2
    )
    add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=source_id,
        upload=image_bytes(20, 20),
        filename="ref.png",
    )

    copy = duplicate_project(session=session, media=media, owner=OWNER, project_id=source_id)
    assert copy.name == "Copy of The Lighthouse" and copy.id != source_id
    copied = open_project(session=session, media=media, owner=OWNER, project_id=copy.id)
    assert [c.character.name for c in copied.cast] == ["Mara", "Tom"]
    assert [len(c.photos) for c in copied.cast] == [2, 1]
    assert [s.shot.plot for s in copied.shots] == [s.shot.plot for s in view.shots]
    copied_current = copied.shots[0].keyframe
    assert copied_current is not None and copied_current.seed == 2 and copied_current.id != current.id
    assert len(copied.references) == 1

    # Every file of the copy is its own file, inside the copy's folder, with the same content.
    copy_dir = media.project_dir(copy.id) + "/"
    paths = [p.photo.media_path for c in copied.cast for p in c.photos] + [
        copied_current.media_path,
        copied.references[0].reference.media_path,
    ]
    assert all(path.startswith(copy_dir) for path in paths)
    assert media.read_bytes(copied_current.media_path) == media.read_bytes(current.media_path)

    # Deleting the original leaves the copy whole.
    delete_project(session=session, media=media, owner=OWNER, project_id=source_id)
    assert all(media.exists(path) for path in paths)
    assert (
        open_project(session=session, media=media, owner=OWNER, project_id=copy.id).shots[0].keyframe
        is not None
    )


def test_delete_cascades_rows_and_files(session, media, lighthouse):
    project_id = lighthouse.project.id
    view = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=view.shots[0].shot.id, image=keyframe(5), seed=3
    )
    add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        upload=image_bytes(20, 20),
        filename="ref.png",
    )
    export_script_json(session=session, media=media, owner=OWNER, project_id=project_id)
    session.add(Job(project_id=project_id, kind="generate"))
    session.commit()
    other = create_project(session=session, owner=OWNER, name="Other")
    add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=other.id,
        upload=image_bytes(21, 21),
        filename="other.png",
    )
    assert any(path.startswith(f"projects/{project_id}/") for path in media_files(media))

    delete_project(session=session, media=media, owner=OWNER, project_id=project_id)

    for table in (Character, FacePhoto, Scene, Shot, KeyframeVersion, ReferenceFrame, Render, Job):
        rows = session.exec(select(table)).all()
        assert all(getattr(row, "project_id", other.id) == other.id for row in rows), table.__name__
    assert session.exec(select(Shot)).all() == [] and session.exec(select(FacePhoto)).all() == []
    assert [path.split("/")[1] for path in media_files(media)] == [str(other.id)]
    assert session.get(Project, project_id) is None


def test_the_project_list_comes_in_pages_with_the_same_summaries(session, media, lighthouse):
    from studio.services import add_keyframe_version as add_version

    view = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    add_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=view.shots[2].shot.id,
        image=np.full((8, 8, 3), 9, np.uint8),
        seed=1,
    )
    for i in range(29):
        create_project(session=session, owner=OWNER, name=f"Empty {i}")
    create_project(session=session, owner="someone else", name="Not mine")
    everything = list_projects(session=session, media=media, owner=OWNER)
    first = list_project_page(session=session, media=media, owner=OWNER, page=0, per_page=12)
    assert (first.total, first.pages, len(first.summaries)) == (30, 3, 12)
    pages = [
        list_project_page(session=session, media=media, owner=OWNER, page=n, per_page=12) for n in range(3)
    ]
    assert [s for page in pages for s in page.summaries] == everything
    last = list_project_page(session=session, media=media, owner=OWNER, page=99, per_page=12)
    assert last.page == 2 and len(last.summaries) == 6
    lighthouse_row = next(s for s in everything if s.id == lighthouse.project.id)
    assert (lighthouse_row.num_scenes, lighthouse_row.num_shots, lighthouse_row.num_characters) == (2, 3, 2)
    # the thumbnail is the first shot (story order) that has a keyframe: shot 3 here
    again = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    assert (
        again.shots[2].keyframe_path is not None and lighthouse_row.thumbnail == again.shots[2].keyframe_path
    )
    assert all(s.thumbnail is None for s in everything if s.id != lighthouse.project.id)
