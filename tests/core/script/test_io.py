"""core.script.io: canonical JSON, exact round trips, and every read problem as a ScriptError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from core.script import (
    Character,
    Scene,
    Script,
    ScriptError,
    Shot,
    load_script,
    script_from_dict,
    script_from_json,
    script_to_json,
)
from tests.core.script.strategies import scripts

DATA = Path(__file__).parents[2] / "data" / "script"


def small_script() -> Script:
    return Script(
        title="Harbour Lights",
        style="warm film, soft grain",
        cast=[Character(name="Mara", description=["She wears a red raincoat."], photos=["cast/mara_0.png"])],
        scenes=[
            Scene(
                heading="EXT. HARBOUR - DUSK",
                time_of_day="sunset",
                shots=[
                    Shot(
                        plot="Mara steps off the bus. \u00abEnfin\u00bb, she says \U0001f30a.",
                        characters=["Mara"],
                    )
                ],
            )
        ],
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_any_valid_script_round_trips_exactly(script: Script) -> None:
    text = script_to_json(script)
    again = script_from_json(text)
    assert again == script
    assert script_to_json(again) == text


def test_json_is_canonical_indent_two_field_order_and_unicode_kept() -> None:
    text = script_to_json(small_script())
    assert text.endswith("}\n")
    assert text.startswith('{\n  "schema_version": 1,\n  "title": "Harbour Lights",\n')
    assert "\U0001f30a" in text and "\\u" not in text
    assert list(json.loads(text)) == ["schema_version", "title", "logline", "style", "cast", "scenes"]
    assert script_to_json(small_script()) == text


def test_integer_duration_reads_as_float_and_writes_canonically() -> None:
    data = json.loads(script_to_json(small_script()))
    data["scenes"][0]["shots"][0]["duration"] = 4
    script = script_from_dict(data)
    assert script.scenes[0].shots[0].duration == 4.0
    assert '"duration": 4.0' in script_to_json(script)


def test_bad_json_names_line_and_column() -> None:
    text = '{\n  "title": "x",\n  "cast": []\n  "scenes": []\n}\n'
    with pytest.raises(ScriptError) as caught:
        script_from_json(text)
    (problem,) = caught.value.problems
    assert problem.where == "line 4, column 3"
    assert "not valid JSON" in problem.message and "check the commas" in problem.message


def test_duplicate_key_is_reported_rather_than_silently_overwritten() -> None:
    with pytest.raises(ScriptError, match="the key 'title' appears twice"):
        script_from_json('{"title": "a", "title": "b"}')


def test_empty_text_and_wrong_top_level_type() -> None:
    with pytest.raises(ScriptError, match="the script is empty; expected JSON text"):
        script_from_json("  \n")
    with pytest.raises(ScriptError) as caught:
        script_from_json("[1, 2]")
    assert str(caught.value).startswith("script: expected the script here (an object with the fields")
    assert "found a list" in str(caught.value)


def test_non_utf8_bytes() -> None:
    with pytest.raises(ScriptError, match="not UTF-8"):
        script_from_json(b'{"title": "\xff"}')


def test_script_error_is_a_value_error_with_every_problem_on_its_own_line() -> None:
    data = {"title": "", "scenes": [{"heading": "x", "shots": [{"plot": ""}]}]}
    with pytest.raises(ValueError) as caught:
        script_from_dict(data)
    error = caught.value
    assert isinstance(error, ScriptError)
    assert str(error).splitlines() == [str(problem) for problem in error.problems]
    assert len(error.problems) == 2


def test_load_script_from_json_file_text_and_fountain(tmp_path: Path) -> None:
    path = tmp_path / "movie.json"
    path.write_text(script_to_json(small_script()), encoding="utf-8")
    assert load_script(path) == small_script()
    assert load_script(str(path)) == small_script()
    assert load_script(script_to_json(small_script())) == small_script()
    fountain = load_script(DATA / "harbour_lights.fountain")
    assert fountain.title == "HARBOUR LIGHTS: A Short Film"


def test_load_script_names_the_file_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"title": "t", "scenes": [{"heading": "h", "shots": [{"plot": ""}]}]}', encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    assert str(caught.value) == (
        "broken.json, scene 1, shot 1, plot: the plot is empty; write one sentence saying what happens in this shot"
    )
    assert caught.value.problems[0].loc == ("scenes", 0, "shots", 0, "plot")


def test_load_script_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="this file does not exist"):
        load_script(tmp_path / "nope.json")


def test_load_script_refuses_text_that_is_no_path_and_no_json() -> None:
    with pytest.raises(ScriptError, match="neither a path to a script file nor JSON text"):
        load_script("INT. HOUSE - DAY\n\nShe waits.\n")
