"""Reference frames: uploads through the gate, listed, removed with their file."""

from __future__ import annotations

import pytest
from sqlmodel import select

from studio.db import ReferenceFrame
from studio.errors import MediaError, StudioError
from studio.services import add_reference_frame, create_project, list_reference_frames, remove_reference_frame
from tests.studio.factories import OWNER, image_bytes, media_files, with_png_size


@pytest.fixture
def project_id(session):
    return create_project(session=session, owner=OWNER, name="Refs").id


def test_add_list_remove(session, media, project_id):
    added = add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        upload=image_bytes(60, 40, fmt="WEBP"),
        filename="mood.webp",
        caption=" dusk ",
    )
    reference = added.value
    assert reference.caption == "dusk" and (reference.width, reference.height) == (60, 40)
    [view] = list_reference_frames(session=session, media=media, owner=OWNER, project_id=project_id)
    assert view.path == media.resolve(reference.media_path) and view.path.is_file()
    with pytest.raises(StudioError, match="already one of the project's reference frames"):
        add_reference_frame(
            session=session,
            media=media,
            owner=OWNER,
            project_id=project_id,
            upload=image_bytes(60, 40, fmt="WEBP"),
            filename="again.webp",
        )
    remove_reference_frame(session=session, media=media, owner=OWNER, reference_id=reference.id)
    assert list_reference_frames(session=session, media=media, owner=OWNER, project_id=project_id) == []
    assert media_files(media) == []


def test_same_image_in_two_projects_is_two_files(session, media, project_id):
    other = create_project(session=session, owner=OWNER, name="Other").id
    a = add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        upload=image_bytes(),
        filename="a.png",
    ).value
    b = add_reference_frame(
        session=session, media=media, owner=OWNER, project_id=other, upload=image_bytes(), filename="a.png"
    ).value
    assert a.media_path != b.media_path
    remove_reference_frame(session=session, media=media, owner=OWNER, reference_id=a.id)
    assert media.exists(b.media_path)


def test_bomb_is_refused_and_nothing_written(session, media, project_id):
    bomb = with_png_size(image_bytes(8, 8), 30_000, 30_000)
    with pytest.raises(MediaError, match="megapixels"):
        add_reference_frame(
            session=session, media=media, owner=OWNER, project_id=project_id, upload=bomb, filename="bomb.png"
        )
    assert session.exec(select(ReferenceFrame)).all() == []
    assert media_files(media) == []
