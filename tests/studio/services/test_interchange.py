"""Issue 26 in the studio: re-syncing a revised screenplay, exports for other tools, scratch voices."""

from __future__ import annotations

import csv
import io
import subprocess

import imageio_ffmpeg
import numpy as np
import opentimelineio as otio
import pytest
import srt

from core.interchange.fdx import script_to_fdx
from core.script import Script
from studio.config import StudioSettings
from studio.context import open_studio
from studio.db import JobStatus, KeyframeVersion, Project
from studio.db import storyboard as storyboard_db
from studio.errors import StudioError
from studio.services import (
    animatic_job,
    last_deletion,
    latest_animatic,
    new_project_from_script,
    plan_animatic,
    set_shot_locked,
    undo_deletion,
)
from studio.services.interchange import (
    export_interchange,
    parse_screenplay_upload,
    preview_resync,
    resync_project,
)
from studio.services.media_files import sweep_orphan_media
from studio.services.storyboard_pdf import export_storyboard_pdf
from studio.services.voices import character_voice, project_voices, set_character_voice, set_scratch_voice
from tests.studio.factories import OWNER, image_bytes, sample_script_data


@pytest.fixture
def project(session, media, sample_folder, sample_script):
    """The lighthouse sample (3 shots) with a keyframe for every shot."""
    (sample_folder / "frames" / "000001.png").write_bytes(image_bytes(56, 32, (10, 90, 10)))
    report = new_project_from_script(
        session=session,
        media=media,
        owner=OWNER,
        script=sample_script,
        photo_root=sample_folder,
        frames_dir=sample_folder / "frames",
    )
    return report.project


def _rows(session, project_id):
    return [shot for _, shot in storyboard_db.list_project_shots(session=session, project_id=project_id)]


def _revised() -> Script:
    data = sample_script_data()
    climb, knock = data["scenes"][0]["shots"]
    climb["plot"] = "Mara slowly climbs the spiral stairs."  # rewritten: keeps its keyframes
    data["scenes"][0]["shots"] = [climb]  # Tom's knock is cut
    data["scenes"][1]["shots"].append({"plot": "Lightning splits the sky.", "duration": 2.0})
    data["cast"].append({"name": "Ada", "description": ["A child in a blue coat."]})
    data["scenes"][1]["shots"][1]["characters"] = ["Ada"]
    for member in data["cast"]:
        member["photos"] = []
    return Script.model_validate(data)


def test_resync_keeps_matching_shots_with_their_keyframes_and_locks(session, media, project):
    before = _rows(session, project.id)
    set_shot_locked(session=session, owner=OWNER, shot_id=before[0].id, locked=True)
    versions = {
        shot.id: (shot.current_keyframe_id, session.get(KeyframeVersion, shot.current_keyframe_id).seed)
        for shot in before
    }
    draft = _revised()
    preview = preview_resync(session=session, owner=OWNER, project_id=project.id, script=draft)
    assert preview.kept == 2
    assert preview.removed == ("shot 2 (Tom knocks at the door.)",)
    assert preview.added == ("shot 3 (Lightning splits the sky.)",)
    assert preview.new_characters == ("Ada",)
    with pytest.raises(StudioError, match="no longer has 1 shot") as refused:
        resync_project(session=session, media=media, owner=OWNER, project_id=project.id, script=draft)
    assert refused.value.problems == ["shot 2 (Tom knocks at the door.)"]
    assert [s.id for s in _rows(session, project.id)] == [s.id for s in before]  # nothing changed yet

    resync_project(
        session=session, media=media, owner=OWNER, project_id=project.id, script=draft, confirm_removal=True
    )
    after = _rows(session, project.id)
    assert [s.plot for s in after] == [
        "Mara slowly climbs the spiral stairs.",
        "Mara and Tom look at the sea.",
        "Lightning splits the sky.",
    ]
    # kept shots are the same rows: current keyframe, its seed and the lock survive
    assert [after[0].id, after[1].id] == [before[0].id, before[2].id]
    assert after[0].locked is True
    for shot in after[:2]:
        assert (
            shot.current_keyframe_id,
            session.get(KeyframeVersion, shot.current_keyframe_id).seed,
        ) == versions[shot.id]
    assert after[2].current_keyframe_id is None
    # the removed shot can be brought back like any deleted shot
    deletion = last_deletion(session=session, owner=OWNER, project_id=project.id)
    assert "Tom knocks at the door." in deletion.label
    undo_deletion(session=session, owner=OWNER, deletion_id=deletion.id)
    assert "Tom knocks at the door." in [s.plot for s in _rows(session, project.id)]


def test_an_fdx_upload_becomes_a_script_and_errors_are_sentences(tmp_path, sample_script):
    path = tmp_path / "draft.fdx"
    path.write_text(script_to_fdx(sample_script))
    script = parse_screenplay_upload(path)
    assert [shot.plot for _, _, shot in script.shots()] == [shot.plot for _, _, shot in sample_script.shots()]
    broken = tmp_path / "broken.fdx"
    broken.write_text("<FinalDraft><Content>")
    with pytest.raises(StudioError, match="could not be imported") as caught:
        parse_screenplay_upload(broken)
    assert "not well-formed XML" in caught.value.problems[0]


@pytest.mark.parametrize("kind", ["fdx", "fountain", "otio", "edl", "fcpxml", "csv", "srt", "vtt"])
def test_every_export_is_a_download_named_after_the_project(session, media, project, kind):
    path = export_interchange(session=session, media=media, owner=OWNER, project_id=project.id, kind=kind)
    assert path.name.startswith("The Lighthouse - ") and path.suffix == {"fcpxml": ".xml"}.get(
        kind, f".{kind}"
    )
    text = path.read_text()
    if kind == "otio":
        timeline = otio.adapters.read_from_string(text, adapter_name="otio_json")
        clips = [c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]
        assert [c.duration().to_seconds() for c in clips] == [4.0, 2.5, 3.0]
        # each clip points at the shot's current keyframe
        assert all(c.media_reference.target_url.startswith("file://") for c in clips)
    if kind == "csv":
        assert len(list(csv.DictReader(io.StringIO(text)))) == 3


def test_export_of_an_unknown_format_is_refused(session, media, project):
    with pytest.raises(StudioError, match="'docx' is not an export format"):
        export_interchange(session=session, media=media, owner=OWNER, project_id=project.id, kind="docx")


def test_voices_are_stored_per_character_and_checked(session, media, project):
    from studio.db import cast as cast_db

    row = session.get(Project, project.id)
    mara, tom = cast_db.list_characters(session=session, project_id=project.id)
    assert (
        character_voice(session=session, owner=OWNER, character_id=mara.id)
        == project_voices(session=session, project=row)["Mara"]
    )
    set_character_voice(
        session=session, owner=OWNER, character_id=tom.id, voice="en", variant="m3", pitch=30, speed=140
    )
    assert project_voices(session=session, project=row)["Tom"].pitch == 30
    with pytest.raises(StudioError, match="give a pitch from 0 to 99"):
        set_character_voice(
            session=session, owner=OWNER, character_id=tom.id, voice="en", variant="m3", pitch=300, speed=140
        )
    with pytest.raises(StudioError, match="has no voice"):
        set_character_voice(
            session=session, owner=OWNER, character_id=tom.id, voice="zz", variant="m3", pitch=30, speed=140
        )


@pytest.fixture
def studio(tmp_path):
    studio = open_studio(StudioSettings(data_dir=tmp_path / "data"))
    yield studio
    studio.close()


def test_voiced_animatic_pdf_and_subtitles_share_the_held_timing(
    studio, tmp_path, sample_folder, sample_script
):
    (sample_folder / "frames" / "000001.png").write_bytes(image_bytes(56, 32, (10, 90, 10)))
    report = studio.call(
        new_project_from_script,
        owner=OWNER,
        script=sample_script,
        photo_root=sample_folder,
        frames_dir=sample_folder / "frames",
    )
    project_id = report.project.id
    rate = 22050
    t = np.arange(rate) / rate
    music = tmp_path / "bed.wav"
    from core.interchange.scratch_track import write_wav

    write_wav(0.3 * np.sin(2 * np.pi * 110 * t), rate, music)
    studio.call(set_scratch_voice, owner=OWNER, project_id=project_id, enabled=True, music=music)
    with studio.session() as session:  # the bed belongs to the project: the start-up sweep keeps it
        sweep_orphan_media(session, studio.media)
    plan = studio.call(plan_animatic, owner=OWNER, project_id=project_id, transition="cut")
    assert plan.voices is not None and plan.music is not None and plan.music.is_file()
    with studio.session() as session:
        events = list(
            studio.runner.start(
                session=session,
                owner=OWNER,
                project_id=project_id,
                kind=plan.kind,
                model=plan.model_key,
                work=animatic_job(plan, media=studio.media),
            )
        )
    assert events[-1].status == JobStatus.DONE, events[-1].message
    view = studio.call(latest_animatic, owner=OWNER, project_id=project_id)
    assert view.video.params["scratch_voice"] is True
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(view.video_path)], capture_output=True, text=True
    )
    assert "Audio: aac" in probe.stderr
    starts = view.video.params["shot_starts"]
    # "It will pass." and "Is anyone there?" fit the shots as written; the animatic and the SRT agree
    subtitles = studio.call(export_interchange, owner=OWNER, project_id=project_id, kind="srt")
    cues = list(srt.parse(subtitles.read_text()))
    assert cues[0].start.total_seconds() == pytest.approx(starts[1], abs=1 / 24)
    assert cues[1].start.total_seconds() == pytest.approx(starts[2], abs=1 / 24)
    assert cues[1].end.total_seconds() == pytest.approx(view.duration, abs=1 / 24)
    pdf = studio.call(export_storyboard_pdf, owner=OWNER, project_id=project_id)
    assert pdf.params["panels"] == 3


def test_with_the_scratch_voice_the_pdf_and_timelines_show_the_held_durations(
    session, media, sample_folder, monkeypatch
):
    from fpdf import FPDF

    from core.interchange.voiced_animatic import voiced_timing

    data = sample_script_data()
    data["scenes"][0]["shots"][1]["dialogue"][0]["text"] = (
        "Is anyone there? The storm is coming in fast and the lamp has gone out, open the door!"
    )
    script = Script.model_validate(data)
    project = new_project_from_script(
        session=session, media=media, owner=OWNER, script=script, photo_root=sample_folder
    ).project
    set_scratch_voice(session=session, media=media, owner=OWNER, project_id=project.id, enabled=True)
    retimed, _, _ = voiced_timing(
        script, project_voices(session=session, project=session.get(Project, project.id))
    )
    held = retimed.scenes[0].shots[1].duration
    assert held > 2.5  # the line needs longer than the 2.5 s the shot was given
    written: list[str] = []
    cell = FPDF.cell

    def recording_cell(self, w=None, h=None, text="", *args, **kwargs):
        written.append(text)
        return cell(self, w, h, text, *args, **kwargs)

    monkeypatch.setattr(FPDF, "cell", recording_cell)
    export_storyboard_pdf(session=session, media=media, owner=OWNER, project_id=project.id)
    assert any(f"·  {held:g} s" in line for line in written), [w for w in written if w.startswith("Shot")] + [
        held
    ]
    timeline = otio.adapters.read_from_file(
        str(export_interchange(session=session, media=media, owner=OWNER, project_id=project.id, kind="otio"))
    )
    clips = [c for c in timeline.tracks[0] if isinstance(c, otio.schema.Clip)]
    assert clips[1].duration().to_seconds() == pytest.approx(held, abs=1 / 24)


def test_a_final_draft_file_imports_as_a_new_project(session, media, tmp_path, sample_script):
    from studio.services import import_script_source
    from studio.services.script_import import guess_script_format

    path = tmp_path / "lighthouse.fdx"
    path.write_text(script_to_fdx(sample_script))
    assert guess_script_format("lighthouse.fdx") == "fdx"
    assert guess_script_format("pasted.txt", path.read_text()) == "fdx"
    report = import_script_source(session=session, media=media, owner=OWNER, path=path)
    assert (report.num_scenes, report.num_shots) == (2, 3)
    assert report.project.name == "The Lighthouse"


def test_a_scene_the_draft_drops_goes_as_one_undoable_delete(session, media, project):
    from studio.db import KeyframeVersion

    before = _rows(session, project.id)
    # Undo restores rows under new ids (SQLite may happen to reuse the old ones, PostgreSQL's
    # sequences never do): the restored shot shows the same picture, not the same row id.
    picture = session.get(KeyframeVersion, before[2].current_keyframe_id).media_path
    data = sample_script_data()
    data["scenes"].pop(1)
    for member in data["cast"]:
        member["photos"] = []
    resync_project(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project.id,
        script=Script.model_validate(data),
        confirm_removal=True,
    )
    assert [s.id for s in _rows(session, project.id)] == [before[0].id, before[1].id]
    assert len(storyboard_db.list_scenes(session=session, project_id=project.id)) == 1
    deletion = last_deletion(session=session, owner=OWNER, project_id=project.id)
    assert deletion.kind == "scene"
    undo_deletion(session=session, owner=OWNER, deletion_id=deletion.id)
    back = _rows(session, project.id)
    assert back[-1].plot == "Mara and Tom look at the sea."
    assert session.get(KeyframeVersion, back[-1].current_keyframe_id).media_path == picture


def test_a_music_path_into_another_project_is_never_used(session, media, project, tmp_path):
    from studio.db import project as project_db
    from studio.services.voices import project_music

    rate = 22050
    from core.interchange.scratch_track import write_wav

    write_wav(np.zeros(rate, dtype=np.float32), rate, tmp_path / "bed.wav")
    own = set_scratch_voice(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project.id,
        enabled=True,
        music=tmp_path / "bed.wav",
    )
    row = session.get(Project, project.id)
    assert project_music(session=session, media=media, project=row) == media.resolve(own)
    # settings restored from a (crafted) backup name another project's file
    other = new_project_from_script(
        session=session, media=media, owner="someone-else", script=Script.model_validate(sample_script_data())
    ).project
    foreign = own.replace(f"projects/{project.id}/", f"projects/{other.id}/")
    for path in (foreign, "../../etc/passwd", f"projects/{project.id}/renders/../../x.wav"):
        settings = row.project_settings().model_copy(update={"music_path": path})
        project_db.set_project_settings(session=session, project=row, settings=settings)
        assert project_music(session=session, media=media, project=row) is None


def test_a_stored_voice_that_is_not_a_voice_falls_back_to_the_default(session, project):
    from core.interchange.voice import default_voice
    from studio.db import project as project_db

    row = session.get(Project, project.id)
    settings = row.project_settings().model_copy(
        update={"voices": {"mara": {"voice": "en", "pitch": 500}, "tom": {"rm -rf": 1}}}
    )
    project_db.set_project_settings(session=session, project=row, settings=settings)
    voices = project_voices(session=session, project=row)
    assert voices == {"Mara": default_voice("Mara"), "Tom": default_voice("Tom")}
