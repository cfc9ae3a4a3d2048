"""Every service that touches a project refuses another user, and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from studio import services
from studio.errors import NotFoundError, OwnershipError
from studio.jobs import JobRunner, get_job, list_project_jobs
from tests.studio.factories import OTHER, OWNER, image_bytes, media_files


@pytest.fixture
def ids(session, media, lighthouse):
    project_id = lighthouse.project.id
    view = services.open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    shot = view.shots[0].shot
    version = services.add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=shot.id,
        image=np.zeros((8, 8, 3), np.uint8),
        seed=0,
    )
    reference = services.add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        upload=image_bytes(),
        filename="r.png",
    ).value
    render = services.export_script_json(session=session, media=media, owner=OWNER, project_id=project_id)
    return {
        "project_id": project_id,
        "scene_id": view.scenes[0].scene.id,
        "shot_id": shot.id,
        "character_id": view.cast[0].character.id,
        "photo_id": view.cast[0].photos[0].photo.id,
        "keyframe_id": version.id,
        "reference_id": reference.id,
        "render_id": render.id,
    }


CALLS = {
    "get_project": lambda s, m, i: services.get_project(session=s, owner=OTHER, project_id=i["project_id"]),
    "open_project": lambda s, m, i: services.open_project(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "rename_project": lambda s, m, i: services.rename_project(
        session=s, owner=OTHER, project_id=i["project_id"], name="Mine now"
    ),
    "update_project_settings": lambda s, m, i: services.update_project_settings(
        session=s, owner=OTHER, project_id=i["project_id"], seed=3
    ),
    "duplicate_project": lambda s, m, i: services.duplicate_project(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "delete_project": lambda s, m, i: services.delete_project(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "import_script": lambda s, m, i: services.import_script_source(
        session=s,
        media=m,
        owner=OTHER,
        text='{"title": "X"}',
        fmt="json",
        project_id=i["project_id"],
        replace=True,
    ),
    "project_to_script": lambda s, m, i: services.project_to_script(
        session=s, owner=OTHER, project_id=i["project_id"]
    ),
    "validate_project": lambda s, m, i: services.validate_project(
        session=s, owner=OTHER, project_id=i["project_id"]
    ),
    "list_cast": lambda s, m, i: services.list_cast(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "add_character": lambda s, m, i: services.add_character(
        session=s, owner=OTHER, project_id=i["project_id"], name="Eve"
    ),
    "edit_character": lambda s, m, i: services.edit_character(
        session=s, owner=OTHER, character_id=i["character_id"], name="Eve"
    ),
    "move_character": lambda s, m, i: services.move_character(
        session=s, owner=OTHER, character_id=i["character_id"], new_index=1
    ),
    "remove_character": lambda s, m, i: services.remove_character(
        session=s, media=m, owner=OTHER, character_id=i["character_id"]
    ),
    "add_face_photo": lambda s, m, i: services.add_face_photo(
        session=s,
        media=m,
        owner=OTHER,
        character_id=i["character_id"],
        upload=image_bytes(9, 9),
        filename="f.png",
    ),
    "remove_face_photo": lambda s, m, i: services.remove_face_photo(
        session=s, media=m, owner=OTHER, photo_id=i["photo_id"]
    ),
    "add_scene": lambda s, m, i: services.add_scene(
        session=s, owner=OTHER, project_id=i["project_id"], heading="INT. X"
    ),
    "edit_scene": lambda s, m, i: services.edit_scene(
        session=s, owner=OTHER, scene_id=i["scene_id"], heading="INT. Y"
    ),
    "move_scene": lambda s, m, i: services.move_scene(
        session=s, owner=OTHER, scene_id=i["scene_id"], new_index=1
    ),
    "delete_scene": lambda s, m, i: services.delete_scene(
        session=s, media=m, owner=OTHER, scene_id=i["scene_id"]
    ),
    "add_shot": lambda s, m, i: services.add_shot(
        session=s, owner=OTHER, scene_id=i["scene_id"], plot="A shot."
    ),
    "edit_shot": lambda s, m, i: services.edit_shot(
        session=s, owner=OTHER, shot_id=i["shot_id"], plot="Mine."
    ),
    "move_shot": lambda s, m, i: services.move_shot(
        session=s, owner=OTHER, shot_id=i["shot_id"], new_index=1
    ),
    "delete_shot": lambda s, m, i: services.delete_shot(
        session=s, media=m, owner=OTHER, shot_id=i["shot_id"]
    ),
    "add_reference_frame": lambda s, m, i: services.add_reference_frame(
        session=s,
        media=m,
        owner=OTHER,
        project_id=i["project_id"],
        upload=image_bytes(7, 7),
        filename="r.png",
    ),
    "list_reference_frames": lambda s, m, i: services.list_reference_frames(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "remove_reference_frame": lambda s, m, i: services.remove_reference_frame(
        session=s, media=m, owner=OTHER, reference_id=i["reference_id"]
    ),
    "add_keyframe_version": lambda s, m, i: services.add_keyframe_version(
        session=s, media=m, owner=OTHER, shot_id=i["shot_id"], image=np.ones((8, 8, 3), np.uint8), seed=1
    ),
    "list_keyframe_versions": lambda s, m, i: services.list_keyframe_versions(
        session=s, media=m, owner=OTHER, shot_id=i["shot_id"]
    ),
    "restore_keyframe_version": lambda s, m, i: services.restore_keyframe_version(
        session=s, owner=OTHER, keyframe_id=i["keyframe_id"]
    ),
    "lock_shot": lambda s, m, i: services.lock_shot(session=s, owner=OTHER, shot_id=i["shot_id"]),
    "export_pdf": lambda s, m, i: services.export_storyboard_pdf(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "export_zip": lambda s, m, i: services.export_keyframe_zip(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "export_json": lambda s, m, i: services.export_script_json(
        session=s, media=m, owner=OTHER, project_id=i["project_id"]
    ),
    "list_renders": lambda s, m, i: services.list_renders(session=s, owner=OTHER, project_id=i["project_id"]),
    "delete_render": lambda s, m, i: services.delete_render(
        session=s, media=m, owner=OTHER, render_id=i["render_id"]
    ),
    "list_jobs": lambda s, m, i: list_project_jobs(session=s, owner=OTHER, project_id=i["project_id"]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_other_users_are_refused(session, media, ids, name):
    before_files = media_files(media)
    before = services.open_project(session=session, media=media, owner=OWNER, project_id=ids["project_id"])
    with pytest.raises(OwnershipError) as caught:
        CALLS[name](session, media, ids)
    assert str(caught.value) == "This project belongs to another user."
    assert isinstance(caught.value, PermissionError)
    session.expire_all()
    after = services.open_project(session=session, media=media, owner=OWNER, project_id=ids["project_id"])
    assert after == before
    assert media_files(media) == before_files


def test_jobs_of_other_users_are_refused(engine, session, ids):
    runner = JobRunner(engine)
    job = runner.submit(session=session, owner=OWNER, project_id=ids["project_id"], kind="generate")
    with pytest.raises(OwnershipError):
        runner.submit(session=session, owner=OTHER, project_id=ids["project_id"], kind="generate")
    with pytest.raises(OwnershipError):
        runner.cancel(session=session, owner=OTHER, job_id=job.id)
    with pytest.raises(OwnershipError):
        get_job(session=session, owner=OTHER, job_id=job.id)
    assert get_job(session=session, owner=OWNER, job_id=job.id).cancel_requested is False


def test_missing_rows_are_a_sentence(session, media):
    with pytest.raises(NotFoundError, match="Project 999 does not exist"):
        services.open_project(session=session, media=media, owner=OWNER, project_id=999)
    with pytest.raises(NotFoundError, match="Shot 5 does not exist"):
        services.edit_shot(session=session, owner=OWNER, shot_id=5, plot="x")


def test_other_users_do_not_see_the_project(session, media, ids):
    assert services.list_projects(session=session, media=media, owner=OTHER) == []
