"""The export ZIP is a whole-project backup: importing it makes the same project again
(script, cast photos with their face crops and embeddings, references, every keyframe
version with its seed, parameters and tokens, locks, settings)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from studio.db import KeyframeVersion, SeedPolicy
from studio.db import cast as cast_db
from studio.db import keyframe as keyframe_db
from studio.errors import StudioError
from studio.services import (
    add_keyframe_version,
    add_reference_frame,
    export_keyframe_zip,
    import_script_source,
    list_reference_frames,
    lock_shot,
    open_project,
    project_to_script,
    set_face_analysis,
    update_project_settings,
)
from studio.services.cast import face_embedding
from tests.studio.factories import OWNER, image_bytes


def frame(color) -> np.ndarray:
    return np.broadcast_to(np.array(color, np.uint8), (32, 56, 3)).copy()  # (H, W, C)


@pytest.fixture
def made(session, media, lighthouse):
    """The lighthouse project with everything a user makes in it; (project id, zip path)."""
    project_id = lighthouse.project.id
    view = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    mara_photo = view.cast[0].photos[0].photo
    set_face_analysis(
        session=session,
        media=media,
        owner=OWNER,
        photo_id=mara_photo.id,
        crop=Image.new("RGB", (16, 16), (9, 8, 7)),
        embedding=[0.25, -0.5, 1.0],
        detector="Haar",
    )
    add_reference_frame(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        upload=image_bytes(40, 30, (1, 2, 3)),
        filename="look.png",
        caption="cold light",
    )
    first, third = view.shots[0].shot.id, view.shots[2].shot.id
    for seed, color in [(11, (200, 0, 0)), (12, (0, 200, 0))]:
        add_keyframe_version(
            session=session,
            media=media,
            owner=OWNER,
            shot_id=first,
            image=frame(color),
            seed=seed,
            params={"steps": seed},
            bundle_id="tiny-v1",
            tokens=np.full((2, 4), seed / 10, np.float32),
        )
    add_keyframe_version(
        session=session, media=media, owner=OWNER, shot_id=third, image=frame((0, 0, 200)), seed=3
    )
    lock_shot(session=session, owner=OWNER, shot_id=third)
    update_project_settings(
        session=session,
        owner=OWNER,
        project_id=project_id,
        num_inference_steps=7,
        seed_policy="fixed",
        seed=9,
    )
    render = export_keyframe_zip(session=session, media=media, owner=OWNER, project_id=project_id)
    return project_id, media.resolve(render.media_path)


def versions_of(session, view) -> list[list[tuple]]:
    rows = []
    for shot in view.shots:
        rows.append(
            [
                (v.seed, v.params, v.bundle_id, v.id == shot.shot.current_keyframe_id, v.width, v.height)
                for v in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.shot.id)
            ]
        )
    return rows


def tokens_of(session, media, view) -> list[list[list[float] | None]]:
    from studio.services import load_keyframe_tokens

    return [
        [
            None if v.tokens_path is None else load_keyframe_tokens(media, v.tokens_path).tolist()
            for v in keyframe_db.list_keyframe_versions(session=session, shot_id=shot.shot.id)
        ]
        for shot in view.shots
    ]


def test_the_backup_zip_restores_the_whole_project(session, media, made):
    project_id, path = made
    report = import_script_source(session=session, media=media, owner=OWNER, path=path)
    assert report.project.id != project_id and report.project.name == "The Lighthouse"
    before = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    after = open_project(session=session, media=media, owner=OWNER, project_id=report.project.id)
    assert project_to_script(session=session, owner=OWNER, project_id=report.project.id) == project_to_script(
        session=session, owner=OWNER, project_id=project_id
    )
    # cast photos, with the face step's crop, embedding and detector
    assert [len(c.photos) for c in after.cast] == [2, 1]
    photo = cast_db.list_face_photos(session=session, character_id=after.cast[0].character.id)[0]
    assert face_embedding(photo).tolist() == [0.25, -0.5, 1.0] and photo.detector == "Haar"
    assert Image.open(media.resolve(photo.crop_path)).getpixel((3, 3)) == (9, 8, 7)
    # references with captions
    [reference] = list_reference_frames(
        session=session, media=media, owner=OWNER, project_id=report.project.id
    )
    assert reference.reference.caption == "cold light"
    # every keyframe version with seed, parameters, bundle, current flag and tokens; locks
    assert versions_of(session, after) == versions_of(session, before)
    assert tokens_of(session, media, after) == tokens_of(session, media, before)
    assert [s.shot.locked for s in after.shots] == [False, False, True]
    current = session.get(KeyframeVersion, after.shots[0].shot.current_keyframe_id)
    assert Image.open(media.resolve(current.media_path)).getpixel((0, 0)) == (0, 200, 0)
    # settings
    settings = after.project.settings
    assert (settings.num_inference_steps, settings.seed_policy, settings.seed) == (7, SeedPolicy.FIXED, 9)


def test_the_backup_still_opens_as_a_sample_folder(session, media, made):
    _, path = made
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert {
        "script.json",
        "backup.json",
        "frames/000000.png",
        "frames/000002.png",
        "cast/01_mara_0.png",
    } <= names


def test_a_zip_without_a_manifest_restores_as_a_sample(session, media, made, tmp_path):
    _, path = made
    old = tmp_path / "old.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(old, "w") as target:
        for info in source.infolist():
            if info.filename != "backup.json" and not info.filename.startswith("backup/"):
                target.writestr(info, source.read(info))
    report = import_script_source(session=session, media=media, owner=OWNER, path=old)
    view = open_project(session=session, media=media, owner=OWNER, project_id=report.project.id)
    assert [s.keyframe is not None for s in view.shots] == [True, False, True]
    assert report.num_photos == 3


def test_unsafe_or_foreign_zips_are_refused_with_sentences(session, media, made, tmp_path):
    project_id, path = made
    with pytest.raises(StudioError, match="opens as a new project"):
        import_script_source(session=session, media=media, owner=OWNER, path=path, project_id=project_id)
    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"plain text")
    with pytest.raises(StudioError, match="not a ZIP archive"):
        import_script_source(session=session, media=media, owner=OWNER, path=not_zip)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("../escape.png", image_bytes())
        archive.writestr("notes.txt", "hello")
    with pytest.raises(StudioError, match="no script.json"):
        import_script_source(session=session, media=media, owner=OWNER, path=foreign)
    # members outside the backup layout are never read, even beside a valid backup
    sneaky = tmp_path / "sneaky.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(sneaky, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("../../outside.png", image_bytes())
    report = import_script_source(session=session, media=media, owner=OWNER, path=sneaky)
    assert report.num_shots == 3
    assert not (tmp_path.parent / "outside.png").exists()


def test_a_damaged_token_file_keeps_the_version_without_tokens(session, media, made, tmp_path):
    _, path = made
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".npy"):
                data = io.BytesIO(b"\x93NUMPY garbage").getvalue()
            target.writestr(info, data)
    report = import_script_source(session=session, media=media, owner=OWNER, path=damaged)
    assert any("cannot be read" in note for note in report.notes)
    view = open_project(session=session, media=media, owner=OWNER, project_id=report.project.id)
    assert len(keyframe_db.list_keyframe_versions(session=session, shot_id=view.shots[0].shot.id)) == 2
