"""Importing scripts (JSON, Fountain, MovieBench, sample folders) and exporting them back."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from core.script import Script
from studio.db import FacePhoto, KeyframeVersion
from studio.errors import StudioError
from studio.services import (
    create_project,
    guess_script_format,
    import_script,
    import_script_source,
    list_samples,
    new_project_from_script,
    open_project,
    open_sample,
    parse_script,
    project_to_script,
)
from tests.studio.factories import OWNER, media_files, sample_script_data

FOUNTAIN = """Title: Night Shift
Credit: Written by a test

EXT. PIER - NIGHT

Waves slap the pilings. NOOR (30s, orange coat) waits by a lamp post.

NOOR
(whispering)
He is late again.

INT. CAFE - NIGHT

Steam rises from two cups.
"""

MOVIEBENCH = [
    {
        "Characters": {"Juno": "A teenage girl in a red hoodie."},
        "Style Elements": ["Muted colours"],
        "Plot": "Juno walks into the store.",
        "Background Description": "A small convenience store.",
        "Camera Motion": "The camera slowly pans left.",
        "Shot Size": "Medium shot",
    },
    {
        "Characters": {"Juno": "A teenage girl in a red hoodie."},
        "Style Elements": ["Muted colours"],
        "Plot": "Juno pays for a soda.",
        "Background Description": "A small convenience store.",
        "Camera Motion": "Static shot.",
    },
]


def without_photos(script: Script) -> dict:
    data = script.model_dump(mode="json")
    for member in data["cast"]:
        member.pop("photos")
    return data


def test_guess_format():
    assert guess_script_format("a/b/story.JSON") == "json"
    assert guess_script_format("story.fountain") == "fountain"
    assert guess_script_format("story.spmd") == "fountain"
    assert guess_script_format("story.docx") is None


def test_round_trip_with_photos(session, media, lighthouse, sample_script):
    assert lighthouse.num_photos == 3 and lighthouse.notes == ()
    assert (lighthouse.num_characters, lighthouse.num_scenes, lighthouse.num_shots) == (2, 2, 3)
    exported = project_to_script(session=session, owner=OWNER, project_id=lighthouse.project.id)
    assert without_photos(exported) == without_photos(sample_script)
    assert [len(c.photos) for c in exported.cast] == [2, 1]
    assert exported.cast[0].photos == ["cast/01_mara_0.png", "cast/01_mara_1.png"]

    # Exported, then imported again: the same script.
    again = new_project_from_script(session=session, media=media, owner=OWNER, script=exported)
    assert without_photos(
        project_to_script(session=session, owner=OWNER, project_id=again.project.id)
    ) == without_photos(sample_script)


def test_json_text_import_into_a_new_project(session, media, sample_script):
    text = json.dumps(sample_script_data())
    report = import_script_source(session=session, media=media, owner=OWNER, text=text, fmt="json")
    assert report.project.name == "The Lighthouse"
    assert report.num_photos == 0
    # The photos could not come with a single file: one note per photo, naming who and which.
    assert len(report.notes) == 3 and "Mara's photo 'cast/mara_0.png'" in report.notes[0]
    assert without_photos(
        project_to_script(session=session, owner=OWNER, project_id=report.project.id)
    ) == without_photos(sample_script)


def test_json_file_import(session, media, sample_folder):
    report = import_script_source(
        session=session, media=media, owner=OWNER, path=str(sample_folder / "script.json")
    )
    assert report.num_shots == 3


def test_invalid_json_lists_problems(session, media):
    data = sample_script_data()
    data["scenes"][0]["shots"][0]["plot"] = ""
    data["scenes"][1]["shots"][0]["characters"] = ["Ghost"]
    with pytest.raises(StudioError) as caught:
        import_script_source(session=session, media=media, owner=OWNER, text=json.dumps(data), fmt="json")
    assert "could not be imported" in str(caught.value)
    assert any(p.startswith("scene 1, shot 1") and "plot is empty" in p for p in caught.value.problems)
    assert any("'Ghost' is not in the cast" in p for p in caught.value.problems)
    with pytest.raises(StudioError) as caught:
        import_script_source(session=session, media=media, owner=OWNER, text="{not json", fmt="json")
    assert "not valid JSON" in caught.value.problems[0]


def test_unknown_format_is_a_sentence(session, media):
    with pytest.raises(StudioError, match="cannot tell the script's format"):
        import_script_source(session=session, media=media, owner=OWNER, text="x", filename="notes.docx")


def test_fountain_import(session, media):
    report = import_script_source(session=session, media=media, owner=OWNER, text=FOUNTAIN, fmt="fountain")
    assert report.project.name == "Night Shift"
    imported = project_to_script(session=session, owner=OWNER, project_id=report.project.id)
    assert imported == parse_script(FOUNTAIN, "fountain")
    assert report.num_scenes == 2 and "Noor" in [c.name for c in imported.cast]


def test_moviebench_import_titles_from_the_file_name(session, media, tmp_path):
    path = tmp_path / "juno_store.json"
    path.write_text(json.dumps(MOVIEBENCH), encoding="utf-8")
    report = import_script_source(session=session, media=media, owner=OWNER, path=path, fmt="moviebench")
    assert report.project.name == "juno store"
    imported = project_to_script(session=session, owner=OWNER, project_id=report.project.id)
    assert imported == parse_script(path, "moviebench", title="juno store")
    assert report.num_shots == 2


def test_formats_are_recognised_from_the_content(session, media, tmp_path):
    assert guess_script_format("juno.json", json.dumps(MOVIEBENCH)) == "moviebench"
    assert guess_script_format("story.json", json.dumps({"title": "T", "cast": [], "scenes": []})) == "json"
    assert guess_script_format("notes.txt", FOUNTAIN) == "fountain"
    assert guess_script_format("pasted", json.dumps({"shots": MOVIEBENCH})) == "moviebench"
    # a MovieBench file imports without choosing its format
    path = tmp_path / "juno_store.json"
    path.write_text(json.dumps(MOVIEBENCH), encoding="utf-8")
    report = import_script_source(session=session, media=media, owner=OWNER, path=path)
    assert report.project.name == "juno store" and report.num_shots == 2


def test_import_into_a_project_with_content_needs_replace(session, media, lighthouse):
    project_id = lighthouse.project.id
    faces_before = [p for p in media_files(media) if "/faces/" in p]
    with pytest.raises(StudioError, match="already has a script"):
        import_script_source(
            session=session, media=media, owner=OWNER, text=FOUNTAIN, fmt="fountain", project_id=project_id
        )
    report = import_script_source(
        session=session,
        media=media,
        owner=OWNER,
        text=FOUNTAIN,
        fmt="fountain",
        project_id=project_id,
        replace=True,
    )
    assert report.project.id == project_id and report.project.name == "Night Shift"
    assert project_to_script(session=session, owner=OWNER, project_id=project_id) == parse_script(
        FOUNTAIN, "fountain"
    )
    # The old cast photos went with the old cast.
    assert session.exec(select(FacePhoto)).all() == []
    assert not any(media.exists(p) for p in faces_before)


def test_import_into_an_empty_project(session, media, sample_script, sample_folder):
    project = create_project(session=session, owner=OWNER, name="Empty")
    report = import_script(
        session=session,
        media=media,
        owner=OWNER,
        project_id=project.id,
        script=sample_script,
        photo_root=sample_folder,
    )
    assert report.num_photos == 3 and report.project.id == project.id


def test_photo_paths_cannot_leave_the_folder(session, media, sample_folder, tmp_path):
    (tmp_path / "secret.png").write_bytes((sample_folder / "cast" / "tom_0.png").read_bytes())
    data = sample_script_data()
    data["cast"][1]["photos"] = ["../../secret.png", "/etc/passwd", "cast/missing.png", "cast/tom_0.png"]
    report = new_project_from_script(
        session=session,
        media=media,
        owner=OWNER,
        script=Script.model_validate(data),
        photo_root=sample_folder,
    )
    assert report.num_photos == 3  # Mara's two and Tom's real one
    assert sum("outside the script's folder" in note for note in report.notes) == 2
    assert any("'cast/missing.png' was not found" in note for note in report.notes)


def test_bad_photo_is_skipped_with_a_note(session, media, sample_folder):
    (sample_folder / "cast" / "mara_1.png").write_bytes(b"GIF89a not really")
    report = new_project_from_script(
        session=session,
        media=media,
        owner=OWNER,
        script=parse_script(sample_folder / "script.json", "json"),
        photo_root=sample_folder,
    )
    assert report.num_photos == 2
    assert any(note.startswith("Mara:") and "GIF" in note for note in report.notes)


def test_samples_list_and_open(session, media, sample_folder):
    samples_dir = sample_folder.parent
    (samples_dir / "broken").mkdir()
    (samples_dir / "broken" / "script.json").write_text("{}", encoding="utf-8")
    (samples_dir / "no-script").mkdir()
    [sample] = list_samples(samples_dir)
    assert (sample.name, sample.title, sample.num_shots) == ("lighthouse", "The Lighthouse", 3)

    report = open_sample(
        session=session, media=media, owner=OWNER, name="lighthouse", samples_dir=samples_dir
    )
    view = open_project(session=session, media=media, owner=OWNER, project_id=report.project.id)
    assert [len(c.photos) for c in view.cast] == [2, 1]
    # frames/000000.png and 000002.png become the keyframes of shots 1 and 3.
    assert [s.keyframe is not None for s in view.shots] == [True, False, True]
    assert view.shots[0].keyframe.params == {"source": "imported", "file": "000000.png"}
    assert len(session.exec(select(KeyframeVersion)).all()) == 2


@pytest.mark.parametrize("name", ["../lighthouse", "broken", "nothing", "/etc"])
def test_unknown_samples_are_refused(session, media, sample_folder, name):
    with pytest.raises(StudioError, match="no sample project called"):
        open_sample(session=session, media=media, owner=OWNER, name=name, samples_dir=sample_folder.parent)


def test_no_samples_folder(tmp_path):
    assert list_samples(tmp_path / "missing") == []
