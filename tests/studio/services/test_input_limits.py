"""Nothing is cut silently and no text field is unbounded: over-long input is refused with its
limit, and a file that cannot be read says why instead of "Something went wrong"."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from core.script import MAX_SENTENCE_LENGTH, MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, Script
from core.script.errors import ScriptError
from core.script.io import parse_json
from studio.db import Project, Scene
from studio.db.project import MAX_PROJECT_NAME
from studio.errors import StudioError
from studio.services import (
    add_reference_frame,
    add_scene,
    add_shot,
    create_project,
    edit_shot,
    import_script_source,
    update_project_details,
)
from tests.studio.factories import OWNER, image_bytes, media_files, sample_script_data

DEEP = "[" * 100_000


def test_a_title_fits_a_project_name():
    assert MAX_TITLE_LENGTH == MAX_PROJECT_NAME


def test_a_title_of_the_longest_allowed_length_is_kept_whole(session, media):
    data = {**sample_script_data(), "title": "T" * MAX_TITLE_LENGTH}
    report = import_script_source(
        session=session, media=media, owner=OWNER, text=json.dumps(data), fmt="json"
    )
    assert report.project.name == "T" * MAX_TITLE_LENGTH


@pytest.mark.parametrize("fmt", ["json", None])
def test_a_longer_title_is_refused_with_its_limit_not_cut(session, media, fmt):
    data = {**sample_script_data(), "title": "A" * 200}
    with pytest.raises(StudioError) as refused:
        import_script_source(
            session=session, media=media, owner=OWNER, text=json.dumps(data), fmt=fmt, filename="long.json"
        )
    assert refused.value.problems == [
        f"title: this text has 200 characters but may have at most {MAX_TITLE_LENGTH}; shorten it"
    ]
    assert session.exec(select(Project)).all() == []


@pytest.mark.parametrize("fmt", ["json", "moviebench", None])
def test_brackets_nested_beyond_reading_are_a_sentence(session, media, tmp_path, fmt):
    path = tmp_path / "deep.json"
    path.write_text(DEEP, encoding="utf-8")
    with pytest.raises(StudioError) as refused:
        import_script_source(session=session, media=media, owner=OWNER, path=path, fmt=fmt)
    assert (
        str(refused.value) == "The script could not be imported; fix the problems listed and import it again."
    )
    assert len(refused.value.problems) == 1
    assert "nests lists or objects too deeply to be read" in refused.value.problems[0]


def test_parse_json_turns_deep_nesting_into_a_script_error():
    with pytest.raises(ScriptError, match="too deeply"):
        parse_json(DEEP + "]" * 100_000)


def test_an_imported_script_with_a_huge_field_is_refused(session, media):
    data = sample_script_data()
    data["logline"] = "x" * 1_000_000
    data["scenes"][0]["heading"] = "H" * 100_000
    with pytest.raises(StudioError) as refused:
        import_script_source(session=session, media=media, owner=OWNER, text=json.dumps(data), fmt="json")
    assert sorted(refused.value.problems) == [
        f"logline: this text has 1,000,000 characters but may have at most {MAX_TEXT_LENGTH:,}; shorten it",
        f"scene 1, heading: this sentence has 100,000 characters but a sentence may have at most "
        f"{MAX_SENTENCE_LENGTH:,}; shorten it",
    ]


def test_edits_refuse_over_long_text_and_store_nothing(session):
    project = create_project(session=session, owner=OWNER, name="Limits")
    result = update_project_details(
        session=session, owner=OWNER, project_id=project.id, logline="x" * 1_000_000
    )
    assert not result.ok and "at most 2,000" in result.problems["logline"]
    heading = add_scene(session=session, owner=OWNER, project_id=project.id, heading="H" * 100_000)
    assert not heading.ok and "at most 1,000" in heading.problems["heading"]
    assert session.exec(select(Scene)).all() == []

    scene = add_scene(session=session, owner=OWNER, project_id=project.id, heading="INT. ROOM - DAY").value
    shot = add_shot(session=session, owner=OWNER, scene_id=scene.id, plot="A door opens.").value
    edited = edit_shot(session=session, owner=OWNER, shot_id=shot.id, plot="p" * 5_000, notes="n" * 3_000)
    assert not edited.ok
    assert "at most 1,000" in edited.problems["plot"] and "at most 2,000" in edited.problems["notes"]
    session.expire_all()
    assert session.get(Project, project.id).logline == ""


def test_the_published_schema_states_the_limits():
    schema = Script.model_json_schema()
    assert schema["properties"]["title"]["maxLength"] == MAX_TITLE_LENGTH
    assert schema["properties"]["logline"]["maxLength"] == MAX_TEXT_LENGTH
    assert schema["$defs"]["Scene"]["properties"]["heading"]["maxLength"] == MAX_SENTENCE_LENGTH


def test_a_reference_caption_has_a_limit(session, media):
    project = create_project(session=session, owner=OWNER, name="Refs")
    with pytest.raises(StudioError, match=r"The caption has 5,000 characters but may have at most 1,000"):
        add_reference_frame(
            session=session,
            media=media,
            owner=OWNER,
            project_id=project.id,
            upload=image_bytes(32, 32, (1, 2, 3)),
            filename="a.png",
            caption="c" * 5_000,
        )
    assert media_files(media) == []
