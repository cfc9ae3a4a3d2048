"""Exports: storyboard PDF, ZIP of keyframes (+ script and cast), script JSON; all kept as renders."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image

from core.script.io import script_from_json
from studio.db import RenderKind
from studio.errors import StudioError
from studio.services import (
    add_keyframe_version,
    add_render,
    add_scene,
    add_shot,
    build_storyboard_pdf,
    create_project,
    delete_render,
    edit_scene,
    edit_shot,
    export_filename,
    export_keyframe_zip,
    export_script_json,
    export_storyboard_pdf,
    list_renders,
    list_samples,
    open_project,
    open_sample,
    project_to_script,
    rename_project,
    render_download,
)
from studio.services.storyboard_pdf import find_unicode_font
from tests.studio.factories import OWNER


def page_count(pdf: bytes) -> int:
    """The page count of the PDF's page tree (fpdf2 writes one /Pages node)."""
    [count] = re.findall(rb"/Count (\d+)", pdf)
    return int(count)


def frame(color: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(color, np.uint8), (128, 224, 3)).copy()  # (H, W, C)


@pytest.fixture
def project_id(session, media, lighthouse):
    view = open_project(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=view.shots[0].shot.id,
        image=frame((200, 30, 30)),
        seed=11,
        params={"steps": 20},
    )
    add_keyframe_version(
        session=session,
        media=media,
        owner=OWNER,
        shot_id=view.shots[2].shot.id,
        image=frame((30, 30, 200)),
        seed=12,
    )
    return lighthouse.project.id


def test_script_json_export_revalidates(session, media, project_id):
    render = export_script_json(session=session, media=media, owner=OWNER, project_id=project_id)
    assert render.kind == RenderKind.JSON and render.media_path.endswith(".json")
    script = script_from_json(media.read_bytes(render.media_path))
    assert script == project_to_script(session=session, owner=OWNER, project_id=project_id)
    assert render.size_bytes == len(media.read_bytes(render.media_path))


def test_zip_export_holds_frames_cast_and_script(session, media, project_id):
    render = export_keyframe_zip(session=session, media=media, owner=OWNER, project_id=project_id)
    assert render.params == {"frames": 2}
    with zipfile.ZipFile(io.BytesIO(media.read_bytes(render.media_path))) as archive:
        assert archive.testzip() is None
        names = sorted(
            n for n in archive.namelist() if not n.startswith("backup")
        )  # the backup: test_backup.py
        assert names == [
            "cast/01_mara_0.png",
            "cast/01_mara_1.png",
            "cast/02_tom_0.png",
            "frames/000000.png",
            "frames/000002.png",
            "script.json",
        ]
        first = Image.open(io.BytesIO(archive.read("frames/000000.png")))
        assert first.size == (224, 128) and first.getpixel((5, 5)) == (200, 30, 30)
        script = script_from_json(archive.read("script.json"))
    # The names in script.json are the files in the archive.
    assert sorted(p for c in script.cast for p in c.photos) == names[:3]


def test_exported_zip_opens_as_a_sample(session, media, project_id, tmp_path):
    render = export_keyframe_zip(session=session, media=media, owner=OWNER, project_id=project_id)
    folder = tmp_path / "unpacked" / "again"
    with zipfile.ZipFile(media.resolve(render.media_path)) as archive:
        archive.extractall(folder)
    [sample] = list_samples(folder.parent)
    report = open_sample(
        session=session, media=media, owner=OWNER, name=sample.name, samples_dir=folder.parent
    )
    view = open_project(session=session, media=media, owner=OWNER, project_id=report.project.id)
    assert [s.keyframe is not None for s in view.shots] == [True, False, True]
    assert report.num_photos == 3 and report.notes == ()


def test_a_project_without_keyframes_still_has_a_backup_zip(session, media, lighthouse):
    render = export_keyframe_zip(session=session, media=media, owner=OWNER, project_id=lighthouse.project.id)
    assert render.params == {"frames": 0}
    with zipfile.ZipFile(media.resolve(render.media_path)) as archive:
        assert {"script.json", "backup.json"} <= set(archive.namelist())


def test_pdf_export(session, media, project_id):
    view = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    # Unicode and a long plot must neither crash nor overflow.
    edit_shot(
        session=session,
        owner=OWNER,
        shot_id=view.shots[1].shot.id,
        plot="Tom knocks — «quiet» — at the door of Ærø's lighthouse " + "again and again " * 8 + "now.",
    )
    render = export_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project_id)
    data = media.read_bytes(render.media_path)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert render.params == {"panels": 3} and render.kind == RenderKind.PDF
    assert page_count(data) == 1
    # The two keyframes are embedded as images.
    assert data.count(b"/Subtype /Image") == 2


def test_pdf_panels_keep_the_whole_camera_line_and_the_notes(session, media, project_id, monkeypatch):
    from fpdf import FPDF

    written: list[str] = []
    cell = FPDF.cell

    def recording_cell(self, w=None, h=None, text="", *args, **kwargs):
        written.append(text)
        return cell(self, w, h, text, *args, **kwargs)

    monkeypatch.setattr(FPDF, "cell", recording_cell)
    view = open_project(session=session, media=media, owner=OWNER, project_id=project_id)
    edit_scene(
        session=session,
        owner=OWNER,
        scene_id=view.scenes[0].scene.id,
        heading="EXT. THE OLD LIGHTHOUSE ON THE NORTHERN CLIFFS ABOVE THE HARBOUR - NIGHT",
    )
    edit_shot(
        session=session,
        owner=OWNER,
        shot_id=view.shots[1].shot.id,
        size="extreme-close-up",
        angle="overhead",
        motion="dolly-out",
        notes="Rain on the lens; hold two beats.",
    )
    build_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project_id)
    assert "extreme-close-up · overhead · dolly-out" in written  # one line, not cut
    assert "wide · low · tilt-up" in written
    assert "Notes: Rain on the lens; hold two beats." in written
    assert not any(line.startswith("EXT. THE OLD LIGHTHOUSE") and "·" in line for line in written)


def test_pdf_pages_grow_with_shots(session, media):
    project = create_project(session=session, owner=OWNER, name="Many shots")
    scene = add_scene(session=session, owner=OWNER, project_id=project.id, heading="INT. HALL").value
    for i in range(13):
        add_shot(session=session, owner=OWNER, scene_id=scene.id, plot=f"Beat number {i + 1}.")
    data, panels = build_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project.id)
    assert panels == 13
    assert page_count(data) == 3  # six panels per page


def test_pdf_without_shots_is_refused(session, media):
    project = create_project(session=session, owner=OWNER, name="Empty")
    with pytest.raises(StudioError, match="no shots yet"):
        export_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project.id)


def test_a_unicode_font_is_found():
    found = find_unicode_font()
    assert found is not None and found[0].name == "DejaVuSans.ttf"


def test_renders_are_listed_newest_first(session, media, project_id):
    first = export_script_json(session=session, media=media, owner=OWNER, project_id=project_id)
    second = export_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project_id)
    assert [r.id for r in list_renders(session=session, owner=OWNER, project_id=project_id)] == [
        second.id,
        first.id,
    ]
    assert [r.id for r in list_renders(session=session, owner=OWNER, project_id=project_id, kind="json")] == [
        first.id
    ]


def test_clips_and_animatics_are_kept_as_renders(session, media, project_id, tmp_path):
    shot_id = open_project(session=session, media=media, owner=OWNER, project_id=project_id).shots[0].shot.id
    video = tmp_path / "render-output.MP4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000)
    clip = add_render(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project_id,
        kind="clip",
        source=video,
        params={"fps": 30},
        shot_id=shot_id,
    )
    assert clip.kind == RenderKind.CLIP and clip.shot_id == shot_id and clip.media_path.endswith(".mp4")
    assert media.read_bytes(clip.media_path) == video.read_bytes()
    with pytest.raises(StudioError, match="belongs to a shot"):
        add_render(
            session=session, media=media, owner=OWNER, project_id=project_id, kind="clip", source=video
        )
    with pytest.raises(StudioError, match="was not found"):
        add_render(
            session=session,
            media=media,
            owner=OWNER,
            project_id=project_id,
            kind="animatic",
            source=tmp_path / "missing.mp4",
        )
    other = create_project(session=session, owner=OWNER, name="Other")
    with pytest.raises(StudioError, match="another project"):
        add_render(
            session=session,
            media=media,
            owner=OWNER,
            project_id=other.id,
            kind="clip",
            source=video,
            shot_id=shot_id,
        )
    delete_render(session=session, media=media, owner=OWNER, render_id=clip.id)
    assert not media.exists(clip.media_path)
    assert list_renders(session=session, owner=OWNER, project_id=project_id) == []


def test_downloads_are_named_after_the_project(session, media, project_id):
    exports = [export_storyboard_pdf, export_script_json, export_keyframe_zip]
    renders = [export(session=session, media=media, owner=OWNER, project_id=project_id) for export in exports]
    paths = [render_download(session=session, media=media, owner=OWNER, render_id=r.id) for r in renders]
    assert [p.name for p in paths] == [
        "The Lighthouse - storyboard.pdf",
        "The Lighthouse - script.json",
        "The Lighthouse - backup.zip",
    ]
    for render, path in zip(renders, paths, strict=True):
        assert path.read_bytes() == media.read_bytes(render.media_path)
    # a name that is not a safe file name is made one; the stored file keeps its hash name
    rename_project(session=session, owner=OWNER, project_id=project_id, name='Ærø: "night/day" ')
    renamed = render_download(session=session, media=media, owner=OWNER, render_id=renders[0].id)
    assert renamed.name == "Ærø night day - storyboard.pdf"
    assert media.exists(renders[0].media_path)
    assert export_filename("...", "pdf", ".pdf") == "project - storyboard.pdf"


def test_named_downloads_are_swept_at_start_up(session, media, project_id):
    from studio.services.media_files import sweep_orphan_media

    render = export_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project_id)
    path = render_download(session=session, media=media, owner=OWNER, render_id=render.id)
    sweep_orphan_media(session, media)
    assert not path.exists() and media.exists(render.media_path)
